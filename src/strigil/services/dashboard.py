"""The dashboard: today's visits, recent patients, and what needs the therapist's attention.

Every list is one query over the whole clinic (no query per patient or episode), so the
dashboard costs the same with ten patients or ten thousand.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any, cast

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from strigil.core import catalog, measures, response
from strigil.services import audit
from strigil.services.actors import Actor, Permission, require
from strigil.store.adverse_events import AdverseEvent
from strigil.store.base import utcnow
from strigil.store.episodes import Episode
from strigil.store.outcomes import OutcomeMeasurement
from strigil.store.patients import Patient
from strigil.store.visits import Visit


@dataclass(frozen=True, slots=True)
class VisitRow:
    visit_id: uuid.UUID
    patient_id: uuid.UUID
    patient_name: str
    record_number: str
    number: int
    started_at: datetime
    status: str
    condition: str


@dataclass(frozen=True, slots=True)
class PatientRow:
    patient_id: uuid.UUID
    patient_name: str
    record_number: str
    last_seen: datetime | None


@dataclass(frozen=True, slots=True)
class EventRow:
    event_id: uuid.UUID
    patient_id: uuid.UUID
    patient_name: str
    category: str
    severity: str
    onset_at: datetime


@dataclass(frozen=True, slots=True)
class EpisodeFlag:
    episode_id: uuid.UUID
    patient_id: uuid.UUID
    patient_name: str
    condition: str
    kind: str  # "not_responding" or "reassess"
    reason: str


@dataclass(frozen=True, slots=True)
class Overview:
    today: Sequence[VisitRow]
    recent: Sequence[PatientRow]
    unsigned: Sequence[VisitRow]
    open_events: Sequence[EventRow]
    flags: Sequence[EpisodeFlag]


def overview(
    *,
    session: Session,
    actor: Actor,
    now: datetime | None = None,
    thresholds: catalog.Thresholds | None = None,
) -> Overview:
    """Everything the dashboard shows, in a fixed number of queries."""
    require(actor, Permission.READ_CLINICAL)
    moment = now or utcnow()
    limits = thresholds or catalog.thresholds()
    start = datetime.combine(moment.astimezone(UTC).date(), time.min, tzinfo=UTC)
    audit.record(session=session, actor=actor, action="read", entity_type="dashboard")
    return Overview(
        today=_visit_rows(session, _visits(actor).where(Visit.started_at >= start)),
        recent=recent_patients(session, actor),
        unsigned=_visit_rows(session, _visits(actor).where(Visit.status == "in_progress")),
        open_events=open_events(session, actor),
        flags=episode_flags(session, actor, limits),
    )


def _visits(actor: Actor) -> Select[Any]:
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
            Visit.clinic_id == actor.clinic_id,
            Visit.entered_in_error_at.is_(None),
            Patient.entered_in_error_at.is_(None),
        )
        .order_by(Visit.started_at.desc())
        .limit(25)
    )
    return cast(Select[Any], query)


def _visit_rows(session: Session, query: Select[Any]) -> list[VisitRow]:
    return [
        VisitRow(r[0], r[1], f"{r[2]} {r[3]}", r[4], r[5], r[6], r[7], r[8])
        for r in session.execute(query)
    ]


def recent_patients(session: Session, actor: Actor, limit: int = 10) -> list[PatientRow]:
    """Patients seen (or registered) most recently."""
    last = (
        select(Visit.patient_id, func.max(Visit.started_at).label("last"))
        .where(Visit.clinic_id == actor.clinic_id, Visit.entered_in_error_at.is_(None))
        .group_by(Visit.patient_id)
        .subquery()
    )
    rows = session.execute(
        select(Patient, last.c.last)
        .outerjoin(last, last.c.patient_id == Patient.id)
        .where(Patient.clinic_id == actor.clinic_id, Patient.entered_in_error_at.is_(None))
        .order_by(func.coalesce(last.c.last, Patient.created_at).desc(), Patient.id.desc())
        .limit(limit)
    ).all()
    return [PatientRow(p.external_id, p.display_name, p.record_number, seen) for p, seen in rows]


def open_events(session: Session, actor: Actor, limit: int = 20) -> list[EventRow]:
    """Unresolved adverse events of the clinic, oldest first."""
    rows = session.execute(
        select(AdverseEvent, Patient)
        .join(Patient, Patient.id == AdverseEvent.patient_id)
        .where(
            AdverseEvent.clinic_id == actor.clinic_id,
            AdverseEvent.status == "open",
            AdverseEvent.entered_in_error_at.is_(None),
        )
        .order_by(AdverseEvent.onset_at)
        .limit(limit)
    ).all()
    return [
        EventRow(e.external_id, p.external_id, p.display_name, e.category, e.severity, e.onset_at)
        for e, p in rows
    ]


def episode_flags(
    session: Session, actor: Actor, limits: catalog.Thresholds, limit: int = 20
) -> list[EpisodeFlag]:
    """Active episodes not responding (the reconsider prompt) or due for re-measurement."""
    episodes = _active_episodes(session, actor)
    if not episodes:
        return []
    ids = [e[0] for e in episodes]
    scores = _primary_scores(session, ids)
    since = _visits_since_measured(session, ids)
    flags: list[EpisodeFlag] = []
    for row in episodes:
        flag = _flag(row, scores.get(row[0], []), since.get(row[0], 0), limits)
        if flag is not None:
            flags.append(flag)
    return flags[:limit]


def _active_episodes(session: Session, actor: Actor) -> list[tuple[object, ...]]:
    return [
        tuple(r)
        for r in session.execute(
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
                Episode.clinic_id == actor.clinic_id,
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
    ]


def _primary_scores(session: Session, ids: list[object]) -> dict[object, list[float]]:
    out: dict[object, list[float]] = defaultdict(list)
    for episode_id, score in session.execute(
        select(OutcomeMeasurement.episode_id, OutcomeMeasurement.score)
        .join(Episode, Episode.id == OutcomeMeasurement.episode_id)
        .where(
            OutcomeMeasurement.episode_id.in_(ids),
            OutcomeMeasurement.measure == Episode.primary_measure,
            OutcomeMeasurement.entered_in_error_at.is_(None),
        )
        .order_by(OutcomeMeasurement.episode_id, OutcomeMeasurement.measured_at)
    ):
        out[episode_id].append(score)
    return out


def _visits_since_measured(session: Session, ids: list[object]) -> dict[object, int]:
    last = (
        select(func.max(OutcomeMeasurement.measured_at))
        .where(
            OutcomeMeasurement.episode_id == Episode.id,
            OutcomeMeasurement.measure == Episode.primary_measure,
            OutcomeMeasurement.entered_in_error_at.is_(None),
        )
        .correlate(Episode)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Visit.episode_id, func.count(Visit.id))
        .join(Episode, Episode.id == Visit.episode_id)
        .where(
            Visit.episode_id.in_(ids),
            Visit.entered_in_error_at.is_(None),
            or_(last.is_(None), Visit.started_at > last),
        )
        .group_by(Visit.episode_id)
    )
    return dict(rows.all())


def _flag(
    row: tuple[object, ...], scores: list[float], since: int, limits: catalog.Thresholds
) -> EpisodeFlag | None:
    _, episode_id, measure_code, condition, patient_id, given, family, visit_count = row
    m = measures.get_measure(str(measure_code))
    classes = []
    if len(scores) >= 2 and not m.change_score and m.default_mcid:
        classes = [response.classify(m, scores[0], s) for s in scores[1:]]
    prompt = response.reconsider_prompt(
        int(visit_count),  # type: ignore[call-overload]
        classes,
        threshold_visits=limits.reassess_after_visits,
    )
    name = f"{given} {family}"
    if prompt.prompt:
        kind, reason = "not_responding", prompt.reason
    elif since >= limits.reassess_every_visits:
        kind, reason = "reassess", f"{since} visits since {m.code} was last measured"
    else:
        return None
    return EpisodeFlag(episode_id, patient_id, name, str(condition), kind, reason)  # type: ignore[arg-type]
