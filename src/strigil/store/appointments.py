"""The day book: appointments per therapist, and the queries the day, week and dashboard
lists run (one query each, whatever the size of the clinic)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from strigil.store.base import Base, IdMixin, TenantMixin, VersionedMixin
from strigil.store.clinics import User
from strigil.store.episodes import Episode
from strigil.store.patients import Patient
from strigil.store.visits import Visit

APPOINTMENT_STATUSES = ("booked", "arrived", "no_show", "cancelled")


class Appointment(IdMixin, TenantMixin, VersionedMixin, Base):
    """A booked slot of a therapist's time with a patient. Never deleted: it is cancelled."""

    __tablename__ = "appointment"
    __table_args__ = (
        Index("ix_appointment_clinic_therapist_starts", "clinic_id", "therapist_id", "starts_at"),
        Index("ix_appointment_clinic_starts", "clinic_id", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint(
            "status IN ('booked', 'arrived', 'no_show', 'cancelled')", name="status_known"
        ),
    )

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("episode.id"), default=None)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"), default=None)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="booked")
    series_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


@dataclass(frozen=True, slots=True)
class AppointmentLine:
    """One appointment as lists show it: public ids and names only."""

    appointment_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    status: str
    note: str
    series_id: uuid.UUID | None
    version: int
    patient_id: uuid.UUID
    patient_name: str
    record_number: str
    birth_date_iso: str
    therapist_id: uuid.UUID
    therapist_name: str
    episode_id: uuid.UUID | None
    visit_id: uuid.UUID | None


def lock_therapist(session: Session, therapist_id: int) -> None:
    """Serialize bookings of one therapist: two concurrent bookings cannot both pass the
    overlap check (a row lock on PostgreSQL; SQLite writers are serialized already)."""
    session.execute(select(User.id).where(User.id == therapist_id).with_for_update())


def find_overlap(
    session: Session,
    clinic_id: int,
    therapist_id: int,
    starts_at: datetime,
    ends_at: datetime,
    *,
    exclude_id: int | None = None,
) -> Appointment | None:
    """The therapist's first non-cancelled appointment that overlaps [starts_at, ends_at)."""
    query = select(Appointment).where(
        Appointment.clinic_id == clinic_id,
        Appointment.therapist_id == therapist_id,
        Appointment.status != "cancelled",
        Appointment.starts_at < ends_at,
        Appointment.ends_at > starts_at,
    )
    if exclude_id is not None:
        query = query.where(Appointment.id != exclude_id)
    return session.scalars(query.order_by(Appointment.starts_at).limit(1)).first()


def list_lines(
    session: Session,
    clinic_id: int,
    *,
    since: datetime,
    before: datetime,
    therapist_id: int | None = None,
    include_cancelled: bool = True,
    limit: int = 500,
) -> list[AppointmentLine]:
    """Appointments starting in [since, before), by start, with patient and therapist names,
    in one query (patients entered in error are left out)."""
    therapist = aliased(User)
    query = (
        select(
            Appointment,
            Patient.external_id,
            Patient.given_name,
            Patient.family_name,
            Patient.record_number,
            Patient.birth_date,
            therapist.external_id,
            therapist.display_name,
            Episode.external_id,
            Visit.external_id,
        )
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(therapist, therapist.id == Appointment.therapist_id)
        .outerjoin(Episode, Episode.id == Appointment.episode_id)
        .outerjoin(Visit, Visit.id == Appointment.visit_id)
        .where(
            Appointment.clinic_id == clinic_id,
            Appointment.starts_at >= since,
            Appointment.starts_at < before,
            Patient.entered_in_error_at.is_(None),
        )
    )
    if therapist_id is not None:
        query = query.where(Appointment.therapist_id == therapist_id)
    if not include_cancelled:
        query = query.where(Appointment.status != "cancelled")
    rows = session.execute(query.order_by(Appointment.starts_at, Appointment.id).limit(limit))
    return [
        _line(a, pid, given, family, number, born, tid, tname, eid, vid)
        for a, pid, given, family, number, born, tid, tname, eid, vid in rows
    ]


def _line(
    a: Appointment,
    patient_id: uuid.UUID,
    given: str,
    family: str,
    record_number: str,
    born: object,
    therapist_id: uuid.UUID,
    therapist_name: str,
    episode_id: uuid.UUID | None,
    visit_id: uuid.UUID | None,
) -> AppointmentLine:
    return AppointmentLine(
        appointment_id=a.external_id,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        status=a.status,
        note=a.note,
        series_id=a.series_id,
        version=a.version,
        patient_id=patient_id,
        patient_name=f"{given} {family}",
        record_number=record_number,
        birth_date_iso=str(born),
        therapist_id=therapist_id,
        therapist_name=therapist_name,
        episode_id=episode_id,
        visit_id=visit_id,
    )


def list_therapists(session: Session, clinic_id: int) -> Sequence[User]:
    """The clinic's active therapists (whose time can be booked), by name."""
    query = select(User).where(
        User.clinic_id == clinic_id, User.role == "therapist", User.active.is_(True)
    )
    return session.scalars(query.order_by(User.display_name, User.id)).all()


def list_active_episodes(session: Session, clinic_id: int, patient_id: int) -> Sequence[Episode]:
    """A patient's active episodes (a visit started from an appointment opens in one)."""
    query = select(Episode).where(
        Episode.clinic_id == clinic_id,
        Episode.patient_id == patient_id,
        Episode.status == "active",
        Episode.entered_in_error_at.is_(None),
    )
    return session.scalars(query.order_by(Episode.id)).all()


def find_patients_by_record_numbers(
    session: Session, clinic_id: int, numbers: Sequence[str]
) -> dict[str, Patient]:
    """The clinic's patients (not entered in error) with these record numbers, by number."""
    if not numbers:
        return {}
    query = select(Patient).where(
        Patient.clinic_id == clinic_id,
        Patient.record_number.in_(sorted(set(numbers))),
        Patient.entered_in_error_at.is_(None),
    )
    return {p.record_number: p for p in session.scalars(query)}
