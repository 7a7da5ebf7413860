"""Sign-in hardening: the throttle (per account and address, shared through the database,
telling no one which accounts exist), timeouts, logout everywhere, the password policy, and
API tokens (shown once, stored hashed, listed, revocable by their owner or an admin)."""

from __future__ import annotations

import hashlib
import statistics
import time
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from tests.factories import PASSWORD, login, make_clinic, make_user

from strigil.config import Settings
from strigil.errors import InvalidInput, NotAuthenticated
from strigil.services import auth
from strigil.store.audit import AuditEvent
from strigil.store.base import utcnow
from strigil.store.clinics import ApiToken, LoginSession, User
from strigil.store.signin import SigninThrottle
from strigil.web.app import create_app

LOGIN = "/api/v1/auth/login"


def _try(client: TestClient, email: str, password: str = "wrong-password-1") -> int:
    return client.post(LOGIN, json={"email": email, "password": password}).status_code


def _no_address_limit(settings: Settings, session_factory: object) -> FastAPI:
    """An app whose per-address allowance is out of the way, to look at the account rules."""
    app: FastAPI = create_app(settings.model_copy(update={"login_rate_limit": 1000}))
    app.state.sessionmaker = session_factory
    return app


def _same_answer(a: Response, b: Response) -> tuple[int, str, dict[str, str]]:
    """Status, body and headers, less the per-request id: what a caller can compare."""
    assert (a.status_code, a.text) == (b.status_code, b.text)
    headers_a = {k: v for k, v in a.headers.items() if k != "x-request-id"}
    headers_b = {k: v for k, v in b.headers.items() if k != "x-request-id"}
    assert headers_a == headers_b
    return a.status_code, a.json()["code"], headers_a


def test_repeated_failures_answer_alike_for_real_and_unknown_accounts(
    settings: Settings, session_factory: object, session: Session
) -> None:
    user = make_user(session, make_clinic(session))
    answers = []
    with TestClient(_no_address_limit(settings, session_factory)) as client:
        for _ in range(7):
            real = client.post(LOGIN, json={"email": user.email, "password": "wrong-pass-77"})
            ghost = client.post(LOGIN, json={"email": "ghost@clinic.test", "password": "x"})
            answers.append(_same_answer(real, ghost))
        right = client.post(LOGIN, json={"email": user.email, "password": PASSWORD})
        ghost = client.post(LOGIN, json={"email": "ghost@clinic.test", "password": PASSWORD})
        answers.append(_same_answer(right, ghost))  # even the right password waits its turn
    assert [a[0] for a in answers] == [401] * 5 + [429] * 3
    assert {a[1] for a in answers[5:]} == {"signin_throttled"}
    assert all(a[2]["retry-after"] == "1" for a in answers[5:])


def test_unknown_emails_take_as_long_as_real_ones(session: Session) -> None:
    """A password is verified against a hash even for an unknown email, so the time taken
    does not reveal which emails have accounts."""
    user = make_user(session, make_clinic(session))
    policy = auth.Policy(max_failures=100, account_max_failures=100, address_max_failures=100)

    def seconds(email: str) -> float:
        started = time.perf_counter()
        with pytest.raises(NotAuthenticated):
            auth.login(
                session=session, email=email, password="wrong-pass-77", client_ip="10.0.0.9",
                policy=policy,
            )  # fmt: skip
        return time.perf_counter() - started

    # Taken in turns, so a machine that slows down half-way weighs on both alike.
    pairs = [(seconds(user.email), seconds("ghost@clinic.test")) for _ in range(7)]
    real = statistics.median(p[0] for p in pairs)
    ghost = statistics.median(p[1] for p in pairs)
    assert 0.5 < ghost / real < 2.0, (real, ghost)


def test_nobody_can_lock_a_colleague_out(session: Session) -> None:
    """Failures from one address slow that address down; the colleague signing in from their
    own desk gets in at once."""
    user = make_user(session, make_clinic(session))
    policy = auth.Policy(max_failures=3, address_max_failures=5)
    for _ in range(20):
        with pytest.raises((NotAuthenticated, auth.Throttled)):
            auth.login(
                session=session, email=user.email, password="wrong-pass-77",
                client_ip="203.0.113.7", policy=policy,
            )  # fmt: skip
    with pytest.raises(auth.Throttled):
        auth.login(
            session=session, email=user.email, password=PASSWORD, client_ip="203.0.113.7",
            policy=policy,
        )  # fmt: skip
    result = auth.login(
        session=session, email=user.email, password=PASSWORD, client_ip="192.0.2.10",
        policy=policy,
    )  # fmt: skip
    assert result.user.id == user.id


