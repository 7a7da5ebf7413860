"""Visits and everything recorded in them: treated areas, findings, readings, after-care."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from strigil.store.base import Base, EnteredInErrorMixin, IdMixin, TenantMixin, VersionedMixin
from strigil.store.episodes import Episode
from strigil.store.patients import Patient

VISIT_STATUSES = ("in_progress", "signed")


class Visit(IdMixin, TenantMixin, VersionedMixin, EnteredInErrorMixin, Base):
    """One clinical encounter (FHIR Encounter); its SOAP note locks when signed."""

    __tablename__ = "visit"
    __table_args__ = (CheckConstraint("tolerance_limit BETWEEN 1 AND 10", name="tolerance_range"),)

    episode_id: Mapped[int] = mapped_column(ForeignKey("episode.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(20), default="in_progress")
    phase: Mapped[str] = mapped_column(String(30), default="pre_test")
    tolerance_limit: Mapped[int] = mapped_column(Integer, default=6)
    reliability_check: Mapped[bool] = mapped_column(Boolean, default=False)
    techniques: Mapped[list[str]] = mapped_column(JSON, default=list)
    pre_test: Mapped[str] = mapped_column(Text, default="")
    post_test: Mapped[str] = mapped_column(Text, default="")
    subjective: Mapped[str] = mapped_column(Text, default="")
    objective: Mapped[str] = mapped_column(Text, default="")
    assessment: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[str] = mapped_column(Text, default="")
    signed_at: Mapped[datetime | None] = mapped_column(default=None)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)

    episode: Mapped[Episode] = relationship(lazy="joined")


class NoteAddendum(IdMixin, TenantMixin, Base):
    """A dated change to a signed note; the signed text itself never changes."""

    __tablename__ = "note_addendum"

    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    text: Mapped[str] = mapped_column(Text)


class TreatedArea(IdMixin, TenantMixin, VersionedMixin, EnteredInErrorMixin, Base):
    """One body site treated in a visit: dose, strokes, and why treatment stopped."""

    __tablename__ = "treated_area"

    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    body_site: Mapped[str] = mapped_column(String(40), index=True)
    body_region: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(20))
    instrument_type: Mapped[str] = mapped_column(String(64))
    instrument_id: Mapped[int | None] = mapped_column(ForeignKey("instrument.id"), default=None)
    strokes: Mapped[list[str]] = mapped_column(JSON, default=list)
    angle_deg: Mapped[int | None] = mapped_column(Integer, default=None)
    intensity: Mapped[str] = mapped_column(String(20))
    seconds: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="active")
    stop_reason: Mapped[str | None] = mapped_column(String(30), default=None)
    stop_note: Mapped[str | None] = mapped_column(Text, default=None)
    stopped_at: Mapped[datetime | None] = mapped_column(default=None)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)


class RestrictionFinding(IdMixin, TenantMixin, EnteredInErrorMixin, Base):
    """A restriction felt under the tool, placed on the body chart."""

    __tablename__ = "restriction_finding"
    __table_args__ = (
        CheckConstraint("severity BETWEEN 1 AND 3", name="severity_range"),
        CheckConstraint("x >= 0 AND x <= 1 AND y >= 0 AND y <= 1", name="chart_position"),
    )

    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    treated_area_id: Mapped[int | None] = mapped_column(
        ForeignKey("treated_area.id"), index=True, default=None
    )
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    chart_view: Mapped[str] = mapped_column(String(10))
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    body_site: Mapped[str] = mapped_column(String(40))
    texture: Mapped[str] = mapped_column(String(20))
    severity: Mapped[int] = mapped_column(Integer)


class DiscomfortReading(IdMixin, TenantMixin, Base):
    """The patient's discomfort 0–10 during treatment of an area."""

    __tablename__ = "discomfort_reading"
    __table_args__ = (CheckConstraint("value BETWEEN 0 AND 10", name="value_range"),)

    treated_area_id: Mapped[int] = mapped_column(ForeignKey("treated_area.id"), index=True)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    value: Mapped[int] = mapped_column(Integer)
    patient_asked_to_stop: Mapped[bool] = mapped_column(Boolean, default=False)


class SkinResponse(IdMixin, TenantMixin, EnteredInErrorMixin, Base):
    """The graded skin response of a treated area; bruising is followed until resolved."""

    __tablename__ = "skin_response"

    treated_area_id: Mapped[int] = mapped_column(ForeignKey("treated_area.id"), index=True)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    grade: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)


class ExercisePrescription(IdMixin, TenantMixin, EnteredInErrorMixin, Base):
    """After-care from the exercise library, with its dose."""

    __tablename__ = "exercise_prescription"

    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    exercise_code: Mapped[str] = mapped_column(String(64))
    sets: Mapped[int] = mapped_column(Integer)
    repetitions: Mapped[int | None] = mapped_column(Integer, default=None)
    hold_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    frequency: Mapped[str] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# ------------------------------------------------------------------ clinic-wide lists
