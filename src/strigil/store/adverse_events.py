"""Adverse events and their follow-up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache

from sqlalchemy import Boolean, ForeignKey, Select, String, Text, bindparam, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from strigil.store.base import Base, EnteredInErrorMixin, IdMixin, TenantMixin, VersionedMixin
from strigil.store.patients import Patient

CATEGORIES = ("bruise", "skin_injury", "neuro_symptoms", "flare_over_48h", "other")


class AdverseEvent(IdMixin, TenantMixin, VersionedMixin, EnteredInErrorMixin, Base):
    """Harm or an unexpected reaction, open until followed up and resolved."""

    __tablename__ = "adverse_event"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"), index=True)
    treated_area_id: Mapped[int | None] = mapped_column(ForeignKey("treated_area.id"))
    category: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    onset_at: Mapped[datetime]
    referral_made: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    follow_up: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))


def list_open_with_patients(
    session: Session, clinic_id: int, *, limit: int = 20
) -> list[tuple[AdverseEvent, Patient]]:
    """The clinic's unresolved adverse events (not entered in error) with their patient,
    oldest first."""
    rows = session.execute(
        select(AdverseEvent, Patient)
        .join(Patient, Patient.id == AdverseEvent.patient_id)
        .where(
            AdverseEvent.clinic_id == clinic_id,
            AdverseEvent.status == "open",
            AdverseEvent.entered_in_error_at.is_(None),
        )
        .order_by(AdverseEvent.onset_at)
        .limit(limit)
    ).all()
    return [(event, patient) for event, patient in rows]


def list_open(session: Session, clinic_id: int, *, limit: int) -> Sequence[AdverseEvent]:
    """The clinic's unresolved adverse events (not entered in error), oldest first."""
    return session.scalars(
        select(AdverseEvent)
        .where(
            AdverseEvent.clinic_id == clinic_id,
            AdverseEvent.status == "open",
            AdverseEvent.entered_in_error_at.is_(None),
        )
        .order_by(AdverseEvent.onset_at)
        .limit(limit)
    ).all()


def list_for_patient(session: Session, clinic_id: int, patient_id: int) -> Sequence[AdverseEvent]:
    """The patient's adverse events (not entered in error), newest first."""
    return session.scalars(
        select(AdverseEvent)
        .where(
            AdverseEvent.patient_id == patient_id,
            AdverseEvent.clinic_id == clinic_id,
            AdverseEvent.entered_in_error_at.is_(None),
        )
        .order_by(AdverseEvent.onset_at.desc())
    ).all()


def list_for_visit(session: Session, clinic_id: int, visit_id: int) -> Sequence[AdverseEvent]:
    """The adverse events (not entered in error) tied to a visit, in the order recorded."""
    return session.scalars(_of_visit_query(), {"visit": visit_id, "clinic": clinic_id}).all()


@cache
def _of_visit_query() -> Select[AdverseEvent]:
    """Built once: every visit page runs it (see ``records._owned``)."""
    return (
        select(AdverseEvent)
        .where(
            AdverseEvent.visit_id == bindparam("visit"),
            AdverseEvent.clinic_id == bindparam("clinic"),
            AdverseEvent.entered_in_error_at.is_(None),
        )
        .order_by(AdverseEvent.id)
    )
