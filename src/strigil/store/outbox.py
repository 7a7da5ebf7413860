"""The outbox: emails waiting to be sent, sent, or given up on.

Why a table: the request that queues a message must not wait on (or fail with) a mail server;
a separate sender delivers, retries with growing pauses, and records what happened. The row
holds the link only until the message is sent or given up; then the link is blanked from the
body, so the table does not become a second store of open patient links.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from strigil.store.base import Base, IdMixin, TenantMixin

QUEUED, SENT, FAILED = "queued", "sent", "failed"
STATUSES = (QUEUED, SENT, FAILED)


class OutboxMessage(IdMixin, TenantMixin, Base):
    """One email to one recipient."""

    __tablename__ = "outbox"

    link_id: Mapped[int | None] = mapped_column(
        ForeignKey("patient_link.id"), index=True, default=None
    )
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


def due(session: Session, now: datetime, limit: int) -> Sequence[OutboxMessage]:
    """Queued messages whose next attempt is due, oldest first (every clinic: the sender
    runs as the operator)."""
    return session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == QUEUED, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    ).all()


def for_links(session: Session, clinic_id: int, link_ids: Sequence[int]) -> Sequence[OutboxMessage]:
    """The messages sent about these links, newest first (the visit page shows their state)."""
    if not link_ids:
        return []
    return session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.clinic_id == clinic_id, OutboxMessage.link_id.in_(link_ids))
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    ).all()