# Each list is one query over the whole clinic (no query per patient or episode), so the
# dashboard and the analytics cost the same with ten patients or ten thousand.

VisitSummary = tuple[uuid.UUID, uuid.UUID, str, str, str, int, datetime, str, str]
"""(visit id, patient id, given name, family name, record number, visit number, started at,
status, condition title), public ids only."""

ActiveEpisode = tuple[int, uuid.UUID, str, str, uuid.UUID, str, str, int]
"""(episode row id, episode id, primary measure, condition title, patient id, given name,
family name, visits)."""


def list_visit_summaries(
    session: Session,
    clinic_id: int,
    *,
    started_since: datetime | None = None,
    status: str | None = None,
    limit: int = 25,
) -> list[VisitSummary]:
    """The clinic's visits (neither they nor their patient entered in error), newest first,
    optionally only those started since a moment or with a status."""
    query = (
        select(
            Visit.external_id,
            Patient.external_id,
            Patient.given_name,
            Patient.family_name,
            Patient.record_number,
            Visit.number,
            Visit.started_at,
            Visit.status,
            Episode.condition_title,
        )
        .join(Patient, Patient.id == Visit.patient_id)
        .join(Episode, Episode.id == Visit.episode_id)
        .where(
            Visit.clinic_id == clinic_id,
            Visit.entered_in_error_at.is_(None),
            Patient.entered_in_error_at.is_(None),
        )
    )
    if started_since is not None:
        query = query.where(Visit.started_at >= started_since)
    if status is not None:
        query = query.where(Visit.status == status)
    rows = session.execute(query.order_by(Visit.started_at.desc()).limit(limit))
    return [tuple(r) for r in rows]  # type: ignore[misc]


def list_recently_seen_patients(
    session: Session, clinic_id: int, *, limit: int = 10
) -> list[tuple[Patient, datetime | None]]:
    """The clinic's patients seen (or, never seen, registered) most recently, with the start
    of their last visit."""
    last = (
        select(Visit.patient_id, func.max(Visit.started_at).label("last"))
        .where(Visit.clinic_id == clinic_id, Visit.entered_in_error_at.is_(None))
        .group_by(Visit.patient_id)
        .subquery()
    )
    rows = session.execute(
        select(Patient, last.c.last)
        .outerjoin(last, last.c.patient_id == Patient.id)
        .where(Patient.clinic_id == clinic_id, Patient.entered_in_error_at.is_(None))
        .order_by(func.coalesce(last.c.last, Patient.created_at).desc(), Patient.id.desc())
        .limit(limit)
    ).all()
    return [(patient, seen) for patient, seen in rows]


def list_active_episodes(session: Session, clinic_id: int) -> list[ActiveEpisode]:
    """The clinic's active episodes that have visits, with their patient and visit count."""
    rows = session.execute(
        select(
            Episode.id,
            Episode.external_id,
            Episode.primary_measure,
            Episode.condition_title,
            Patient.external_id,
            Patient.given_name,
            Patient.family_name,
            func.count(Visit.id),
        )
        .join(Patient, Patient.id == Episode.patient_id)
        .join(Visit, Visit.episode_id == Episode.id)
        .where(
            Episode.clinic_id == clinic_id,
            Episode.status == "active",
            Episode.entered_in_error_at.is_(None),
            Visit.entered_in_error_at.is_(None),
        )
        .group_by(
            Episode.id,
            Episode.external_id,
            Episode.primary_measure,
            Episode.condition_title,
            Patient.external_id,
            Patient.given_name,
            Patient.family_name,
        )
        .order_by(Episode.id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def list_reliability_checks(session: Session, clinic_id: int) -> list[tuple[Visit, str]]:
    """The clinic's reliability-check visits with their episode's body region, oldest first."""
    rows = session.execute(
        select(Visit, Episode.body_region)
        .join(Episode, Episode.id == Visit.episode_id)
        .where(
            Visit.clinic_id == clinic_id,
            Visit.reliability_check.is_(True),
            Visit.entered_in_error_at.is_(None),
        )
        .order_by(Visit.started_at, Visit.id)
    ).all()
    return [(visit, region) for visit, region in rows]


def list_findings_of_visits(
    session: Session, clinic_id: int, visit_ids: Sequence[int]
) -> Sequence[RestrictionFinding]:
    """The restriction findings (not entered in error) recorded in these visits of the clinic."""
    if not visit_ids:
        return []
    return session.scalars(
        select(RestrictionFinding).where(
            RestrictionFinding.visit_id.in_(visit_ids),
            RestrictionFinding.clinic_id == clinic_id,
            RestrictionFinding.entered_in_error_at.is_(None),
        )
    ).all()
