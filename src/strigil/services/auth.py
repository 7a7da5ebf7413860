"""Sign-in: Argon2id password hashes, server-side login sessions, lockout, API tokens."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from strigil.errors import InvalidInput, NotAuthenticated, NotFound, TooManyRequests
from strigil.services import audit
from strigil.services.actors import Actor, Role
from strigil.services.records import parse_id
from strigil.store import clinics as clinics_store
from strigil.store.base import utcnow
from strigil.store.clinics import ApiToken, LoginSession, User

_HASHER = PasswordHasher()  # argon2-cffi defaults are Argon2id (RFC 9106 low-memory profile)


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown emails, so timing does not reveal which exist."""
    return _HASHER.hash("timing-equaliser")


MIN_PASSWORD_LENGTH = 12


@dataclass(frozen=True, slots=True)
class Policy:
    """Session and lockout limits, passed down from settings by the adapter."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class LoginResult:
    token: str
    csrf_token: str
    user: User


def hash_password(password: str) -> str:
    """Check the password policy and return its Argon2id hash."""
    check_password_policy(password)
    return _HASHER.hash(password)


def check_password_policy(password: str) -> None:
    """At least 12 characters with a letter and a digit (NIST SP 800-63B favours length)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters",
            field="password",
            code="password_too_short",
        )
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        raise InvalidInput(
            "password must contain a letter and a digit", field="password", code="password_weak"
        )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def actor_for(user: User, *, client_ip: str | None = None, route: str | None = None) -> Actor:
    """The services' view of a user."""
    return Actor(
        user_id=user.id,
        user_external_id=user.external_id,
        clinic_id=user.clinic_id,
        role=Role(user.role),
        display_name=user.display_name,
        client_ip=client_ip,
        route=route,
    )


def _verify(user: User | None, password: str) -> bool:
    try:
        return _HASHER.verify(user.password_hash if user else _dummy_hash(), password) and bool(
            user
        )
    except (VerificationError, InvalidHashError):
        return False


def login(
    *, session: Session, email: str, password: str, client_ip: str | None, policy: Policy
) -> LoginResult:
    """Check credentials, apply the lockout, and open a login session.

    Raises:
        NotAuthenticated: unknown email or wrong password (the two are not told apart).
        TooManyRequests: the account is temporarily locked after repeated failures.
    """
    now = utcnow()
    user = clinics_store.find_user_by_email(session, email.strip().lower())
    if user is not None and user.locked_until is not None and user.locked_until > now:
        raise TooManyRequests("too many failed sign-ins; try again later", code="account_locked")
    if not _verify(user, password) or user is None or not user.active:
        _count_failure(session, user, now, policy)
        raise NotAuthenticated("email or password is not correct", code="bad_credentials")
    user.failed_logins = 0
    user.locked_until = None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    return _open_session(session, user, now, client_ip, policy)


def _count_failure(session: Session, user: User | None, now: datetime, policy: Policy) -> None:
    if user is None:
        return
    user.failed_logins += 1
    if user.failed_logins >= policy.max_failures:
        user.locked_until = now + policy.lockout
        user.failed_logins = 0
    audit.record(
        session=session,
        actor=None,
        clinic_id=user.clinic_id,
        action="login_failed",
        entity_type="user",
        entity_id=user.external_id,
    )


def _open_session(
    session: Session, user: User, now: datetime, client_ip: str | None, policy: Policy
) -> LoginResult:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            user_id=user.id,
            token_hash=_digest(token),
            csrf_token=csrf,
            last_seen_at=now,
            expires_at=now + policy.absolute,
            client_ip=client_ip,
        )
    )
    audit.record(
        session=session,
        actor=actor_for(user, client_ip=client_ip),
        action="login",
        entity_type="user",
        entity_id=user.external_id,
    )
    session.flush()
    return LoginResult(token=token, csrf_token=csrf, user=user)


def resume(*, session: Session, token: str, policy: Policy) -> LoginSession:
    """The live login session for a cookie token; idle and absolute timeouts apply.

    Raises:
        NotAuthenticated: no such session, revoked, or timed out.
    """
    now = utcnow()
    row = clinics_store.find_login(session, _digest(token))
    if row is None or row.revoked_at is not None or not row.user.active:
        raise NotAuthenticated("please sign in", code="not_signed_in")
    if row.expires_at <= now or row.last_seen_at + policy.idle <= now:
        row.revoked_at = now
        raise NotAuthenticated("your session timed out; please sign in again", code="timed_out")
    if now - row.last_seen_at > timedelta(seconds=60):
        row.last_seen_at = now  # a minute's resolution keeps a write off most requests
    return row


def logout(*, session: Session, token: str) -> None:
    """End one login session."""
    clinics_store.find_login(session, _digest(token))  # scopes the session to its clinic
    session.execute(
        update(LoginSession)
        .where(LoginSession.token_hash == _digest(token), LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def logout_everywhere(*, session: Session, actor: Actor) -> int:
    """End every login session of the actor; returns how many were open."""
    result = session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == actor.user_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    audit.record(
        session=session,
        actor=actor,
        action="logout_all",
        entity_type="user",
        entity_id=actor.user_external_id,
    )
    return int(getattr(result, "rowcount", 0) or 0)


def issue_token(*, session: Session, actor: Actor, name: str) -> tuple[str, ApiToken]:
    """Create an API token; the secret is returned once and only its hash is kept."""
    if not name.strip():
        raise InvalidInput("a token needs a name", field="name", code="required")
    secret = "stg_" + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=actor.user_id, name=name.strip(), prefix=secret[:12], token_hash=_digest(secret)
    )
    session.add(row)
    audit.record(
        session=session,
        actor=actor,
        action="create",
        entity_type="api_token",
        entity_id=row.external_id,
    )
    session.flush()
    return secret, row


def revoke_token(*, session: Session, actor: Actor, token_id: object) -> None:
    """Revoke one of the actor's own tokens (someone else's is not found, as in other clinics)."""
    key = parse_id(token_id, field="token_id")
    row = session.scalar(
        select(ApiToken).where(ApiToken.external_id == key, ApiToken.user_id == actor.user_id)
    )
    if row is None:
        raise NotFound("no such token", field="token_id", code="token_not_found")
    row.revoked_at = utcnow()
    audit.record(
        session=session,
        actor=actor,
        action="revoke",
        entity_type="api_token",
        entity_id=row.external_id,
    )


def user_for_token(*, session: Session, secret: str) -> User:
    """The user an API token belongs to.

    Raises:
        NotAuthenticated: unknown or revoked token.
    """
    row = clinics_store.find_token(session, _digest(secret))
    if row is None or row.revoked_at is not None or not row.user.active:
        raise NotAuthenticated("the API token is not valid", code="bad_token")
    row.last_used_at = utcnow()
    return row.user
