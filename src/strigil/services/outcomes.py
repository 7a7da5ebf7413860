"""Outcome measurements and the episode's progress: is IASTM working for this patient?"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from strigil.core import instrument_translations, measures, response, scoring
from strigil.core.response import Classification, ExpectedCourse, ReconsiderPrompt
from strigil.errors import InvalidInput
from strigil.services import audit
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import get_owned
from strigil.store import outcomes as store
from strigil.store import visits as visit_store
from strigil.store.base import utcnow
from strigil.store.episodes import Episode
from strigil.store.outcomes import OutcomeMeasurement
from strigil.store.visits import Visit

MIN_COMPARABLE_EPISODES = 10


@dataclass(frozen=True, slots=True)
class MeasurementInput:
    measure: str
    answers: Sequence[float | None]
    options: Mapping[str, Any]
    visit_id: object | None = None
    measured_at: datetime | None = None
    measured_on: date | None = None  # the day it was taken, when no exact time is known


@dataclass(frozen=True, slots=True)
class Point:
    at: datetime
    visit_number: int | None
    score: float
    source: str = "staff"  # "patient" when the patient answered it through a link
    answered_in: str | None = None  # a patient's language and checked translation, if any


@dataclass(frozen=True, slots=True)
class Progress:
    """One measure's course in an episode, judged against its MCID and MDC."""

    measure: measures.Measure
    points: tuple[Point, ...]
    classification: Classification | None
    prompt: ReconsiderPrompt
    expected: ExpectedCourse | None
    change_text: str | None = None  # "61.4 → 47.7, 13.7 points better"


def record(
    *, session: Session, actor: Actor, episode_id: object, data: MeasurementInput
) -> OutcomeMeasurement:
    """Score and store a measurement; bad answers store nothing.

    Raises:
        InvalidInput: unknown measure, an answer out of range, too many missing items, a bad
            unit, a visit from another episode, or a time in the future.
    """
    require(actor, Permission.RECORD_READINGS)
    episode = get_owned(session, Episode, episode_id, actor, field="episode_id")
    result = scoring.score(data.measure, list(data.answers), **dict(data.options))
    visit = _visit(session, actor, episode, data.visit_id)
    when = _when(data, visit)
    field = "measured_on" if data.measured_on is not None else "measured_at"
    if when > utcnow():
        raise InvalidInput("a measurement cannot be in the future", field=field, code="in_future")
    if when.date() < episode.started_on:
        raise InvalidInput(
            f"a measurement cannot be before the episode began ({episode.started_on})",
            field=field,
            code="before_episode",
        )
    row = OutcomeMeasurement(
        clinic_id=actor.clinic_id,
        patient_id=episode.patient_id,
        episode_id=episode.id,
        visit_id=visit.id if visit else None,
        measure=result.measure,
        registry_version=measures.catalog_version(),
        measured_at=when,
        answers=list(data.answers),
        options=dict(data.options),
        score=result.score,
        subscores=dict(result.subscores),
        recorded_by_id=actor.user_id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="create",
        entity_type="outcome_measurement",
        entity_id=row.external_id,
        patient_id=episode.patient.external_id,
    )
    return row


def _when(data: MeasurementInput, visit: Visit | None) -> datetime:
    """When it was taken: the exact time given; else the day given (the visit's time when it
    was that day, now when it is today, otherwise midday); else the visit's start; else now."""
    now = utcnow()
    if data.measured_at is not None:
        return data.measured_at
    if data.measured_on is None:
        return visit.started_at if visit else now
    if visit is not None and visit.started_at.date() == data.measured_on:
        return visit.started_at
    if data.measured_on == now.date():
        return now
    return datetime.combine(data.measured_on, time(12), tzinfo=now.tzinfo)


def _visit(session: Session, actor: Actor, episode: Episode, visit_id: object) -> Visit | None:
    if visit_id is None:
        return None
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    if visit.episode_id != episode.id:
        raise InvalidInput(
            "the visit belongs to another episode", field="visit_id", code="wrong_episode"
        )
    return visit


def list_for_episode(
    session: Session, episode: Episode, measure: str | None = None
) -> Sequence[OutcomeMeasurement]:
    """The episode's measurements, of one measure when given, in the order measured."""
    return store.list_measurements(session, episode.clinic_id, episode.id, measure)


def progress(
    *,
    session: Session,
    actor: Actor,
    episode_id: object,
    measure: str | None = None,
    reassess_after: int = 4,
) -> Progress:
    """Change from baseline, responder class, reconsider prompt and the expected course."""
    require(actor, Permission.READ_CLINICAL)
    episode = get_owned(session, Episode, episode_id, actor, field="episode_id")
    m = measures.get_measure(measure or episode.primary_measure)
    numbers = _visit_numbers(session, episode)
    rows = list_for_episode(session, episode, m.code)
    _audit_read(session, actor, episode)
    return _progress_of(m, rows, numbers, reassess_after, expected_course(session, episode, m))


