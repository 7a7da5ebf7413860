"""Measured and intended IASTM dose per treated area (instrumented tool recordings).

A recording row holds the figures of issue 15 and the digest of the raw file kept under the
data folder, so the figures can always be recomputed and the file checked against the row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from strigil.store.base import Base, EnteredInErrorMixin, IdMixin, TenantMixin, utcnow
from strigil.store.visits import TreatedArea

SOURCES = ("file", "stream")
# Why a recording was made: a light exploring pass finds the restriction, the treating pass is
# the dose; only the treating phase is held against the area's intended dose.
PHASES = ("exploring", "treating")


class SensorRecording(IdMixin, TenantMixin, EnteredInErrorMixin, Base):
    """One recording's dose, attached to the treated area it was measured on."""

    __tablename__ = "sensor_recording"

    treated_area_id: Mapped[int] = mapped_column(ForeignKey("treated_area.id"), index=True)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    source: Mapped[str] = mapped_column(String(10))
    phase: Mapped[str] = mapped_column(String(10), default="treating", server_default="treating")
    file_name: Mapped[str] = mapped_column(String(200))
    file_digest: Mapped[str] = mapped_column(String(64))
    stored_path: Mapped[str] = mapped_column(String(300))  # relative to the data folder
    samples: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float)
    tool: Mapped[str | None] = mapped_column(String(200), default=None)
    threshold_n: Mapped[float] = mapped_column(Float)
    strokes: Mapped[int] = mapped_column(Integer)
    stroke_rate_hz: Mapped[float] = mapped_column(Float)
    time_under_load_s: Mapped[float] = mapped_column(Float)
    mean_force_n: Mapped[float | None] = mapped_column(Float, default=None)
    peak_force_n: Mapped[float | None] = mapped_column(Float, default=None)
    impulse_ns: Mapped[float] = mapped_column(Float)
    mean_angle_deg: Mapped[float | None] = mapped_column(Float, default=None)
    stroke_list: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    force_cap_n: Mapped[float | None] = mapped_column(Float, default=None)
    cap_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    cap_exceeded: Mapped[bool] = mapped_column(Boolean, default=False)


class IntendedDose(IdMixin, TenantMixin, Base):
    """What the therapist intends for an area: a force range and/or a stroke count or time."""

    __tablename__ = "intended_dose"

    treated_area_id: Mapped[int] = mapped_column(ForeignKey("treated_area.id"), unique=True)
    set_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    force_min_n: Mapped[float | None] = mapped_column(Float, default=None)
    force_max_n: Mapped[float | None] = mapped_column(Float, default=None)
    strokes: Mapped[int | None] = mapped_column(Integer, default=None)
    time_under_load_s: Mapped[float | None] = mapped_column(Float, default=None)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def recordings_for_areas(
    session: Session, clinic_id: int, area_ids: Sequence[int]
) -> Sequence[SensorRecording]:
    """The areas' recordings not entered in error, oldest first (one query for a visit)."""
    if not area_ids:
        return []
    return session.scalars(
        select(SensorRecording)
        .where(
            SensorRecording.clinic_id == clinic_id,
            SensorRecording.treated_area_id.in_(area_ids),
            SensorRecording.entered_in_error_at.is_(None),
        )
        .order_by(SensorRecording.created_at, SensorRecording.id)
    ).all()


def intended_for_areas(
    session: Session, clinic_id: int, area_ids: Sequence[int]
) -> dict[int, IntendedDose]:
    """Each area's intended dose, by area row id."""
    if not area_ids:
        return {}
    rows = session.scalars(
        select(IntendedDose).where(
            IntendedDose.clinic_id == clinic_id, IntendedDose.treated_area_id.in_(area_ids)
        )
    ).all()
    return {row.treated_area_id: row for row in rows}


def force_rows(
    session: Session, clinic_id: int, recorded_by_id: int | None = None
) -> list[tuple[int, str, float, float]]:
    """(recorder, body region, mean force, peak force) of every treating recording with
    strokes (an exploring pass is light on purpose), left out when the recording or its area
    was entered in error; one user's when given."""
    query = (
        select(
            SensorRecording.recorded_by_id,
            TreatedArea.body_region,
            SensorRecording.mean_force_n,
            SensorRecording.peak_force_n,
        )
        .join(TreatedArea, TreatedArea.id == SensorRecording.treated_area_id)
        .where(
            SensorRecording.clinic_id == clinic_id,
            SensorRecording.entered_in_error_at.is_(None),
            TreatedArea.entered_in_error_at.is_(None),
            SensorRecording.strokes > 0,
            SensorRecording.phase == "treating",
        )
        .order_by(SensorRecording.recorded_by_id, TreatedArea.body_region, SensorRecording.id)
    )
    if recorded_by_id is not None:
        query = query.where(SensorRecording.recorded_by_id == recorded_by_id)
    rows = session.execute(query).all()
    return [(u, r, m, p) for u, r, m, p in rows if m is not None and p is not None]
