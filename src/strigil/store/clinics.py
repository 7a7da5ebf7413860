"""Clinics, their users, login sessions, API tokens and instrument inventory."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from strigil.store.base import Base, IdMixin, TenantMixin, VersionedMixin

ROLES = ("admin", "therapist", "assistant", "researcher")


class Clinic(IdMixin, Base):
    """A tenant: every clinical row belongs to exactly one clinic."""

    __tablename__ = "clinic"

    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")


class User(IdMixin, VersionedMixin, Base):
    """A person who signs in; ``role`` decides what the services let them do."""

    __tablename__ = "app_user"

    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
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
