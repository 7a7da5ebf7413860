"""Adverse events and their follow-up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from strigil.store.base import Base, EnteredInErrorMixin, IdMixin, TenantMixin, VersionedMixin

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