def test_delays_grow_with_each_further_failure(session: Session) -> None:
    user = make_user(session, make_clinic(session))
    policy = auth.Policy(max_failures=2, first_delay=timedelta(seconds=10))

    def fail() -> None:
        with pytest.raises(NotAuthenticated):
            auth.login(
                session=session, email=user.email, password="wrong-pass-77",
                client_ip="198.51.100.4", policy=policy,
            )  # fmt: skip

    def wait() -> int:
        with pytest.raises(auth.Throttled) as refused:
            auth.login(
                session=session, email=user.email, password=PASSWORD,
                client_ip="198.51.100.4", policy=policy,
            )  # fmt: skip
        return refused.value.retry_after or 0

    def time_passes() -> None:
        session.execute(
            update(SigninThrottle)
            .where(SigninThrottle.blocked_until.is_not(None))
            .values(blocked_until=utcnow() - timedelta(seconds=1))
        )

    fail()
    fail()
    waits = [wait()]
    for _ in range(3):
        time_passes()
        fail()
        waits.append(wait())
    assert waits == [10, 20, 40, 80]
    time_passes()
    assert auth.login(
        session=session, email=user.email, password=PASSWORD, client_ip="198.51.100.4",
        policy=policy,
    ).user.id == user.id  # fmt: skip
    assert session.scalar(select(SigninThrottle.failures).limit(1)) is not None  # address row


def test_throttle_is_shared_by_every_process(
    settings: Settings, session_factory: object, session: Session
) -> None:
    """Two app instances (two workers, or two hosts) count one address's failures together."""
    limited = settings.model_copy(update={"login_rate_limit": 4})
    workers = [create_app(limited), create_app(limited)]
    for worker in workers:
        worker.state.sessionmaker = session_factory
    with TestClient(workers[0]) as first, TestClient(workers[1]) as second:
        assert [_try(first, "a@clinic.test"), _try(second, "b@clinic.test")] == [401, 401]
        assert [_try(first, "c@clinic.test"), _try(second, "d@clinic.test")] == [401, 401]
        assert _try(first, "e@clinic.test") == 429
        assert _try(second, "f@clinic.test") == 429
    assert session.scalar(select(func.count()).select_from(SigninThrottle)) >= 5


def test_one_address_is_rate_limited_across_accounts(client: TestClient) -> None:
    codes = [_try(client, f"nobody{i}@clinic.test") for i in range(10)]
    assert codes == [401] * 10
    refused = client.post(LOGIN, json={"email": "other@clinic.test", "password": "x"})
    assert refused.status_code == 429
    assert refused.json()["code"] == "signin_throttled"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    page = client.post("/login", data={"email": "a@clinic.test", "password": "x"})
    assert page.status_code == 429 and page.headers["Retry-After"]
    assert "text/html" in page.headers["content-type"]


def test_rate_limit_is_configurable(
    settings: Settings, session_factory: object, session: Session
) -> None:
    app: FastAPI = create_app(settings.model_copy(update={"login_rate_limit": 2}))
    app.state.sessionmaker = session_factory
    user = make_user(session, make_clinic(session))
    with TestClient(app) as client:
        assert [_try(client, "x@clinic.test") for _ in range(2)] == [401, 401]
        assert _try(client, user.email, PASSWORD) == 429  # even the right password waits


def _login_row(session: Session, user: User) -> LoginSession:
    session.expire_all()
    row = session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)).first()
    assert row is not None
    return row


def test_idle_timeout(client: TestClient, session: Session) -> None:
    user = make_user(session, make_clinic(session))
    login(client, user)
    assert client.get("/api/v1/auth/me").status_code == 200
    row = _login_row(session, user)
    row.last_seen_at = utcnow() - timedelta(minutes=31)
    session.flush()
    res = client.get("/api/v1/auth/me")
    assert res.status_code == 401 and res.json()["code"] == "timed_out"


