"""Declarative base, naming convention and the mixins every clinical row shares.

Why these mixins: public identifiers are UUIDs (row ids never leave the database), every
clinical row carries its clinic (the tenant key the services and PostgreSQL row-level
security both filter on), editable rows carry an optimistic-lock version, and clinical rows
are marked entered-in-error rather than deleted.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, MetaData, String, Text, TypeDecorator, Uuid
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Now, timezone-aware in UTC: the only clock the store uses."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002 - SQLAlchemy signature
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002 - SQLAlchemy signature
    ) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of every table; constraint names come from the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime(), uuid.UUID: Uuid()}


class IdMixin:
    """Internal integer key plus the public UUID."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VersionedMixin:
    """An optimistic-lock counter: a stale write raises instead of overwriting."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 - SQLAlchemy passes the class
        return {"version_id_col": cls.version}


class TenantMixin:
    """The clinic that owns the row; every clinical query filters on it."""

    @declared_attr
    def clinic_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(ForeignKey("clinic.id"), index=True, nullable=False)


class EnteredInErrorMixin:
    """Clinical rows are never deleted: they are marked entered-in-error with who and why."""

    entered_in_error_at: Mapped[datetime | None] = mapped_column(default=None)
    entered_in_error_reason: Mapped[str | None] = mapped_column(Text, default=None)

    @declared_attr
    def entered_in_error_by_id(cls) -> Mapped[int | None]:  # noqa: N805
        return mapped_column(ForeignKey("app_user.id"), default=None)

    @property
    def is_entered_in_error(self) -> bool:
        return self.entered_in_error_at is not None


def short_str(length: int = 64) -> String:
    """A bounded string column type."""
    return String(length)
