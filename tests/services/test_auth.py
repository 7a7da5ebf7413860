"""Sign-in entities round-trip, and the basic sign-in rules hold."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from tests.factories import PASSWORD, actor, make_clinic, make_user

from strigil.errors import InvalidInput, NotAuthenticated, TooManyRequests
from strigil.services import audit, auth
from strigil.store.audit import AuditEvent
from strigil.store.clinics import ApiToken, Instrument, LoginSession

POLICY = auth.Policy(max_failures=3)


def test_login_session_token_and_instrument_round_trip(session: Session) -> None:
    clinic = make_clinic(session)
    user = make_user(session, clinic, role="admin")
    result = auth.login(
        session=session, email=user.email, password=PASSWORD, client_ip="127.0.0.1", policy=POLICY
    )
    secret, token = auth.issue_token(session=session, actor=actor(user), name="integration")
    session.add(Instrument(clinic_id=clinic.id, label="GT4 scanner", type_code="stainless_steel"))
    session.commit()
    session.expire_all()
    assert auth.resume(session=session, token=result.token, policy=POLICY).user_id == user.id
    assert auth.user_for_token(session=session, secret=secret).id == user.id
    stored = session.scalar(select(ApiToken).where(ApiToken.id == token.id))
    assert stored is not None and secret not in stored.token_hash
    assert session.scalar(select(Instrument.label)) == "GT4 scanner"
    assert session.scalars(select(LoginSession)).all()
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"login", "create"} <= actions


def test_a_token_shows_when_it_was_last_used_to_the_minute(session: Session) -> None:
    user = make_user(session, make_clinic(session))
    secret, token = auth.issue_token(session=session, actor=actor(user), name="bridge")
    session.commit()

    def last_used() -> datetime | None:
        return session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token.id))

    assert last_used() is None
    auth.user_for_token(session=session, secret=secret)
    first = last_used()
    assert first is not None
    auth.user_for_token(session=session, secret=secret)
    assert last_used() == first  # within the minute: no write
    session.execute(
        update(ApiToken)
        .where(ApiToken.id == token.id)
        .values(last_used_at=first - timedelta(minutes=2))
    )
    auth.user_for_token(session=session, secret=secret)
    later = last_used()
    assert later is not None and later >= first
    auth.revoke_token(session=session, actor=actor(user), token_id=token.external_id)
    with pytest.raises(NotAuthenticated):
        auth.user_for_token(session=session, secret=secret)


def test_wrong_passwords_make_the_next_attempt_wait(session: Session) -> None:
    user = make_user(session, make_clinic(session))
    for _ in range(POLICY.max_failures):
        with pytest.raises(NotAuthenticated):
            auth.login(
                session=session,
                email=user.email,
                password="wrong-password-1",
                client_ip=None,
                policy=POLICY,
            )
    with pytest.raises(TooManyRequests):
        auth.login(
            session=session, email=user.email, password=PASSWORD, client_ip=None, policy=POLICY
        )


def test_password_policy_names_the_rule() -> None:
    with pytest.raises(InvalidInput) as err:
        auth.hash_password("short1")
    assert err.value.field == "password" and "12 characters" in err.value.detail


def test_audit_search_is_for_admins_only(session: Session) -> None:
    clinic = make_clinic(session)
    therapist = make_user(session, clinic)
    admin = make_user(session, clinic, role="admin")
    from strigil.errors import NotPermitted

    with pytest.raises(NotPermitted):
        audit.search(session=session, actor=actor(therapist))
    assert audit.search(session=session, actor=actor(admin)) is not None
