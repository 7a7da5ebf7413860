"""Clinics, their users, login sessions, API tokens and instrument inventory."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import NamedTuple

from sqlalchemy import (
    Boolean,
    Executable,
    ForeignKey,
    Select,
    String,
    Text,
    TextClause,
    bindparam,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from strigil.errors import NotFound
from strigil.store import tenancy
from strigil.store.base import Base, IdMixin, TenantMixin, VersionedMixin

ROLES = ("admin", "therapist", "assistant", "researcher")


class Clinic(IdMixin, Base):
    """A tenant: every clinical row belongs to exactly one clinic."""

    __tablename__ = "clinic"

    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    address: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    billing_rule: Mapped[str] = mapped_column(String(10), default="cms")
    assistant_notes_need_cosign: Mapped[bool] = mapped_column(Boolean, default=False)


class User(IdMixin, VersionedMixin, Base):
    """A person who signs in; ``role`` decides what the services let them do."""

    __tablename__ = "app_user"

    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    credentials: Mapped[str] = mapped_column(String(40), default="")
    licence_number: Mapped[str | None] = mapped_column(String(40), default=None)
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_changed_at: Mapped[datetime | None] = mapped_column(default=None)

    clinic: Mapped[Clinic] = relationship(lazy="joined")


class LoginSession(IdMixin, Base):
    """A server-side login; the cookie holds a random token whose hash is stored here."""

    __tablename__ = "login_session"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    client_ip: Mapped[str | None] = mapped_column(String(64), default=None)

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(IdMixin, Base):
    """A per-user token for integrations: stored hashed, shown once, revocable."""

    __tablename__ = "api_token"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship(lazy="joined")


class Instrument(IdMixin, TenantMixin, VersionedMixin, Base):
    """A physical tool the clinic owns; ``type_code`` points into the instrument catalog."""

    __tablename__ = "instrument"

    label: Mapped[str] = mapped_column(String(100))
    type_code: Mapped[str] = mapped_column(String(64))
    family: Mapped[str | None] = mapped_column(String(100), default=None)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    retired_at: Mapped[datetime | None] = mapped_column(default=None)


# ------------------------------------------------------------------ sign-in lookups
# Before the clinic is known, a restricted session sees no user, login or token. These three
# ask the database's sign-in directory (functions that return only a clinic number) which
# clinic a key belongs to, scope the session to it, and then read the row under that scope.

_DIRECTORY = {
    "email": "strigil_clinic_of_email",
    "login": "strigil_clinic_of_login",
    "token": "strigil_clinic_of_token",
}


def _enter_clinic_of(session: Session, kind: str, key: str) -> None:
    if not tenancy.is_restricted(session) or not tenancy.is_postgres(session):
        return  # the owner and SQLite read every clinic's rows directly
    tenancy.enter_clinic_found(session, _directory_lookup(kind), key)


@cache
def _directory_lookup(kind: str) -> TextClause:
    """Find the clinic and scope the transaction to it in one statement: a round trip fewer
    on every signed-in request."""
    return text(
        "SELECT found.id, CASE WHEN found.id IS NOT NULL"
        " THEN set_config(:name, found.id::text, true) END"
        f" FROM (SELECT {_DIRECTORY[kind]}(:k) AS id) AS found"
    )


def find_user_by_email(session: Session, email: str) -> User | None:
    """The user signing in with ``email``, if any; the session is scoped to their clinic."""
    _enter_clinic_of(session, "email", email)
    return session.scalar(select(User).where(User.email == email))


def find_login(session: Session, token_hash: str) -> LoginSession | None:
    """The login session with this token hash; the session is scoped to its clinic."""
    _enter_clinic_of(session, "login", token_hash)
    return session.scalar(_login_query(), {"token_hash": token_hash})


class SignedInUser(NamedTuple):
    """What a request needs of the user behind a login session to act for them."""

    id: int
    external_id: uuid.UUID
    clinic_id: int
    role: str
    display_name: str
    active: bool


class LiveLogin(NamedTuple):
    """A login session as a request checks it, without loading it as an ORM object."""

    id: int
    csrf_token: str
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    user: SignedInUser

    @property
    def user_id(self) -> int:
        return self.user.id


def find_live_login(session: Session, token_hash: str) -> LiveLogin | None:
    """The login session with this token hash and its user, as plain values; the session is
    scoped to its clinic.

    Why not ``find_login``: every signed-in page runs this, and building the two ORM objects
    took about as long as the rest of a cached page's database work. It runs on the session's
    connection, not through the ORM's execute (which costs more than the statement itself on
    SQLite): it reads no mapped objects, and a request looks its login up before it changes
    anything, so there is nothing to flush first.
    """
    _enter_clinic_of(session, "login", token_hash)
    found = session.connection().execute(_live_login_query(), {"token_hash": token_hash})
    row = found.one_or_none()
    if row is None:
        return None
    login_id, csrf, seen, expires, revoked = row[:5]
    return LiveLogin(login_id, csrf, seen, expires, revoked, SignedInUser(*row[5:]))


_USER_COLUMNS = (User.id, User.external_id, User.clinic_id, User.role, User.display_name,
                 User.active)  # fmt: skip


@cache
def _live_login_query() -> Executable:
    return (
        select(
            LoginSession.id,
            LoginSession.csrf_token,
            LoginSession.last_seen_at,
            LoginSession.expires_at,
            LoginSession.revoked_at,
            *_USER_COLUMNS,
        )  # fmt: skip
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.token_hash == bindparam("token_hash"))
    )


def mark_login(session: Session, login_id: int, **values: datetime) -> None:
    """Set a login session's ``last_seen_at`` or ``revoked_at`` (login sessions are not
    clinical data: no page shows them, so no revision moves)."""
    session.connection().execute(
        update(LoginSession).where(LoginSession.id == login_id).values(**values)
    )


@cache
def _login_query() -> Select[LoginSession]:
    """Built once: every signed-in request runs it (see ``records._owned``)."""
    return select(LoginSession).where(LoginSession.token_hash == bindparam("token_hash"))


class LiveToken(NamedTuple):
    """An API token as a request checks it, without loading it as an ORM object."""

    id: int
    last_used_at: datetime | None
    revoked_at: datetime | None
    user: SignedInUser


def find_live_token(session: Session, token_hash: str) -> LiveToken | None:
    """The API token with this hash and its user, as plain values; the session is scoped to
    its clinic. Every API request runs this, so it reads on the session's connection, as
    ``find_live_login`` does and for the same reasons."""
    _enter_clinic_of(session, "token", token_hash)
    found = session.connection().execute(_live_token_query(), {"token_hash": token_hash})
    row = found.one_or_none()
    if row is None:
        return None
    return LiveToken(row[0], row[1], row[2], SignedInUser(*row[3:]))


@cache
def _live_token_query() -> Executable:
    return (
        select(ApiToken.id, ApiToken.last_used_at, ApiToken.revoked_at, *_USER_COLUMNS)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == bindparam("token_hash"))
    )


def mark_token_used(session: Session, token_id: int, at: datetime) -> None:
    """Set an API token's ``last_used_at`` (tokens are not clinical data: no revision
    moves)."""
    session.connection().execute(
        update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=at)
    )


# ------------------------------------------------------------------ clinics and users


def get_clinic(session: Session, clinic_id: int) -> Clinic:
    """The clinic with this row id.

    Raises:
        NotFound: no such clinic (or not visible under the session's clinic scope).
    """
    clinic = session.get(Clinic, clinic_id)
    if clinic is None:
        raise NotFound("no such clinic", code="clinic_not_found")
    return clinic


def get_user(session: Session, clinic_id: int, user_id: int) -> User:
    """The clinic's user with this row id (from the identity map when loaded).

    Raises:
        NotFound: no such user in the clinic.
    """
    user = session.get(User, user_id)
    if user is None or user.clinic_id != clinic_id:
        raise NotFound("no such user", code="user_not_found")
    return user


def find_user(session: Session, clinic_id: int, external_id: uuid.UUID) -> User | None:
    """The clinic's user with this public id, if any."""
    return session.scalar(
        select(User).where(User.external_id == external_id, User.clinic_id == clinic_id)
    )


def find_clinic_by_name(session: Session, name: str) -> Clinic | None:
    """The clinic called ``name``, if any (set-up commands find clinics by name)."""
    return session.scalar(select(Clinic).where(Clinic.name == name))


def clinic_names(session: Session) -> dict[int, str]:
    """Every clinic's name by id (the network operator's commands; no row-level scope)."""
    return {int(i): str(n) for i, n in session.execute(select(Clinic.id, Clinic.name))}


def email_taken(session: Session, email: str) -> bool:
    """Whether a user already signs in with ``email`` (as far as the session can see)."""
    return session.scalar(select(User.id).where(User.email == email)) is not None


def list_users(session: Session, clinic_id: int) -> Sequence[User]:
    """The clinic's users, by name."""
    return session.scalars(
        select(User).where(User.clinic_id == clinic_id).order_by(User.display_name)
    ).all()


def users_by_id(session: Session, clinic_id: int) -> dict[int, User]:
    """User id → user for the clinic, in one query."""
    return {u.id: u for u in session.scalars(_users_query(), {"clinic": clinic_id})}


@cache
def _users_query() -> Select[User]:
    return select(User).where(User.clinic_id == bindparam("clinic"))


def users_of_every_clinic_by_id(session: Session) -> dict[int, User]:
    """User id → user across every clinic (the operator's bulk sealing of notes spans them)."""
    return {u.id: u for u in session.scalars(select(User))}


def user_names(session: Session, clinic_id: int) -> dict[int, str]:
    """User id → display name for the clinic, in one query."""
    rows = session.execute(select(User.id, User.display_name).where(User.clinic_id == clinic_id))
    return {row.id: row.display_name for row in rows}


# ------------------------------------------------------------------ instruments


def list_instruments(
    session: Session, clinic_id: int, *, include_retired: bool = True
) -> Sequence[Instrument]:
    """The clinic's instruments; in-service first, then retired, each by label."""
    query = select(Instrument).where(Instrument.clinic_id == clinic_id)
    if not include_retired:
        query = query.where(Instrument.retired_at.is_(None))
    order = (Instrument.retired_at.is_not(None), Instrument.label, Instrument.id)
    return session.scalars(query.order_by(*order)).all()
