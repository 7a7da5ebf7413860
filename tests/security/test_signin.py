"""Sign-in hardening: lockout, per-address rate limit, timeouts, logout everywhere, password
policy, and API tokens (shown once, stored hashed, revocable)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories import PASSWORD, login, make_clinic, make_user

from strigil.config import Settings
from strigil.errors import InvalidInput
from strigil.services import auth
from strigil.store.base import utcnow
from strigil.store.clinics import ApiToken, LoginSession, User
from strigil.web.app import create_app
from strigil.web.ratelimit import SlidingWindowLimiter

LOGIN = "/api/v1/auth/login"


def _try(client: TestClient, email: str, password: str = "wrong-password-1") -> int:
    return client.post(LOGIN, json={"email": email, "password": password}).status_code


def test_account_locks_after_repeated_failures(client: TestClient, session: Session) -> None:
    user = make_user(session, make_clinic(session))
    assert [_try(client, user.email) for _ in range(5)] == [401] * 5
    locked = client.post(LOGIN, json={"email": user.email, "password": PASSWORD})
    assert locked.status_code == 429 and locked.json()["code"] == "account_locked"
    session.expire_all()
    assert session.get(User, user.id).locked_until is not None  # type: ignore[union-attr]


def test_one_address_is_rate_limited_across_accounts(client: TestClient) -> None:
    codes = [_try(client, f"nobody{i}@clinic.test") for i in range(10)]
    assert codes == [401] * 10
    refused = client.post(LOGIN, json={"email": "other@clinic.test", "password": "x"})
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    page = client.post("/login", data={"email": "a@clinic.test", "password": "x"})
    assert page.status_code == 429 and page.headers["Retry-After"]


def test_rate_limit_is_configurable(
    settings: Settings, session_factory: object, session: Session
) -> None:
    app: FastAPI = create_app(settings.model_copy(update={"login_rate_limit": 2}))
    app.state.sessionmaker = session_factory
    user = make_user(session, make_clinic(session))
    with TestClient(app) as client:
        assert [_try(client, "x@clinic.test") for _ in range(2)] == [401, 401]
        assert _try(client, user.email, PASSWORD) == 429  # even the right password waits


def test_sliding_window_forgets_old_attempts() -> None:
    now = [1000.0]
    limiter = SlidingWindowLimiter(limit=2, window=60, clock=lambda: now[0])
    assert limiter.hit("ip") is None and limiter.hit("ip") is None
    assert limiter.hit("ip") == 60
    now[0] += 30
    assert limiter.hit("ip") == 30
    assert limiter.hit("other-ip") is None
    now[0] += 30.5
    assert limiter.hit("ip") is None
    with pytest.raises(ValueError):
        SlidingWindowLimiter(limit=0, window=60)


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
    ],
)
def test_password_policy(password: str, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        auth.hash_password(password)
    assert caught.value.code == code and caught.value.field == "password"


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
