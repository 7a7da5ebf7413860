"""Queries behind clinic insight: episodes with their intake factors and scores, and the
visit-level safety and dose counts per therapist. Aggregation happens in the database where it
can (counts, sums), so the pages stay fast on a large clinic."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, distinct, func, select
from sqlalchemy.orm import Session

from strigil.store.adverse_events import AdverseEvent
from strigil.store.clinics import User
from strigil.store.episodes import Episode, Screening
from strigil.store.outcomes import OutcomeMeasurement
from strigil.store.patients import Patient
from strigil.store.visits import SkinResponse, TreatedArea, Visit


@dataclass(frozen=True, slots=True)
class EpisodeFacts:
    """One episode of the measure with its intake factors and the dates that decide whether
    it counts as completed, dropped out or still in care."""

    episode_id: int
    patient_id: int
    patient_external_id: str
    therapist_id: int
    clinic_id: int
    status: str
    started_on: date
    ended_on: date | None
    last_visit_at: datetime | None
    chronicity: str
    body_region: str
    condition_group: str | None
    payer: str | None
    surgery: bool | None
    comorbidity_count: int | None
    sex: str
    birth_date: date
    precautions: bool


def episodes_for_measure(
    session: Session, clinic_id: int, measure: str, started_before: date
) -> list[EpisodeFacts]:
    """The clinic's episodes (not entered in error) whose primary measure is ``measure`` and
    that started before ``started_before``, with their intake factors."""
    last_visit = (
        select(Visit.episode_id, func.max(Visit.started_at).label("last"))
        .where(Visit.clinic_id == clinic_id, Visit.entered_in_error_at.is_(None))
        .group_by(Visit.episode_id)
        .subquery()
    )
    reasoned = (
        select(Screening.episode_id)
        .distinct()
        .where(
            Screening.clinic_id == clinic_id,
            Screening.kind == "intake",
            Screening.entered_in_error_at.is_(None),
            Screening.result_status == "precautions",
        )
        .subquery()
    )
    rows = session.execute(
        select(
            Episode.id,
            Episode.patient_id,
            Patient.external_id,
            Episode.therapist_id,
            Episode.clinic_id,
            Episode.status,
            Episode.started_on,
            Episode.ended_on,
            last_visit.c.last,
            Episode.chronicity,
            Episode.body_region,
            Episode.condition_group,
            Episode.payer,
            Episode.surgery,
            Episode.comorbidity_count,
            Patient.sex,
            Patient.birth_date,
            reasoned.c.episode_id.is_not(None),
        )  # fmt: skip
        .join(Patient, Patient.id == Episode.patient_id)
        .outerjoin(last_visit, last_visit.c.episode_id == Episode.id)
        .outerjoin(reasoned, reasoned.c.episode_id == Episode.id)
        .where(
            Episode.clinic_id == clinic_id,
            Episode.entered_in_error_at.is_(None),
            Episode.primary_measure == measure,
            Episode.started_on < started_before,
        )
        .order_by(Episode.id)
    ).all()
    return [_facts(tuple(r)) for r in rows]


def _facts(r: tuple[Any, ...]) -> EpisodeFacts:
    names = [f for f in EpisodeFacts.__dataclass_fields__ if f != "patient_external_id"]
    values = dict(zip(names, (*r[:2], *r[3:17], bool(r[17])), strict=True))
    return EpisodeFacts(patient_external_id=str(r[2]), **values)


def scores_for_measure(
    session: Session, clinic_id: int, measure: str, started_before: date
) -> dict[int, list[tuple[float, datetime]]]:
    """Episode id → its (score, measured at) on ``measure``, in the order measured, for the
    same episodes as :func:`episodes_for_measure`."""
    out: dict[int, list[tuple[float, datetime]]] = defaultdict(list)
    rows = session.execute(
        select(
            OutcomeMeasurement.episode_id, OutcomeMeasurement.score, OutcomeMeasurement.measured_at
        )
        .join(Episode, Episode.id == OutcomeMeasurement.episode_id)
        .where(
            OutcomeMeasurement.clinic_id == clinic_id,
            OutcomeMeasurement.measure == measure,
            OutcomeMeasurement.entered_in_error_at.is_(None),
            Episode.clinic_id == clinic_id,
            Episode.primary_measure == measure,
            Episode.entered_in_error_at.is_(None),
            Episode.started_on < started_before,
        )
        .order_by(
            OutcomeMeasurement.episode_id, OutcomeMeasurement.measured_at, OutcomeMeasurement.id
        )
    )
    for episode_id, score, measured in rows:
        out[int(episode_id)].append((float(score), measured))
    return out


def measures_in_use(session: Session, clinic_id: int) -> list[tuple[str, int]]:
    """(primary measure, episodes) of the clinic's episodes, most used first."""
    rows = session.execute(
        select(Episode.primary_measure, func.count(Episode.id))
        .where(Episode.clinic_id == clinic_id, Episode.entered_in_error_at.is_(None))
        .group_by(Episode.primary_measure)
        .order_by(func.count(Episode.id).desc(), Episode.primary_measure)
    ).all()
    return [(str(m), int(n)) for m, n in rows]


def therapist_names(session: Session, clinic_id: int, ids: list[int]) -> dict[int, str]:
    """Display names of the clinic's users among ``ids``."""
    if not ids:
        return {}
    rows = session.execute(
        select(User.id, User.display_name).where(User.clinic_id == clinic_id, User.id.in_(ids))
    ).all()
    return {int(i): str(name) for i, name in rows}


# --------------------------------------------------------------------------- safety and dose


@dataclass(frozen=True, slots=True)
class SafetyCounts:
    """Per therapist over a period: visits, and what happened in them."""

    therapist_id: int
    visits: int
    visits_with_precautions: int
    adverse_events: int
    bruising: int


