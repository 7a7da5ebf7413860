"""Patients: synthetic in every test and demo; identified publicly by UUID only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from strigil.store.base import Base, EnteredInErrorMixin, IdMixin, TenantMixin, VersionedMixin


class Patient(IdMixin, TenantMixin, VersionedMixin, EnteredInErrorMixin, Base):
    """A person under the clinic's care."""

    __tablename__ = "patient"
    __table_args__ = (
        Index("ix_patient_clinic_family_name", "clinic_id", "family_name"),
        UniqueConstraint("clinic_id", "record_number", name="uq_patient_clinic_record_number"),
    )

    record_number: Mapped[str] = mapped_column(String(40))
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(40), default=None)
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


def find_patient(session: Session, clinic_id: int, patient_id: int) -> Patient | None:
    """The clinic's patient with this row id, if any (from the identity map when loaded)."""
    patient = session.get(Patient, patient_id)
    return patient if patient is not None and patient.clinic_id == clinic_id else None


def list_matching(
    session: Session, clinic_id: int, words: Sequence[str], *, limit: int, offset: int = 0
) -> Sequence[Patient]:
    """The clinic's patients (not entered in error) whose given name, family name or record
    number contains every word, case-insensitively, by family name then given name."""
    query = select(Patient).where(
        Patient.clinic_id == clinic_id, Patient.entered_in_error_at.is_(None)
    )
    for word in words:
        like = f"%{word.lower()}%"
        query = query.where(
            or_(
                func.lower(Patient.given_name).like(like),
                func.lower(Patient.family_name).like(like),
                func.lower(Patient.record_number).like(like),
            )
        )
    query = query.order_by(Patient.family_name, Patient.given_name, Patient.id)
    return session.scalars(query.limit(limit).offset(offset)).all()
