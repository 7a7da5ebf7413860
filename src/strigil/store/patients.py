"""Patients: synthetic in every test and demo; identified publicly by UUID only."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

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
