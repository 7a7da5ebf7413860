"""Visits and everything recorded in them: treated areas, findings, readings, after-care."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Text,
    and_,
    bindparam,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from strigil.errors import NotFound
from strigil.store.base import Base, EnteredInErrorMixin, IdMixin, TenantMixin, VersionedMixin
from strigil.store.clinics import Clinic
from strigil.store.episodes import Episode
from strigil.store.patients import Patient

VISIT_STATUSES = ("in_progress", "signed")


class Visit(IdMixin, TenantMixin, VersionedMixin, EnteredInErrorMixin, Base):
    """One clinical encounter (FHIR Encounter); its SOAP note locks when signed."""

    __tablename__ = "visit"
    __table_args__ = (
        CheckConstraint("tolerance_limit BETWEEN 1 AND 10", name="tolerance_range"),
        # the dashboard's lists: the clinic's visits newest first, all or of one status
        Index("ix_visit_clinic_started", "clinic_id", "started_at"),
        Index("ix_visit_clinic_status_started", "clinic_id", "status", "started_at"),
        # a page of a long chart, newest first, reads only the rows it shows
        Index("ix_visit_patient_started", "patient_id", "started_at", "id"),
    )

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
    # The signer as they were at signing (names and credentials may change later).
    signer_name: Mapped[str | None] = mapped_column(String(200), default=None)
    signer_credentials: Mapped[str | None] = mapped_column(String(40), default=None)
    signer_licence: Mapped[str | None] = mapped_column(String(40), default=None)
    signer_role: Mapped[str | None] = mapped_column(String(20), default=None)
    note_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    cosign_required: Mapped[bool] = mapped_column(Boolean, default=False)
    cosigned_at: Mapped[datetime | None] = mapped_column(default=None)
    cosigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    cosigner_name: Mapped[str | None] = mapped_column(String(200), default=None)
    cosigner_credentials: Mapped[str | None] = mapped_column(String(40), default=None)

    episode: Mapped[Episode] = relationship(lazy="joined")


class NoteAddendum(IdMixin, TenantMixin, Base):
    """A dated change to a signed note; the signed text itself never changes."""

    __tablename__ = "note_addendum"

    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    author_credentials: Mapped[str] = mapped_column(String(40), default="")
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
    # The time the therapist planned (copied from the last visit or a template): a target shown
    # beside the timer, never billed or written in the note as time spent.
    planned_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    status: Mapped[str] = mapped_column(String(20), default="active")
    stop_reason: Mapped[str | None] = mapped_column(String(30), default=None)
    stop_note: Mapped[str | None] = mapped_column(Text, default=None)
    stopped_at: Mapped[datetime | None] = mapped_column(default=None)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    other_side_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)


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
    side: Mapped[str | None] = mapped_column(String(20), default=None)
    texture: Mapped[str] = mapped_column(String(20))
    severity: Mapped[int] = mapped_column(Integer)


class DiscomfortReading(IdMixin, TenantMixin, EnteredInErrorMixin, Base):
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


MEASUREMENT_KINDS = ("rom", "ppt", "provocation", "other")


class VisitMeasurement(IdMixin, TenantMixin, EnteredInErrorMixin, Base):
    """A pre/post test of the visit: what was measured, before and after treatment."""

    __tablename__ = "visit_measurement"

    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120))
    joint: Mapped[str | None] = mapped_column(String(40), default=None)
    motion: Mapped[str | None] = mapped_column(String(40), default=None)
    side: Mapped[str | None] = mapped_column(String(20), default=None)
    unit: Mapped[str] = mapped_column(String(20))
    higher_is_better: Mapped[bool | None] = mapped_column(Boolean, default=None)
    pre_value: Mapped[float | None] = mapped_column(Float, default=None)
    post_value: Mapped[float | None] = mapped_column(Float, default=None)


class BillingLine(IdMixin, TenantMixin, EnteredInErrorMixin, Base):
    """Time on a billing code at this visit; ``seconds`` is None for an untimed code."""

    __tablename__ = "billing_line"
    __table_args__ = (CheckConstraint("seconds IS NULL OR seconds >= 0", name="seconds"),)

    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    code: Mapped[str] = mapped_column(String(10))
    seconds: Mapped[int | None] = mapped_column(Integer, default=None)


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
    session: Session, clinic_id: int, *, limit: int = 10, window: int = 200
) -> list[tuple[Patient, datetime | None]]:
    """The clinic's patients seen (or, never seen, registered) most recently, with the start
    of their last visit.

    The clinic's latest ``window`` visits (newest first, by index) usually name enough
    people; with the latest registrations they are every candidate, so the whole visit table
    is grouped only when they do not.
    """
    recent = session.execute(
        select(Visit.patient_id, Visit.started_at)
        .where(Visit.clinic_id == clinic_id, Visit.entered_in_error_at.is_(None))
        .order_by(Visit.started_at.desc())
        .limit(window)
    ).all()
    seen: dict[int, datetime] = {}
    for patient_id, started in recent:
        seen.setdefault(patient_id, started)
    if len(seen) < limit and len(recent) == window:
        return _recently_seen_everyone(session, clinic_id, limit)
    newest = session.scalars(
        select(Patient)
        .where(Patient.clinic_id == clinic_id, Patient.entered_in_error_at.is_(None))
        .order_by(Patient.created_at.desc(), Patient.id.desc())
        .limit(limit)
    ).all()
    people = {p.id: p for p in newest}
    missing = [pid for pid in seen if pid not in people]
    if missing:
        people |= {
            p.id: p
            for p in session.scalars(
                select(Patient).where(
                    Patient.id.in_(missing),
                    Patient.clinic_id == clinic_id,
                    Patient.entered_in_error_at.is_(None),
                )
            )
        }
    unseen = [p.id for p in newest if p.id not in seen]  # registered since the window's visits
    seen |= _last_visits(session, clinic_id, unseen) if unseen else {}
    ranked = sorted(
        people.values(),
        key=lambda p: (seen.get(p.id) or p.created_at, p.id),
        reverse=True,
    )
    return [(p, seen.get(p.id)) for p in ranked[:limit]]


def _last_visits(session: Session, clinic_id: int, patient_ids: list[int]) -> dict[int, datetime]:
    rows = session.execute(
        select(Visit.patient_id, func.max(Visit.started_at))
        .where(
            Visit.clinic_id == clinic_id,
            Visit.patient_id.in_(patient_ids),
            Visit.entered_in_error_at.is_(None),
        )
        .group_by(Visit.patient_id)
    )
    return {patient_id: last for patient_id, last in rows if last is not None}


def _recently_seen_everyone(
    session: Session, clinic_id: int, limit: int
) -> list[tuple[Patient, datetime | None]]:
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


def list_active_episodes_plain(
    session: Session, clinic_id: int, *, after_id: int = 0, limit: int | None = None
) -> list[ActiveEpisode]:
    """The clinic's active episodes with their patient, in episode order from ``after_id``,
    visits not counted (0): the dashboard reads them a page at a time (by the partial index
    ``ix_episode_clinic_active``) and stops once it has flagged enough, so a clinic with tens
    of thousands of open episodes costs it a page or two, not all of them."""
    query = (
        select(
            Episode.id,
            Episode.external_id,
            Episode.primary_measure,
            Episode.condition_title,
            Patient.external_id,
            Patient.given_name,
            Patient.family_name,
        )
        .join(Patient, Patient.id == Episode.patient_id)
        .where(
            Episode.clinic_id == clinic_id,
            Episode.status == "active",
            Episode.entered_in_error_at.is_(None),
            Episode.id > after_id,
        )
        .order_by(Episode.id)
    )
    rows = session.execute(query if limit is None else query.limit(limit))
    return [(*r, 0) for r in rows]


def list_visit_starts(
    session: Session, clinic_id: int, episode_ids: Sequence[int]
) -> dict[int, list[datetime]]:
    """Episode id → when each of its visits (not entered in error) started."""
    out: dict[int, list[datetime]] = {}
    for episode_id, started in session.execute(
        select(Visit.episode_id, Visit.started_at).where(
            Visit.episode_id.in_(episode_ids),
            Visit.clinic_id == clinic_id,
            Visit.entered_in_error_at.is_(None),
        )
    ):
        out.setdefault(episode_id, []).append(started)
    return out


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


# ------------------------------------------------------------------ one visit and its record
# Callers have loaded the visit through the clinic's ownership check; the clinic filter here
# still holds each query to that clinic, so a wrong id can never reach another clinic's rows.


def get_visit(session: Session, clinic_id: int, visit_id: int) -> Visit:
    """The clinic's visit with this row id (from the identity map when loaded).

    Raises:
        NotFound: no such visit in the clinic.
    """
    visit = session.get(Visit, visit_id)
    if visit is None or visit.clinic_id != clinic_id:
        raise NotFound("no such visit", field="visit_id", code="visit_not_found")
    return visit


def get_area(session: Session, clinic_id: int, area_id: int) -> TreatedArea:
    """The clinic's treated area with this row id (from the identity map when loaded).

    Raises:
        NotFound: no such area in the clinic.
    """
    area = session.get(TreatedArea, area_id)
    if area is None or area.clinic_id != clinic_id:
        raise NotFound("no such treated area", field="treated_area_id", code="area_not_found")
    return area


def find_visit_in_any_clinic(session: Session, external_id: uuid.UUID) -> Visit | None:
    """The visit with this public id in whichever clinic holds it (the operator's commands run
    across clinics; clinic users go through ``records.find_owned``)."""
    return session.scalar(select(Visit).where(Visit.external_id == external_id))


def count_visits(session: Session, clinic_id: int, episode_id: int) -> int:
    """The episode's visits, not counting those entered in error."""
    count = session.scalar(
        select(func.count(Visit.id)).where(
            Visit.episode_id == episode_id,
            Visit.clinic_id == clinic_id,
            Visit.entered_in_error_at.is_(None),
        )
    )
    return int(count or 0)