def progress_all(
    *, session: Session, actor: Actor, episode_id: object, reassess_after: int = 4
) -> tuple[Progress, ...]:
    """Progress on every measure the episode has recorded, the primary measure first (shown
    even before its first score). The expected course, which compares the clinic's episodes
    on their primary measure, is given for the primary measure only."""
    require(actor, Permission.READ_CLINICAL)
    episode = get_owned(session, Episode, episode_id, actor, field="episode_id")
    numbers = _visit_numbers(session, episode)
    by_measure: dict[str, list[OutcomeMeasurement]] = {episode.primary_measure: []}
    for row in list_for_episode(session, episode):
        by_measure.setdefault(row.measure, []).append(row)
    _audit_read(session, actor, episode)
    out = []
    for code, rows in by_measure.items():
        m = measures.get_measure(code)
        expected = expected_course(session, episode, m) if code == episode.primary_measure else None
        out.append(_progress_of(m, rows, numbers, reassess_after, expected))
    return tuple(out)


def _progress_of(
    m: measures.Measure,
    rows: Sequence[OutcomeMeasurement],
    numbers: Mapping[int, int],
    reassess_after: int,
    expected: ExpectedCourse | None,
) -> Progress:
    points = tuple(
        Point(
            r.measured_at,
            numbers.get(r.visit_id or 0),
            r.score,
            r.source,
            instrument_translations.describe(r.administration),
        )
        for r in rows
    )
    classes = _classifications(m, points)
    prompt = response.reconsider_prompt(len(numbers), classes, threshold_visits=reassess_after)
    return Progress(
        measure=m,
        points=points,
        classification=classes[-1] if classes else None,
        prompt=prompt,
        expected=expected,
        change_text=_change_text(m, points),
    )


def _change_text(m: measures.Measure, points: Sequence[Point]) -> str | None:
    if len(points) < 2 or m.change_score:
        return None
    return response.describe_change(m, points[0].score, points[-1].score)


def _audit_read(session: Session, actor: Actor, episode: Episode) -> None:
    audit.record(
        session=session,
        actor=actor,
        action="read",
        entity_type="progress",
        entity_id=episode.external_id,
        patient_id=episode.patient.external_id,
    )


def course(
    session: Session, episode: Episode, m: measures.Measure, *, reassess_after: int = 4
) -> Progress:
    """One measure's course in an episode the caller has already loaded, checked and audited
    (the progress page and the printed reports share it)."""
    numbers = _visit_numbers(session, episode)
    rows = list_for_episode(session, episode, m.code)
    return _progress_of(m, rows, numbers, reassess_after, expected_course(session, episode, m))


def _visit_numbers(session: Session, episode: Episode) -> dict[int, int]:
    return visit_store.visit_numbers(session, episode.clinic_id, episode.id)


def _classifications(m: measures.Measure, points: Sequence[Point]) -> list[Classification]:
    if len(points) < 2 or m.change_score or not (m.default_mcid or m.mcid):
        return []
    baseline = points[0].score
    return [response.classify(m, baseline, p.score) for p in points[1:]]


def expected_course(
    session: Session, episode: Episode, m: measures.Measure
) -> ExpectedCourse | None:
    """What happened in this clinic's completed episodes of the same condition group."""
    if m.change_score or episode.condition_group is None:
        return None
    rows = store.list_discharged_scores_by_visit(
        session, episode.clinic_id, episode.condition_group, m.code, except_episode=episode.id
    )
    histories = _histories(m, rows)
    return response.expected_course(histories, m, min_episodes=MIN_COMPARABLE_EPISODES)


def _histories(
    m: measures.Measure, rows: Sequence[tuple[int, int, float]]
) -> list[list[tuple[int, float]]]:
    by_episode: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for episode_id, number, score in rows:
        by_episode[episode_id].append((number, score))
    histories = []
    for series in by_episode.values():
        if len(series) >= 2:
            base = series[0][1]
            histories.append([(n, response.change(m, base, s)) for n, s in series])
    return histories


def progress_json(result: Progress) -> dict[str, Any]:
    """A plain-data view of progress for the API and the chart."""
    m = result.measure
    mcid = m.default_mcid
    return {
        "measure": m.code,
        "name": m.name,
        "unit": m.unit,
        "min": m.min,
        "max": m.max,
        "direction": str(m.direction),
        "mcid": mcid.value if mcid else None,
        "mcid_source": mcid.source if mcid else None,
        "points": [
            {"at": p.at.isoformat(), "visit": p.visit_number, "score": p.score, "source": p.source}
            for p in result.points
        ],
        "change": result.change_text,
        "classification": asdict(result.classification) if result.classification else None,
        "prompt": asdict(result.prompt),
        "expected": asdict(result.expected) if result.expected else None,
    }
