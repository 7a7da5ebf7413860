"""The audit trail: append-only, one row for every read or write of patient data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Insert,
    Integer,
    String,
    Table,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from strigil.store.base import Base, utcnow


class AuditEvent(Base):
    """Who did what to which record, when and from where. Never updated, never deleted."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_clinic_at", "clinic_id", "at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"), default=None)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    action: Mapped[str] = mapped_column(String(20))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(40), default=None)
    patient_id: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    route: Mapped[str | None] = mapped_column(String(200), default=None)
    client_ip: Mapped[str | None] = mapped_column(String(64), default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def append(session: Session, **values: Any) -> None:
    """Insert one audit row now, in the session's transaction, as a plain INSERT.

    Why not ``session.add``: nearly every request writes one of these rows, and a flush of
    one new object costs several times the statement itself. The row never changes after,
    so the session need not track it. Rows it refers to (clinic, user) exist already: the
    caller's actor or clinic was read or flushed before.
    """
    session.connection().execute(_insert(), values)


@cache
def _insert() -> Insert:
    """Built once; column defaults (``at``, ``detail``) apply to columns left out."""
    return insert(cast(Table, AuditEvent.__table__))


def list_events(
    session: Session,
    clinic_id: int,
    *,
    patient_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
    limit: int = 200,
    offset: int = 0,
) -> Sequence[AuditEvent]:
    """The clinic's audit rows matching every filter that is not None, newest first."""
    query = select(AuditEvent).where(AuditEvent.clinic_id == clinic_id)
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if before is not None:
        query = query.where(AuditEvent.at < before)
    query = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    return session.scalars(query.limit(limit).offset(offset)).all()


def seen_since(
    session: Session,
    clinic_id: int,
    *,
    user_id: int,
    entity_type: str,
    entity_id: str,
    action: str,
    route: str | None,
    since: datetime,
) -> bool:
    """Whether the user already has this audit row (same entity, action and route) since then;
    served by the clinic-and-time index, so it reads only the last moments' rows."""
    query = select(AuditEvent.id).where(
        AuditEvent.clinic_id == clinic_id,
        AuditEvent.at >= since,
        AuditEvent.user_id == user_id,
        AuditEvent.entity_type == entity_type,
        AuditEvent.entity_id == entity_id,
        AuditEvent.action == action,
        AuditEvent.route.is_(None) if route is None else AuditEvent.route == route,
    )
    return session.scalar(query.limit(1)) is not None
