"""Sign-in: Argon2id password hashes, the password policy, server-side login sessions, the
sign-in throttle (shared through the database), and API tokens."""

from __future__ import annotations

import functools
import hashlib
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from strigil.errors import InvalidInput, NotAuthenticated, NotFound, TooManyRequests
from strigil.services import audit
from strigil.services.actors import Actor, Permission, Role, require
from strigil.services.records import parse_id
from strigil.store import clinics as clinics_store
from strigil.store import signin, tokens
from strigil.store.base import utcnow
from strigil.store.clinics import ApiToken as ApiToken  # re-exported: the web layer types with it
from strigil.store.clinics import LiveLogin, LoginSession, SignedInUser, User

_HASHER = PasswordHasher()  # argon2-cffi defaults are Argon2id (RFC 9106 low-memory profile)


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown emails, so timing does not reveal which exist."""
    return _HASHER.hash("timing-equaliser")


MIN_PASSWORD_LENGTH = 12
DEMO_PASSWORD = "strigil-demo-2026"  # noqa: S105 - the synthetic demo clinic's published password
ZXCVBN_MIN_SCORE = 3  # "safely unguessable": about 10^8 guesses or more
_ESTIMATE_CHARS = 100  # zxcvbn slows down sharply on long input; the head decides anyway


@dataclass(frozen=True, slots=True)
class Policy:
    """Session limits and sign-in throttling, passed down from settings by the adapter.

    Throttling never locks an account: after ``max_failures`` failed sign-ins on one account
    from one address (or ``account_max_failures`` from anywhere, or ``address_max_failures``
    from one address whichever accounts it names), each further failure makes the next attempt
    wait twice as long, starting at ``first_delay`` (``address_delay`` for an address) and at
    most ``lockout`` (the longest wait; the name follows the setting). Counters are forgotten
    after ``forget`` without failures.
    """

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    account_max_failures: int = 50
    first_delay: timedelta = timedelta(seconds=1)
    address_max_failures: int = 10
    address_delay: timedelta = timedelta(seconds=60)
    forget: timedelta = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class LoginResult:
    token: str
    csrf_token: str
    user: User


class Throttled(TooManyRequests):
    """Sign-in refused until ``retry_after`` seconds have passed; the same answer whether or
    not the email names an account, so it reveals nothing."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many failed sign-ins; try again in {retry_after} seconds",
            code="signin_throttled",
            retry_after=retry_after,
        )


def hash_password(password: str, *, demo: bool = False) -> str:
    """Check the password policy and return its Argon2id hash (``demo`` admits the demo
    clinic's published password, for the demo loader only)."""
    check_password_policy(password, demo=demo)
    return _HASHER.hash(password)


def check_password_policy(password: str, *, demo: bool = False) -> None:
    """Length first (NIST SP 800-63B favours length over composition), then refuse what an
    attacker tries first: passwords from breach lists and easily guessed patterns.

    Raises:
        InvalidInput: ``field="password"``, with the rule broken as ``code``.
    """
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
    if password == DEMO_PASSWORD and not demo:
        raise InvalidInput(
            "password must not be the demo clinic's published password",
            field="password",
            code="password_demo",
        )
    if _is_common(password):
        raise InvalidInput(
            "password is on a list of common passwords from data breaches; choose another",
            field="password",
            code="password_common",
        )
    if zxcvbn(password[:_ESTIMATE_CHARS])["score"] < ZXCVBN_MIN_SCORE:
        raise InvalidInput(
            "password is too easy to guess (common words, names, dates, keyboard runs or "
            "repeats); a few unrelated words work well",
            field="password",
            code="password_guessable",
        )


@functools.cache
def _common_passwords() -> frozenset[str]:
    """The 30,000 most frequent passwords of a 10-million-password breach corpus, as shipped
    in zxcvbn's frequency lists (see SECURITY.md for the source)."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def _is_common(password: str) -> bool:
    """On the list as is, or once the digits and symbols people pad with are stripped."""
    lowered = password.lower()
    core = lowered.strip("0123456789!@#$%^&*()-_=+.,;:?~ ")
    common = _common_passwords()
    return lowered in common or (len(core) >= 4 and core in common)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def actor_for(
    user: User | SignedInUser, *, client_ip: str | None = None, route: str | None = None
) -> Actor:
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
    """Check credentials under the sign-in throttle and open a login session.

    Every step answers the same whether or not the email names an account: the throttle is
    keyed by the email as typed, and a password is always verified against a hash (a dummy
    one for unknown emails) so the timing matches too.

    Raises:
        Throttled: too many recent failures for this account or address; wait ``retry_after``.
        NotAuthenticated: unknown email or wrong password (the two are not told apart).
    """
    now = utcnow()
    email = email.strip().lower()
    keys = _Keys.of(email, client_ip)
    until = signin.blocked_until(session=session, keys=keys.all())
    if until is not None and until > now:
        raise Throttled(max(1, math.ceil((until - now).total_seconds())))
    user = clinics_store.find_user_by_email(session, email)
    if not _verify(user, password) or user is None or not user.active:
        _count_failure(session, keys, user, now, policy)
        raise NotAuthenticated("email or password is not correct", code="bad_credentials")
    signin.clear(session=session, keys=[keys.pair, keys.account])
    signin.forget_idle(session=session, before=now - policy.forget)
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    return _open_session(session, user, now, client_ip, policy)


@dataclass(frozen=True, slots=True)
class _Keys:
    """Throttle row keys: SHA-256 of a labelled value, so the table holds no email or address
    in the clear and one email's row looks the same whether or not the account exists."""

    account: str
    address: str
    pair: str

    @classmethod
    def of(cls, email: str, client_ip: str | None) -> _Keys:
        address = client_ip or "unknown"
        return cls(
            account=_digest(f"account\0{email}"),
            address=_digest(f"address\0{address}"),
            pair=_digest(f"pair\0{email}\0{address}"),
        )

    def all(self) -> list[str]:
        return [self.account, self.address, self.pair]


