"""Revision numbers that move with every committed change to clinical data.

Why: a page rendered from a clinic's data stays right exactly as long as none of that data
changed. Counting changes in the same transaction that makes them (just before it commits)
lets any process, on any host, tell with one indexed read whether a page it rendered is
still current, without listing every table the page drew on. Sign-in bookkeeping and the
audit trail are not shown on clinical pages and change on every request, so they do not
count: otherwise reading a page would invalidate it.

Three counters, because a busy clinic changes all the time while one patient's chart rarely
does: the clinic's ``revision`` moves with every change (the clinic-wide overview draws on
all of it); ``shared`` moves only with rows that belong to no one patient (users,
instruments, templates, the clinic itself); a patient's ``patient_revision`` moves with that
patient's rows. A page drawn from one patient's record is current while ``shared`` and that
patient's revision stand, so one therapist's reading no longer invalidates every other
therapist's open visit. Whatever cannot be traced to a patient moves ``shared``: a doubt
costs a re-render, never a stale page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    Select,
    Uuid,
    bindparam,
    event,
    select,
    text,
)
from sqlalchemy import inspect as inspect_row
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
    {
        "audit_event",
        "login_session",
        "api_token",
        "signin_throttle",
        "clinic_revision",
        "patient_revision",
    }
)
# From the clinic row, not a literal: a clinic made in a savepoint that was rolled back stays
# noted (a harmless extra move) but no longer exists, and then nothing is written for it.
_BUMP = text(
    "INSERT INTO clinic_revision (clinic_id, revision, shared) SELECT id, 1, :shared FROM clinic "
    "WHERE id = :clinic_id ON CONFLICT (clinic_id) DO UPDATE SET "
    "revision = clinic_revision.revision + 1, shared = clinic_revision.shared + :shared"
)
_BUMP_ALL = text(
    "INSERT INTO clinic_revision (clinic_id, revision, shared) SELECT id, 1, 1 FROM clinic "
    "WHERE true ON CONFLICT (clinic_id) DO UPDATE SET "
    "revision = clinic_revision.revision + 1, shared = clinic_revision.shared + 1"
)
# Every changed patient in one statement, including those named only through a visit or a
# treated area, looked up here as the transaction commits (so a visit moved by a merge that
# committed meanwhile is filed under its patient now). In patient order, so two writers lock
# the same rows in the same order and never deadlock.
_BUMP_PATIENTS = text(
    "INSERT INTO patient_revision (patient_id, clinic_id, revision) "
    "SELECT p.id, p.clinic_id, 1 FROM patient p WHERE p.id IN :patients "
    "OR p.id IN (SELECT v.patient_id FROM visit v WHERE v.id IN :visits) "
    "OR p.id IN (SELECT v.patient_id FROM treated_area a JOIN visit v ON v.id = a.visit_id "
    "WHERE a.id IN :areas) "
    "ORDER BY p.id "
    "ON CONFLICT (patient_id) DO UPDATE SET revision = patient_revision.revision + 1"
).bindparams(
    bindparam("patients", expanding=True),
    bindparam("visits", expanding=True),
    bindparam("areas", expanding=True),
)


class ClinicRevision(Base):
    """How many transactions have changed a clinic's data (absent: none yet), and how many
    changed rows of no one patient (``shared``)."""

    __tablename__ = "clinic_revision"

    clinic_id: Mapped[int] = mapped_column(
        ForeignKey("clinic.id", ondelete="CASCADE"), primary_key=True
    )
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    shared: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class PatientRevision(Base):
    """How many transactions have changed one patient's rows (absent: none yet)."""

    __tablename__ = "patient_revision"

    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patient.id", ondelete="CASCADE"), primary_key=True
    )
    clinic_id: Mapped[int] = mapped_column(Integer, index=True)  # row-level security scopes it
    revision: Mapped[int] = mapped_column(BigInteger, default=0)


@dataclass
class _Changes:
    """What a transaction changed so far: clinics, and within them patients (directly, or
    through a visit or treated area to look up before commit) or shared rows."""

    clinics: set[int] = field(default_factory=set)
    shared: set[int] = field(default_factory=set)
    patients: set[int] = field(default_factory=set)
    visits: set[int] = field(default_factory=set)
    areas: set[int] = field(default_factory=set)


def current(session: Session, clinic_id: int) -> int:
    """The clinic's revision as committed (0 before its first change)."""
    value = session.scalar(_current_query(), {"clinic": clinic_id})
    return int(value or 0)


@cache
def _current_query() -> Select[int]:
    """Built once: every reused page runs it."""
    return select(ClinicRevision.revision).where(ClinicRevision.clinic_id == bindparam("clinic"))


_STAMP = text(
    "SELECT c.external_id, coalesce(r.revision, 0) FROM clinic c "
    "LEFT JOIN clinic_revision r ON r.clinic_id = c.id WHERE c.id = :clinic"
)


def stamp(session: Session, clinic_id: int) -> str:
    """The clinic's data version as a key no other database can produce: its public id (random)
    with its revision, so results cached per process never mix two databases' clinics."""
    row = session.execute(_STAMP, {"clinic": clinic_id}).first()
    return "" if row is None else f"{row[0]}:{int(row[1])}"


