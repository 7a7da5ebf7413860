"""The dashboard: today's appointments and visits, recent patients, and what needs the
therapist's attention.

Every list is one query over the whole clinic (no query per patient or episode), so the
dashboard costs the same with ten patients or ten thousand.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from strigil.core import catalog, measures, response
from strigil.services import appointments, audit, patient_links
from strigil.services.actors import Actor, Permission, require
from strigil.store import adverse_events as event_store
from strigil.store import outcomes as outcome_store
from strigil.store import revisions
from strigil.store import visits as visit_store
from strigil.store.appointments import AppointmentLine
from strigil.store.base import utcnow
from strigil.store.visits import ActiveEpisode, VisitSummary


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
class CheckinRow:
    checkin_id: uuid.UUID
    patient_id: uuid.UUID
    patient_name: str
    submitted_at: datetime
    warnings: tuple[str, ...]


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
    appointments: Sequence[AppointmentLine]
    today: Sequence[VisitRow]
    recent: Sequence[PatientRow]
    unsigned: Sequence[VisitRow]
    open_events: Sequence[EventRow]
    flags: Sequence[EpisodeFlag]
    checkins: Sequence[CheckinRow] = ()


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
    zone = appointments.clinic_zone(session=session, actor=actor)
    start = appointments.day_start(appointments.local_today(zone, moment), zone)
    audit.record(session=session, actor=actor, action="read", entity_type="dashboard")
    clinic_id = actor.clinic_id
    return Overview(
        appointments=appointments.today(session=session, actor=actor, now=moment),
        today=_visit_rows(
            visit_store.list_visit_summaries(session, clinic_id, started_since=start)
        ),
        recent=_recent_patients(session, clinic_id),
        unsigned=_visit_rows(
            visit_store.list_visit_summaries(session, clinic_id, status="in_progress")
        ),
        open_events=_open_events(session, clinic_id),
        flags=_episode_flags(session, clinic_id, limits),
        checkins=_attention_checkins(session, clinic_id),
    )


def data_key(
    *, session: Session, actor: Actor, now: datetime | None = None
) -> tuple[int, int, str]:
    """What the overview depends on: the clinic, its data revision and the UTC day. Two
    overviews with the same key are the same, so a computed one can be shown again while
    nothing in the clinic changed (one indexed read instead of the lists' queries)."""
    require(actor, Permission.READ_CLINICAL)
    zone = appointments.clinic_zone(session=session, actor=actor)
    day = appointments.local_today(zone, now).isoformat()
    return actor.clinic_id, revisions.current(session, actor.clinic_id), day


def record_read(*, session: Session, actor: Actor) -> None:
    """Audit a dashboard shown from an overview computed earlier, as ``overview`` does."""
    require(actor, Permission.READ_CLINICAL)
    audit.record(session=session, actor=actor, action="read", entity_type="dashboard")


def _visit_rows(rows: Sequence[VisitSummary]) -> list[VisitRow]:
    return [VisitRow(r[0], r[1], f"{r[2]} {r[3]}", r[4], r[5], r[6], r[7], r[8]) for r in rows]


def _recent_patients(session: Session, clinic_id: int, limit: int = 10) -> list[PatientRow]:
    """Patients seen (or registered) most recently."""
    rows = visit_store.list_recently_seen_patients(session, clinic_id, limit=limit)
    return [PatientRow(p.external_id, p.display_name, p.record_number, seen) for p, seen in rows]


def _attention_checkins(session: Session, clinic_id: int) -> list[CheckinRow]:
    """Check-ins whose answers need a therapist now, until one is made an adverse event."""
    rows = patient_links.attention(session, clinic_id)
    return [
        CheckinRow(c.external_id, p.external_id, p.display_name, c.submitted_at, _warnings(c))
        for c, p in rows
    ]


def _warnings(checkin: patient_links.Checkin) -> tuple[str, ...]:
    answers = patient_links.parse_answers(checkin.answers)
    found = (
        (answers.bruising == "spreading", "spreading bruise"),
        (answers.calf_pain, "calf pain or swelling"),
        (answers.skin_broken, "skin broken"),
    )
    return tuple(label for present, label in found if present)


def _open_events(session: Session, clinic_id: int, limit: int = 20) -> list[EventRow]:
    """Unresolved adverse events of the clinic, oldest first."""
    rows = event_store.list_open_with_patients(session, clinic_id, limit=limit)
    return [
        EventRow(e.external_id, p.external_id, p.display_name, e.category, e.severity, e.onset_at)
        for e, p in rows
    ]


def _episode_flags(
    session: Session, clinic_id: int, limits: catalog.Thresholds, limit: int = 20, chunk: int = 60
) -> list[EpisodeFlag]:
    """Active episodes not responding (the reconsider prompt) or due for re-measurement: the
    first ``limit`` in episode order. Episodes, their scores and visit counts are read a chunk
    at a time and the reading stops once enough are flagged, so a clinic with tens of
    thousands of open episodes costs little more than a small one."""
    flags: list[EpisodeFlag] = []
    after = 0
    while len(flags) < limit:
        episodes = visit_store.list_active_episodes_plain(
            session, clinic_id, after_id=after, limit=chunk
        )
        if not episodes:
            break
        ids = [e[0] for e in episodes]
        starts = visit_store.list_visit_starts(session, clinic_id, ids)
        history = outcome_store.primary_history(session, clinic_id, ids)
        for row in episodes:
            visits_started = starts.get(row[0])
            if not visits_started:
                continue  # an episode without visits has nothing to review yet
            measured = history.get(row[0], [])
            last = measured[-1][1] if measured else None
            since = sum(1 for s in visits_started if last is None or s > last)
            counted: ActiveEpisode = (*row[:7], len(visits_started))
            flag = _flag(counted, [score for score, _ in measured], since, limits)
            if flag is not None:
                flags.append(flag)
        after = ids[-1]
    return flags[:limit]


def _flag(
    row: ActiveEpisode, scores: list[float], since: int, limits: catalog.Thresholds
) -> EpisodeFlag | None:
    _, episode_id, measure_code, condition, patient_id, given, family, visit_count = row
    m = measures.get_measure(measure_code)
    classes = []
    if len(scores) >= 2 and not m.change_score and m.default_mcid:
        classes = [response.classify(m, scores[0], scores[-1])]  # the prompt reads the latest
    prompt = response.reconsider_prompt(
        visit_count,
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
    return EpisodeFlag(episode_id, patient_id, name, condition, kind, reason)