def list_visits_of_episode(
    session: Session, clinic_id: int, episode_id: int, *, limit: int, offset: int = 0
) -> Sequence[Visit]:
    """A page of the episode's visits (not entered in error), newest first."""
    return session.scalars(
        select(Visit)
        .where(
            Visit.episode_id == episode_id,
            Visit.clinic_id == clinic_id,
            Visit.entered_in_error_at.is_(None),
        )
        .order_by(Visit.number.desc())
        .limit(limit)
        .offset(offset)
    ).all()


def find_previous_visit(
    session: Session, clinic_id: int, episode_id: int, before_number: int
) -> Visit | None:
    """The episode's last visit numbered below ``before_number`` (not entered in error)."""
    return session.scalar(
        select(Visit)
        .where(
            Visit.episode_id == episode_id,
            Visit.clinic_id == clinic_id,
            Visit.number < before_number,
            Visit.entered_in_error_at.is_(None),
        )
        .order_by(Visit.number.desc())
        .limit(1)
    )


def list_visits_of_patient(
    session: Session, clinic_id: int, patient_id: int, *, limit: int, offset: int = 0
) -> Sequence[Visit]:
    """A page of the patient's visits across episodes (not entered in error), newest first."""
    return session.scalars(
        select(Visit)
        .where(
            Visit.patient_id == patient_id,
            Visit.clinic_id == clinic_id,
            Visit.entered_in_error_at.is_(None),
        )
        .order_by(Visit.started_at.desc(), Visit.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()


def list_visits_started_between(
    session: Session, clinic_id: int, start: datetime, end: datetime
) -> Sequence[Visit]:
    """The clinic's visits (not entered in error) started in ``[start, end)``, in order."""
    return session.scalars(
        select(Visit)
        .where(
            Visit.clinic_id == clinic_id,
            Visit.entered_in_error_at.is_(None),
            Visit.started_at >= start,
            Visit.started_at < end,
        )
        .order_by(Visit.started_at, Visit.id)
    ).all()


def visit_numbers(session: Session, clinic_id: int, episode_id: int) -> dict[int, int]:
    """Visit row id → visit number for the episode's visits (not entered in error)."""
    rows = session.execute(
        select(Visit.id, Visit.number).where(
            Visit.episode_id == episode_id,
            Visit.clinic_id == clinic_id,
            Visit.entered_in_error_at.is_(None),
        )
    )
    return {int(visit_id): int(number) for visit_id, number in rows}


def list_signed_visits(session: Session, *, clinic_name: str | None = None) -> Sequence[Visit]:
    """Every signed visit of every clinic, or of the clinic called ``clinic_name``, in row
    order (the operator's note check spans clinics)."""
    query = select(Visit).where(Visit.status == "signed").order_by(Visit.id)
    if clinic_name is not None:
        query = query.join(Clinic, Clinic.id == Visit.clinic_id).where(Clinic.name == clinic_name)
    return session.scalars(query).all()


def list_unsealed_visits(
    session: Session, *, after_id: int = 0, limit: int | None = None
) -> Sequence[Visit]:
    """Signed visits of every clinic that carry no digest yet (bulk-written or older notes),
    in id order from ``after_id``: a page at a time, so sealing a million generated notes
    holds one page in memory, not all of them."""
    query = (
        select(Visit)
        .where(Visit.status == "signed", Visit.note_digest.is_(None), Visit.id > after_id)
        .order_by(Visit.id)
    )
    return session.scalars(query if limit is None else query.limit(limit)).all()


def billing_lines_by_visit(
    session: Session, visit_ids: Sequence[int]
) -> dict[int, list[BillingLine]]:
    """Live billing lines of many visits in one query (in the order recorded), by visit id;
    the ids are internal ones already read from a clinic-checked list."""
    out: dict[int, list[BillingLine]] = {v: [] for v in visit_ids}
    if not visit_ids:
        return out
    rows = session.scalars(
        select(BillingLine)
        .where(BillingLine.visit_id.in_(visit_ids), BillingLine.entered_in_error_at.is_(None))
        .order_by(BillingLine.id)
    )
    for line in rows:
        out[line.visit_id].append(line)
    return out


def list_addenda(session: Session, clinic_id: int, visit_id: int) -> Sequence[NoteAddendum]:
    """The visit's addenda, oldest first."""
    return session.scalars(
        select(NoteAddendum)
        .where(NoteAddendum.visit_id == visit_id, NoteAddendum.clinic_id == clinic_id)
        .order_by(NoteAddendum.created_at)
    ).all()


_Live = TypeVar("_Live", TreatedArea, RestrictionFinding, ExercisePrescription, VisitMeasurement,
                 BillingLine)  # fmt: skip


def _live_of_visit(
    session: Session, model: type[_Live], clinic_id: int, visit_id: int
) -> Sequence[_Live]:
    """A visit's rows of one kind (not entered in error) in the order they were recorded: the
    shape every per-visit list of the visit record shares."""
    return session.scalars(
        _live_of_visit_query(model), {"visit": visit_id, "clinic": clinic_id}
    ).all()


@cache
def _live_of_visit_query(model: type[_Live]) -> Select[_Live]:
    """Built once per model (see ``records._owned``)."""
    return (
        select(model)
        .where(
            model.visit_id == bindparam("visit"),
            model.clinic_id == bindparam("clinic"),
            model.entered_in_error_at.is_(None),
        )
        .order_by(model.id)
    )


def list_areas(session: Session, clinic_id: int, visit_id: int) -> Sequence[TreatedArea]:
    """The visit's treated areas (not entered in error), in the order started."""
    return _live_of_visit(session, TreatedArea, clinic_id, visit_id)


def count_areas(
    session: Session, clinic_id: int, visit_id: int, *, status: str | None = None
) -> int:
    """The visit's treated areas (not entered in error), optionally only those in ``status``."""
    query = select(func.count(TreatedArea.id)).where(
        TreatedArea.visit_id == visit_id,
        TreatedArea.clinic_id == clinic_id,
        TreatedArea.entered_in_error_at.is_(None),
    )
    if status is not None:
        query = query.where(TreatedArea.status == status)
    return int(session.scalar(query) or 0)


AreaEnding = tuple[str, str, str | None, str | None]
"""(body site, side, stop reason, skin grade) of a treated area."""


def list_area_endings(session: Session, clinic_id: int, visit_id: int) -> list[AreaEnding]:
    """How each of the visit's areas (not entered in error) ended: its stop reason and its
    valid skin response, one row per area and response."""
    rows = session.execute(_area_endings_query(), {"visit": visit_id, "clinic": clinic_id})
    return [(site, side, reason, grade) for site, side, reason, grade in rows]


@cache
def _area_endings_query() -> Select[str, str, str | None, str | None]:
    return (
        select(TreatedArea.body_site, TreatedArea.side, TreatedArea.stop_reason, SkinResponse.grade)
        .outerjoin(
            SkinResponse,
            and_(
                SkinResponse.treated_area_id == TreatedArea.id,
                SkinResponse.entered_in_error_at.is_(None),
            ),
        )
        .where(
            TreatedArea.visit_id == bindparam("visit"),
            TreatedArea.clinic_id == bindparam("clinic"),
            TreatedArea.entered_in_error_at.is_(None),
        )
    )


def _same_site(clinic_id: int, patient_id: int, site: str, sides: Sequence[str]) -> Any:
    return and_(
        TreatedArea.body_site == site,
        TreatedArea.side.in_(sides),
        TreatedArea.clinic_id == clinic_id,
        TreatedArea.entered_in_error_at.is_(None),
        Visit.patient_id == patient_id,
    )


def last_treated_at(
    session: Session, clinic_id: int, patient_id: int, site: str, sides: Sequence[str]
) -> datetime | None:
    """When an area of the patient at ``site`` on one of ``sides`` was last started."""
    return session.scalar(
        select(func.max(TreatedArea.created_at))
        .join(Visit, Visit.id == TreatedArea.visit_id)
        .where(_same_site(clinic_id, patient_id, site, sides))
    )


def has_unresolved_bruise(
    session: Session, clinic_id: int, patient_id: int, site: str, sides: Sequence[str]
) -> bool:
    """Whether a bruise (ecchymosis) over the patient's ``site`` on one of ``sides`` is not
    yet resolved."""
    count = session.scalar(
        select(func.count(SkinResponse.id))
        .join(TreatedArea, TreatedArea.id == SkinResponse.treated_area_id)
        .join(Visit, Visit.id == TreatedArea.visit_id)
        .where(
            _same_site(clinic_id, patient_id, site, sides),
            SkinResponse.grade == "ecchymosis",
            SkinResponse.resolved_at.is_(None),
            SkinResponse.entered_in_error_at.is_(None),
        )
    )
    return bool(count)


def list_readings(
    session: Session, clinic_id: int, area_ids: Sequence[int]
) -> dict[int, list[DiscomfortReading]]:
    """Area id → its discomfort readings (not entered in error) in the order taken; one query
    for all the areas, and every area asked about has an entry."""
    out: dict[int, list[DiscomfortReading]] = {i: [] for i in area_ids}
    for row in session.scalars(_of_areas_query(DiscomfortReading), _of_areas(clinic_id, area_ids)):
        out[row.treated_area_id].append(row)
    return out


_OfArea = TypeVar("_OfArea", DiscomfortReading, SkinResponse)


def _of_areas(clinic_id: int, area_ids: Sequence[int]) -> dict[str, Any]:
    return {"areas": list(area_ids), "clinic": clinic_id}


@cache
def _of_areas_query(model: type[_OfArea]) -> Select[_OfArea]:
    """A kind of row (not entered in error) of some areas, in the order recorded; built once."""
    return (
        select(model)
        .where(
            model.treated_area_id.in_(bindparam("areas", expanding=True)),
            model.clinic_id == bindparam("clinic"),
            model.entered_in_error_at.is_(None),
        )
        .order_by(model.id)
    )


def list_skin_responses(
    session: Session, clinic_id: int, area_ids: Sequence[int]
) -> dict[int, SkinResponse]:
    """Area id → its latest skin response (not entered in error), for the areas that have one."""
    out: dict[int, SkinResponse] = {}
    for row in session.scalars(_of_areas_query(SkinResponse), _of_areas(clinic_id, area_ids)):
        out[row.treated_area_id] = row
    return out


def list_findings(session: Session, clinic_id: int, visit_id: int) -> Sequence[RestrictionFinding]:
    """The visit's restriction findings (not entered in error), in the order placed."""
    return _live_of_visit(session, RestrictionFinding, clinic_id, visit_id)


def list_previous_findings(
    session: Session, clinic_id: int, episode_id: int, before_number: int
) -> Sequence[RestrictionFinding]:
    """The findings of the episode's last visit numbered below ``before_number`` (one query)."""
    values = {"episode": episode_id, "clinic": clinic_id, "number": before_number}
    return session.scalars(_previous_findings_query(), values).all()


@cache
def _previous_findings_query() -> Select[RestrictionFinding]:
    previous = (
        select(Visit.id)
        .where(
            Visit.episode_id == bindparam("episode"),
            Visit.clinic_id == bindparam("clinic"),
            Visit.number < bindparam("number"),
            Visit.entered_in_error_at.is_(None),
        )
        .order_by(Visit.number.desc())
        .limit(1)
        .scalar_subquery()
    )
    return select(RestrictionFinding).where(
        RestrictionFinding.visit_id == previous,
        RestrictionFinding.clinic_id == bindparam("clinic"),
        RestrictionFinding.entered_in_error_at.is_(None),
    )


def list_prescriptions(
    session: Session, clinic_id: int, visit_id: int
) -> Sequence[ExercisePrescription]:
    """The visit's exercise prescriptions (not entered in error), in the order prescribed."""
    return _live_of_visit(session, ExercisePrescription, clinic_id, visit_id)


def list_measurements(
    session: Session, clinic_id: int, visit_id: int
) -> Sequence[VisitMeasurement]:
    """The visit's pre/post tests (not entered in error), in the order recorded."""
    return _live_of_visit(session, VisitMeasurement, clinic_id, visit_id)


def list_billing_lines(session: Session, clinic_id: int, visit_id: int) -> Sequence[BillingLine]:
    """The visit's billing lines (not entered in error), in the order recorded."""
    return _live_of_visit(session, BillingLine, clinic_id, visit_id)


def list_readings_of_area(
    session: Session, clinic_id: int, area_id: int
) -> Sequence[DiscomfortReading]:
    """One area's discomfort readings (not entered in error), in the order taken."""
    return list_readings(session, clinic_id, [area_id])[area_id]