def settled(session: Session) -> bool:
    """Whether this transaction has changed nothing yet, so the committed revision describes
    exactly the data it sees (its own uncommitted changes do not move the revision)."""
    changes = session.info.get(_CHANGED)
    pending = bool(session.new or session.dirty or session.deleted)
    return not pending and (changes is None or not (changes.clinics or changes.patients))


_VISIT_VIEW = text(
    "SELECT coalesce(c.shared, 0), coalesce(p.revision, 0) FROM visit v "
    "LEFT JOIN clinic_revision c ON c.clinic_id = v.clinic_id "
    "LEFT JOIN patient_revision p ON p.patient_id = v.patient_id "
    "WHERE v.external_id = :visit AND v.clinic_id = :clinic"
).bindparams(bindparam("visit", type_=Uuid()))  # stored as the models store public ids


def of_visit(session: Session, clinic_id: int, visit_key: Any) -> tuple[int, int] | None:
    """(shared, patient) revisions a page of this visit's patient depends on, in one read;
    None when the clinic has no such visit. Read on the session's connection (no ORM
    execute, no autoflush): a page asks before it changes anything."""
    found = session.connection().execute(_VISIT_VIEW, {"visit": visit_key, "clinic": clinic_id})
    row = found.first()
    return None if row is None else (int(row[0]), int(row[1]))


def _clinic_of(instance: Any, table: str) -> int:
    if table == "clinic":
        return getattr(instance, "id", None) or _ALL
    clinic_id = getattr(instance, "clinic_id", None)
    return clinic_id if clinic_id is not None else _ALL


def _note_patient(changes: _Changes, clinic_id: int, instance: Any, table: str) -> None:
    """File the row under its patient, or under the shared rows when it has none."""
    if table == "patient":
        key = getattr(instance, "id", None)
        if key is not None:
            changes.patients.add(key)
        return  # a patient still unsaved has no page that could be stale
    if (patient := _direct_patient(instance)) is not None:
        changes.patients.update(patient)
    elif (visit := getattr(instance, "visit_id", None)) is not None:
        changes.visits.add(visit)
    elif (area := getattr(instance, "treated_area_id", None)) is not None:
        changes.areas.add(area)
    else:
        changes.shared.add(clinic_id)


def _direct_patient(instance: Any) -> set[int] | None:
    """The patient ids a row names now and, if it was moved (a merge), before."""
    if not hasattr(instance, "patient_id"):
        return None
    found = {instance.patient_id} if instance.patient_id is not None else set()
    history = inspect_row(instance).attrs.patient_id.history
    found.update(p for p in history.deleted or () if p is not None)
    return found or None


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    changes: _Changes = session.info.setdefault(_CHANGED, _Changes())
    for instance in (*session.new, *session.dirty, *session.deleted):
        table = getattr(instance, "__tablename__", None)
        if table is None or table in UNCOUNTED_TABLES:
            continue
        clinic_id = _clinic_of(instance, table)
        changes.clinics.add(clinic_id)
        _note_patient(changes, clinic_id, instance, table)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_statements(state: ORMExecuteState) -> None:
    """An INSERT, UPDATE or DELETE statement bypasses the flush: count it too."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    table = getattr(mapper.class_, "__tablename__", None) if mapper is not None else None
    if table not in UNCOUNTED_TABLES:
        state.session.info.setdefault(_CHANGED, _Changes()).clinics.add(_ALL)


def note_bulk_write(session: Session) -> None:
    """Count a write made below the ORM (a driver-level bulk insert) like a bulk statement:
    every clinic moves on, as nothing records which rows it touched."""
    session.info.setdefault(_CHANGED, _Changes()).clinics.add(_ALL)


def note_patient_write(session: Session, clinic_id: int, patient_id: int) -> None:
    """Count a plain statement's write to one patient's row as a flush of it would count."""
    changes = session.info.setdefault(_CHANGED, _Changes())
    changes.clinics.add(clinic_id)
    changes.patients.add(patient_id)


def _count_changes(session: Session) -> None:
    """Move the changed clinics and patients on, inside the transaction about to commit."""
    if not session.in_transaction():
        return
    session.flush()
    changes: _Changes | None = session.info.pop(_CHANGED, None)
    if changes is None:
        return
    if _ALL in changes.clinics:
        session.execute(_BUMP_ALL)
        changes.clinics.discard(_ALL)
    for clinic_id in sorted(changes.clinics):  # a fixed order: two writers never deadlock
        session.execute(_BUMP, {"clinic_id": clinic_id, "shared": int(clinic_id in changes.shared)})
    if changes.patients or changes.visits or changes.areas:
        session.execute(
            _BUMP_PATIENTS,
            {
                "patients": sorted(changes.patients),
                "visits": sorted(changes.visits),
                "areas": sorted(changes.areas),
            },
        )


def _forget_changes(session: Session, transaction: SessionTransaction) -> None:
    """A whole transaction ended without commit: its changes never happened. (A savepoint
    rolled back keeps the note: counting a change that was undone only costs a re-render.)"""
    if transaction.parent is None:
        session.info.pop(_CHANGED, None)


# First among the before-commit hooks: the tenancy hook that clears a shared transaction's
# clinic scope must run after these rows are written under that scope.
event.listen(Session, "before_commit", _count_changes, insert=True)
event.listen(Session, "after_transaction_end", _forget_changes)