def test_absolute_timeout(client: TestClient, session: Session) -> None:
    user = make_user(session, make_clinic(session))
    login(client, user)
    row = _login_row(session, user)
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.flush()
    res = client.get("/api/v1/auth/me")
    assert res.status_code == 401 and res.json()["code"] == "timed_out"


def test_logout_everywhere_ends_every_session(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    user = make_user(session, make_clinic(session))
    with TestClient(app) as laptop:
        login(laptop, user)
        login(client, user)
        ended = client.post("/api/v1/auth/logout-everywhere")
        assert ended.status_code == 200 and ended.json()["ended"] == 2
        assert laptop.get("/api/v1/auth/me").status_code == 401
        assert client.get("/api/v1/auth/me").status_code == 401


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short1", "password_too_short"),
        ("no-digits-at-all", "password_weak"),
        ("123456789012345", "password_weak"),
        ("password12345", "password_common"),
        ("iloveyou2026!!", "password_common"),
        ("abcdefgh12345", "password_guessable"),
        ("strigil-demo-2026", "password_demo"),
    ],
)
def test_password_policy(password: str, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        auth.hash_password(password)
    assert caught.value.code == code and caught.value.field == "password"


def test_the_demo_password_is_for_the_demo_clinic_only() -> None:
    assert auth.hash_password("strigil-demo-2026", demo=True).startswith("$argon2id$")
    assert auth.hash_password("carbide-scraper-forearm-42")  # an ordinary strong one passes


def test_a_common_password_for_a_new_user_names_the_field_and_rule(
    client: TestClient, session: Session
) -> None:
    login(client, make_user(session, make_clinic(session), role="admin"))
    new = {"email": "c@clinic.test", "display_name": "C", "role": "assistant"}
    res = client.post("/api/v1/admin/users", json=new | {"password": "Password123456"})
    assert res.status_code == 422
    assert (res.json()["field"], res.json()["code"]) == ("password", "password_common")
    assert session.scalar(select(User).where(User.email == "c@clinic.test")) is None


def test_weak_password_for_a_new_user_is_refused_and_nothing_changes(
    client: TestClient, session: Session
) -> None:
    clinic = make_clinic(session)
    login(client, make_user(session, clinic, role="admin"))
    res = client.post(
        "/api/v1/admin/users",
        json={
            "email": "weak@clinic.test",
            "display_name": "W",
            "role": "assistant",
            "password": "short",
        },
    )
    assert res.status_code == 422 and res.json()["field"] == "password"
    assert session.scalar(select(User).where(User.email == "weak@clinic.test")) is None


def test_api_token_lifecycle(client: TestClient, app: FastAPI, session: Session) -> None:
    user = make_user(session, make_clinic(session))
    login(client, user)
    issued = client.post("/api/v1/auth/tokens", json={"name": "EHR bridge"})
    assert issued.status_code == 201
    secret, token_id = issued.json()["token"], issued.json()["id"]
    session.expire_all()
    row = session.scalar(
        select(ApiToken)
        .where(ApiToken.token_hash.is_not(None))
        .where(ApiToken.name == "EHR bridge")
    )
    assert row is not None and row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {row.token_hash, row.prefix, row.name}
    listed = client.get("/api/v1/auth/me").text
    assert secret not in listed  # shown once, never again
    with TestClient(app) as integration:
        bearer = {"Authorization": f"Bearer {secret}"}
        me = integration.get("/api/v1/auth/me", headers=bearer)
        assert me.status_code == 200 and me.json()["id"] == str(user.external_id)
        made = integration.post(
            "/api/v1/patients",
            headers=bearer,
            json={
                "given_name": "Tok",
                "family_name": "En",
                "birth_date": "1990-01-01",
                "sex": "male",
            },
        )
        assert made.status_code == 201  # bearer requests need no CSRF token
        assert client.delete(f"/api/v1/auth/tokens/{token_id}").status_code == 204
        gone = integration.get("/api/v1/auth/me", headers=bearer)
        assert gone.status_code == 401 and gone.json()["code"] == "bad_token"


def test_someone_elses_token_cannot_be_revoked(client: TestClient, session: Session) -> None:
    clinic = make_clinic(session)
    owner = make_user(session, clinic)
    _, row = auth.issue_token(session=session, actor=auth.actor_for(owner), name="theirs")
    login(client, make_user(session, clinic))
    assert client.delete(f"/api/v1/auth/tokens/{row.external_id}").status_code == 404
    assert client.delete("/api/v1/auth/tokens/not-a-uuid").status_code == 422
    session.expire_all()
    assert session.get(ApiToken, row.id).revoked_at is None  # type: ignore[union-attr]


def _bearer(app: FastAPI, secret: str) -> int:
    with TestClient(app) as integration:
        headers = {"Authorization": f"Bearer {secret}"}
        return integration.get("/api/v1/auth/me", headers=headers).status_code


def test_logout_everywhere_also_revokes_api_tokens(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    user = make_user(session, make_clinic(session))
    login(client, user)
    secrets = [client.post("/api/v1/auth/tokens", json={"name": n}).json()["token"] for n in "ab"]
    assert [_bearer(app, s) for s in secrets] == [200, 200]
    ended = client.post("/api/v1/auth/logout-everywhere")
    assert ended.json() == {"ended": 1, "tokens_revoked": 2}
    assert [_bearer(app, s) for s in secrets] == [401, 401]
    session.expire_all()
    audit = session.scalar(
        select(AuditEvent).where(AuditEvent.action == "logout_all", AuditEvent.user_id == user.id)
    )
    assert audit is not None and audit.detail == {"sessions": 1, "tokens": 2}


def test_logout_everywhere_page_ends_this_session_and_the_tokens(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    user = make_user(session, make_clinic(session))
    csrf = login(client, user)
    secret = client.post("/api/v1/auth/tokens", json={"name": "bridge"}).json()["token"]
    account = client.get("/account", headers={"Accept": "text/html"})
    assert account.status_code == 200 and "bridge" in account.text and secret not in account.text
    done = client.post(
        "/account/logout-everywhere", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/login"
    assert _bearer(app, secret) == 401
    assert client.get("/api/v1/auth/me").status_code == 401


def test_users_list_their_own_tokens_only(client: TestClient, session: Session) -> None:
    clinic = make_clinic(session)
    colleague = make_user(session, clinic)
    auth.issue_token(session=session, actor=auth.actor_for(colleague), name="theirs")
    login(client, make_user(session, clinic))
    issued = client.post("/api/v1/auth/tokens", json={"name": "mine"}).json()
    listed = client.get("/api/v1/auth/tokens")
    assert listed.status_code == 200
    assert [(t["name"], t["id"]) for t in listed.json()] == [("mine", issued["id"])]
    assert issued["token"] not in listed.text and listed.json()[0]["revoked_at"] is None
    assert client.get("/api/v1/admin/tokens").status_code == 403  # not an admin


def test_an_admin_lists_and_revokes_any_token_of_the_clinic(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    clinic, elsewhere = make_clinic(session), make_clinic(session)
    owner = make_user(session, clinic)
    secret, row = auth.issue_token(session=session, actor=auth.actor_for(owner), name="ehr")
    _, foreign = auth.issue_token(
        session=session, actor=auth.actor_for(make_user(session, elsewhere)), name="other"
    )
    admin = make_user(session, clinic, role="admin")
    session.commit()
    csrf = login(client, admin)
    listed = client.get("/api/v1/admin/tokens").json()
    assert [(t["name"], t["owner_id"]) for t in listed] == [("ehr", str(owner.external_id))]
    assert client.delete(f"/api/v1/auth/tokens/{foreign.external_id}").status_code == 404
    page = client.get("/admin/tokens", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "ehr" in page.text and "other" not in page.text
    revoked = client.post(
        f"/admin/tokens/{row.external_id}/revoke", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert _bearer(app, secret) == 401
    session.expire_all()
    trail = session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "revoke", AuditEvent.entity_id == str(row.external_id)
        )
    )
    assert trail is not None and trail.user_id == admin.id
    assert trail.detail == {"owner": str(owner.external_id)}
    assert session.get(ApiToken, foreign.id).revoked_at is None  # type: ignore[union-attr]
