"""A per-clinic revision number that moves with every committed change to clinical data.

Why: a page rendered from a clinic's data stays right exactly as long as none of that data
changed. Counting changes in the same transaction that makes them (just before it commits)
lets any process, on any host, tell with one indexed read whether a page it rendered is
still current, without listing every table the page drew on. Sign-in bookkeeping and the
audit trail are not shown on clinical pages and change on every request, so they do not
count: otherwise reading a page would invalidate it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Select, bindparam, event, select, text
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    SessionTransaction,
    UOWTransaction,
    mapped_column,
)

from strigil.store.base import Base

_CHANGED = "strigil_changed_clinics"
_ALL = -1  # a bulk statement whose clinic is not known: every clinic moves on
UNCOUNTED_TABLES = frozenset(
    {"audit_event", "login_session", "api_token", "signin_throttle", "clinic_revision"}
)
# From the clinic row, not a literal: a clinic made in a savepoint that was rolled back stays
# noted (a harmless extra move) but no longer exists, and then nothing is written for it.
_BUMP = text(
    "INSERT INTO clinic_revision (clinic_id, revision) SELECT id, 1 FROM clinic "
    "WHERE id = :clinic_id "
    "ON CONFLICT (clinic_id) DO UPDATE SET revision = clinic_revision.revision + 1"
)
_BUMP_ALL = text(
    "INSERT INTO clinic_revision (clinic_id, revision) SELECT id, 1 FROM clinic WHERE true "
    "ON CONFLICT (clinic_id) DO UPDATE SET revision = clinic_revision.revision + 1"
)


class ClinicRevision(Base):
    """How many transactions have changed a clinic's data (absent: none yet)."""

    __tablename__ = "clinic_revision"

    clinic_id: Mapped[int] = mapped_column(
        ForeignKey("clinic.id", ondelete="CASCADE"), primary_key=True
    )
    revision: Mapped[int] = mapped_column(BigInteger, default=0)


def current(session: Session, clinic_id: int) -> int:
    """The clinic's revision as committed (0 before its first change)."""
    value = session.scalar(_current_query(), {"clinic": clinic_id})
    return int(value or 0)


@cache
def _current_query() -> Select[int]:
    """Built once: every reused page runs it."""
    return select(ClinicRevision.revision).where(ClinicRevision.clinic_id == bindparam("clinic"))


def _clinic_of(instance: Any) -> int | None:
    table = getattr(instance, "__tablename__", None)
    if table is None or table in UNCOUNTED_TABLES:
        return None
    if table == "clinic":
        return getattr(instance, "id", None) or _ALL
    clinic_id = getattr(instance, "clinic_id", None)
    return clinic_id if clinic_id is not None else _ALL


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    changed: set[int] = session.info.setdefault(_CHANGED, set())
    for instance in (*session.new, *session.dirty, *session.deleted):
        clinic_id = _clinic_of(instance)
        if clinic_id is not None:
            changed.add(clinic_id)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_statements(state: ORMExecuteState) -> None:
    """An INSERT, UPDATE or DELETE statement bypasses the flush: count it too."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    table = getattr(mapper.class_, "__tablename__", None) if mapper is not None else None
    if table not in UNCOUNTED_TABLES:
        state.session.info.setdefault(_CHANGED, set()).add(_ALL)


def _count_changes(session: Session) -> None:
    """Move the changed clinics on, inside the transaction about to commit."""
    if not session.in_transaction():
        return
    session.flush()
    changed: set[int] = session.info.pop(_CHANGED, set())
    if _ALL in changed:
        session.execute(_BUMP_ALL)
        changed.discard(_ALL)
    for clinic_id in sorted(changed):  # a fixed order: two writers never deadlock on these
        session.execute(_BUMP, {"clinic_id": clinic_id})


def _forget_changes(session: Session, transaction: SessionTransaction) -> None:
    """A whole transaction ended without commit: its changes never happened. (A savepoint
    rolled back keeps the note: counting a change that was undone only costs a re-render.)"""
    if transaction.parent is None:
        session.info.pop(_CHANGED, None)


# First among the before-commit hooks: the tenancy hook that clears a shared transaction's
# clinic scope must run after these rows are written under that scope.
event.listen(Session, "before_commit", _count_changes, insert=True)
event.listen(Session, "after_transaction_end", _forget_changes)