def _delay(failures: int, allowed: int, first: timedelta, longest: timedelta) -> timedelta:
    """No wait within the allowance, then ``first`` doubling with each failure, up to
    ``longest``."""
    over = failures - allowed
    if over < 0:
        return timedelta(0)
    return min(first * (2 ** min(over, 32)), longest)


def _count_failure(
    session: Session, keys: _Keys, user: User | None, now: datetime, policy: Policy
) -> None:
    """Count the failure on the account, the address and the pair; block each key that is
    over its allowance for its growing delay; audit failures against real accounts."""
    rules = (
        (keys.pair, policy.max_failures, policy.first_delay),
        (keys.account, policy.account_max_failures, policy.first_delay),
        (keys.address, policy.address_max_failures, policy.address_delay),
    )
    for key, allowed, first in rules:
        failures = signin.count_failure(session=session, key=key, now=now, forget=policy.forget)
        wait = _delay(failures, allowed, first, max(policy.lockout, first))
        if wait:
            signin.block(session=session, key=key, until=now + wait)
    if user is not None:
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


def resume(*, session: Session, token: str, policy: Policy) -> LiveLogin:
    """The live login session for a cookie token; idle and absolute timeouts apply.

    Raises:
        NotAuthenticated: no such session, revoked, or timed out.
    """
    now = utcnow()
    row = clinics_store.find_live_login(session, _digest(token))
    if row is None or row.revoked_at is not None or not row.user.active:
        raise NotAuthenticated("please sign in", code="not_signed_in")
    if row.expires_at <= now or row.last_seen_at + policy.idle <= now:
        clinics_store.mark_login(session, row.id, revoked_at=now)
        raise NotAuthenticated("your session timed out; please sign in again", code="timed_out")
    if now - row.last_seen_at > timedelta(seconds=60):
        # A minute's resolution keeps a write off most requests.
        clinics_store.mark_login(session, row.id, last_seen_at=now)
    return row


def logout(*, session: Session, token: str) -> None:
    """End one login session."""
    clinics_store.find_login(session, _digest(token))  # scopes the session to its clinic
    tokens.end_session(session=session, token_hash=_digest(token), at=utcnow())


def logout_everywhere(*, session: Session, actor: Actor) -> Ended:
    """End every login session of the actor and revoke every API token they hold: someone who
    fears a stolen laptop or a leaked secret should not have to hunt each credential down."""
    now = utcnow()
    ended = Ended(
        sessions=tokens.end_all_sessions(session=session, user_id=actor.user_id, at=now),
        tokens=tokens.revoke_all_tokens(session=session, user_id=actor.user_id, at=now),
    )
    audit.record(
        session=session,
        actor=actor,
        action="logout_all",
        entity_type="user",
        entity_id=actor.user_external_id,
        detail={"sessions": ended.sessions, "tokens": ended.tokens},
    )
    return ended


@dataclass(frozen=True, slots=True)
class Ended:
    """What "log out everywhere" ended."""

    sessions: int
    tokens: int


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


def list_tokens(*, session: Session, actor: Actor) -> Sequence[ApiToken]:
    """The actor's own API tokens (names, prefixes and dates; never the secrets)."""
    return tokens.tokens_of_user(session=session, user_id=actor.user_id)


def list_clinic_tokens(*, session: Session, actor: Actor) -> Sequence[ApiToken]:
    """Every API token of the actor's clinic, for an admin reviewing integrations."""
    require(actor, Permission.MANAGE_USERS)
    rows = tokens.tokens_of_clinic(session=session, clinic_id=actor.clinic_id)
    audit.record(session=session, actor=actor, action="list", entity_type="api_token")
    return rows


def revoke_token(*, session: Session, actor: Actor, token_id: object) -> ApiToken:
    """Revoke an API token: one's own, or as an admin any token of the clinic. A token the
    actor may not revoke is not found, exactly like one of another clinic."""
    key = parse_id(token_id, field="token_id")
    admin = actor.can(Permission.MANAGE_USERS)
    row = tokens.find_token(
        session=session,
        external_id=key,
        user_id=None if admin else actor.user_id,
        clinic_id=actor.clinic_id,
    )
    if row is None:
        raise NotFound("no such token", field="token_id", code="token_not_found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    audit.record(
        session=session,
        actor=actor,
        action="revoke",
        entity_type="api_token",
        entity_id=row.external_id,
        detail={"owner": str(row.user.external_id)},
    )
    session.flush()
    return row


def user_for_token(*, session: Session, secret: str) -> SignedInUser:
    """The user an API token belongs to.

    Raises:
        NotAuthenticated: unknown or revoked token.
    """
    row = clinics_store.find_live_token(session, _digest(secret))
    if row is None or row.revoked_at is not None or not row.user.active:
        raise NotAuthenticated("the API token is not valid", code="bad_token")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > timedelta(seconds=60):
        # Shown to the minute: a device bridge posting several batches a second would
        # otherwise make every request a database write.
        clinics_store.mark_token_used(session, row.id, now)
    return row.user
