"""Outcome measurements: raw answers kept beside the score and the registry version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from strigil.store.base import Base, EnteredInErrorMixin, IdMixin, TenantMixin


class OutcomeMeasurement(IdMixin, TenantMixin, EnteredInErrorMixin, Base):
    """One administration of a measure, at a visit or on its own."""

    __tablename__ = "outcome_measurement"
    __table_args__ = (Index("ix_outcome_episode_measure", "episode_id", "measure", "measured_at"),)

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episode.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"), index=True, default=None)
    measure: Mapped[str] = mapped_column(String(20))
    registry_version: Mapped[str] = mapped_column(String(20))
    measured_at: Mapped[datetime]
    answers: Mapped[list[Any]] = mapped_column(JSON)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    score: Mapped[float] = mapped_column(Float)
    subscores: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