def safety_counts(
    session: Session, clinic_id: int, since: datetime, until: datetime
) -> list[SafetyCounts]:
    """Visits (not entered in error) started in [since, until) per therapist, with the adverse
    events, bruised areas and visits under precautions among them."""
    window = and_(
        Visit.clinic_id == clinic_id,
        Visit.entered_in_error_at.is_(None),
        Visit.started_at >= since,
        Visit.started_at < until,
    )
    visits = dict(
        session.execute(
            select(Visit.therapist_id, func.count(Visit.id))
            .where(window)
            .group_by(Visit.therapist_id)
        ).all()
    )
    precaution_visits = dict(
        session.execute(
            select(Visit.therapist_id, func.count(distinct(Visit.id)))
            .join(
                Screening,
                and_(Screening.episode_id == Visit.episode_id, Screening.kind == "intake"),
            )
            .where(
                window,
                Screening.clinic_id == clinic_id,
                Screening.entered_in_error_at.is_(None),
                Screening.result_status == "precautions",
            )
            .group_by(Visit.therapist_id)
        ).all()
    )
    events = dict(
        session.execute(
            select(Visit.therapist_id, func.count(AdverseEvent.id))
            .join(AdverseEvent, AdverseEvent.visit_id == Visit.id)
            .where(
                window,
                AdverseEvent.clinic_id == clinic_id,
                AdverseEvent.entered_in_error_at.is_(None),
            )
            .group_by(Visit.therapist_id)
        ).all()
    )
    bruising = dict(
        session.execute(
            select(Visit.therapist_id, func.count(distinct(TreatedArea.id)))
            .join(TreatedArea, TreatedArea.visit_id == Visit.id)
            .join(SkinResponse, SkinResponse.treated_area_id == TreatedArea.id)
            .where(
                window,
                TreatedArea.entered_in_error_at.is_(None),
                SkinResponse.entered_in_error_at.is_(None),
                SkinResponse.grade == "ecchymosis",
            )
            .group_by(Visit.therapist_id)
        ).all()
    )
    return [
        SafetyCounts(
            int(t),
            int(n),
            int(precaution_visits.get(t, 0)),
            int(events.get(t, 0)),
            int(bruising.get(t, 0)),
        )  # fmt: skip
        for t, n in sorted(visits.items())
    ]


def unlinked_event_therapists(
    session: Session, clinic_id: int, since: datetime, until: datetime
) -> list[int | None]:
    """For each adverse event with no visit recorded (reported by phone, say) and begun in
    [since, until): the therapist of the patient's last visit of the period that started
    before its onset, the treatment it most likely followed; None when there is none."""
    last_visit = (
        select(Visit.therapist_id)
        .where(
            Visit.clinic_id == clinic_id,
            Visit.patient_id == AdverseEvent.patient_id,
            Visit.entered_in_error_at.is_(None),
            Visit.started_at >= since,
            Visit.started_at <= AdverseEvent.onset_at,
        )
        .order_by(Visit.started_at.desc(), Visit.id.desc())
        .limit(1)
        .correlate(AdverseEvent)
        .scalar_subquery()
    )
    rows = session.execute(
        select(last_visit).where(
            AdverseEvent.clinic_id == clinic_id,
            AdverseEvent.visit_id.is_(None),
            AdverseEvent.entered_in_error_at.is_(None),
            AdverseEvent.onset_at >= since,
            AdverseEvent.onset_at < until,
        )
    ).all()
    return [None if t is None else int(t) for (t,) in rows]


def stop_counts(
    session: Session, clinic_id: int, since: datetime, until: datetime
) -> list[tuple[int, str, int]]:
    """(therapist, stop reason, areas stopped) over treated areas in visits of the period."""
    rows = session.execute(
        select(Visit.therapist_id, TreatedArea.stop_reason, func.count(TreatedArea.id))
        .join(TreatedArea, TreatedArea.visit_id == Visit.id)
        .where(
            Visit.clinic_id == clinic_id,
            Visit.entered_in_error_at.is_(None),
            Visit.started_at >= since,
            Visit.started_at < until,
            TreatedArea.entered_in_error_at.is_(None),
            TreatedArea.stop_reason.is_not(None),
        )
        .group_by(Visit.therapist_id, TreatedArea.stop_reason)
        .order_by(Visit.therapist_id, TreatedArea.stop_reason)
    ).all()
    return [(int(t), str(reason), int(n)) for t, reason, n in rows]


def treatment_time(
    session: Session, clinic_id: int, since: datetime, until: datetime
) -> list[tuple[int, str, int, float, float]]:
    """(therapist, body region, areas, sum of seconds, sum of squared seconds) of the treated
    areas with time recorded in visits of the period: enough for a mean and its interval."""
    seconds = TreatedArea.seconds
    rows = session.execute(
        select(
            Visit.therapist_id,
            TreatedArea.body_region,
            func.count(TreatedArea.id),
            func.sum(seconds),
            func.sum(seconds * seconds),
        )  # fmt: skip
        .join(TreatedArea, TreatedArea.visit_id == Visit.id)
        .where(
            Visit.clinic_id == clinic_id,
            Visit.entered_in_error_at.is_(None),
            Visit.started_at >= since,
            Visit.started_at < until,
            TreatedArea.entered_in_error_at.is_(None),
            seconds > 0,
        )
        .group_by(Visit.therapist_id, TreatedArea.body_region)
        .order_by(Visit.therapist_id, TreatedArea.body_region)
    ).all()
    return [(int(t), str(r), int(n), float(s), float(s2)) for t, r, n, s, s2 in rows]
