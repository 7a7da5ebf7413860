"""Progress reports and discharge summaries of an episode: gather the recorded facts, print them.

A report states only what was recorded: the outcome scores and their responder class against
the measure's MCID and MDC (:mod:`strigil.core.response`), the expected course the outcomes
service computes from similar completed episodes, the visits and areas treated, the adverse
events and the latest after-care. Where something was not recorded the report says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Literal

from sqlalchemy.orm import Session

from strigil.core import catalog, measures
from strigil.core.response import Classification, ExpectedCourse
from strigil.documents import layout
from strigil.documents import reports as docs
from strigil.errors import Conflict, InvalidInput, NotFound
from strigil.services import audit, outcomes
from strigil.services.actors import Actor, Permission, require
from strigil.services.documents import dose_text
from strigil.services.records import get_owned, parse_id
from strigil.store import clinics as clinic_store
from strigil.store import reports as store
from strigil.store.adverse_events import AdverseEvent
from strigil.store.episodes import Episode
from strigil.store.visits import TreatedArea, Visit

__all__ = ["Kind", "report_pdf", "report_pdf_for_operator"]

Kind = Literal["progress", "discharge"]
TITLES: dict[str, str] = {"progress": "Progress report", "discharge": "Discharge summary"}

RESPONDER = {
    "improved": "Improved: the latest score has changed by at least the MCID (and beyond "
    "measurement error) from the baseline.",
    "partial": "Partial response: a change beyond measurement error (the MDC) that falls short "
    "of the MCID.",
    "unchanged": "Unchanged: the change from the baseline is within measurement error.",
    "worse": "Worse: the score has moved away from the goal beyond measurement error.",
}


def _day(value: datetime | date | None) -> str:
    if value is None:
        return ""
    return (value.date() if isinstance(value, datetime) else value).isoformat()


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:g}"


def _label(kind: str, code: str) -> str:
    try:
        return catalog.body_site(code).label if kind == "site" else catalog.body_region(code).label
    except InvalidInput:  # a retired catalog code still prints as recorded
        return code


def _site(code: str, side: str) -> str:
    """A site with its side, e.g. "Upper trapezius, right" (no side when none applies)."""
    label = _label("site", code)
    return label if side in ("na", "") else f"{label}, {side}"


# ------------------------------------------------------------------------------ outcome


def _responder(progress: outcomes.Progress) -> tuple[str, str]:
    m, c = progress.measure, progress.classification
    if c is not None:
        return RESPONDER[c.category], _basis(progress, c)
    n = len(progress.points)
    if m.change_score:
        return f"{m.code} rates change itself; its scores are listed as recorded.", ""
    if n < 2:
        noun = "score was" if n == 1 else "scores were"
        return f"Response not yet judged: {n} {m.code} {noun} recorded; two are needed.", ""
    return f"Response not judged: {m.code} has no MCID in the registry.", ""


def _basis(progress: outcomes.Progress, c: Classification) -> str:
    first, last = progress.points[0], progress.points[-1]
    return (
        f"{progress.measure.name}: baseline {_num(first.score)} on {_day(first.at)}, latest "
        f"{_num(last.score)} on {_day(last.at)}; {c.basis}. A positive change is an improvement."
    )


def _expected(expected: ExpectedCourse | None, episode: Episode) -> str:
    if expected is None:
        if episode.condition_group is None:
            return "No expected course: the condition is in no comparison group."
        return "No expected course for this measure (it rates change itself)."
    lit = expected.literature_expectation or {}
    literature = f" Literature: {lit['note']}" if lit.get("note") else ""
    if expected.insufficient or not expected.by_visit:
        return f"In this clinic: {expected.note}.{literature}"
    last = expected.by_visit[-1]
    share = ""
    if expected.share_reaching_mcid is not None and expected.ci_low is not None:
        share = (
            f" {expected.reached_mcid} of {expected.n_episodes} "
            f"({expected.share_reaching_mcid:.0%}; 95% CI {expected.ci_low:.0%}-"
            f"{expected.ci_high or 0:.0%}) reached the MCID by their last visit."
        )
    return (
        f"Similar completed episodes in this clinic (n = {expected.n_episodes}): by visit "
        f"{last.visit} the median change was {_num(last.median)} (middle half "
        f"{_num(last.q1)} to {_num(last.q3)}; positive = better).{share}{literature}"
    )


def _prompt(progress: outcomes.Progress, kind: Kind) -> str:
    """The reconsider prompt matters while treatment goes on, not once it has ended."""
    if kind == "discharge" or not progress.prompt.prompt:
        return ""
    return f"Reconsider IASTM: {progress.prompt.reason}."


def _chart(progress: outcomes.Progress) -> docs.Chart | None:
    if not progress.points:
        return None
    m = progress.measure
    xs = [p.visit_number or i + 1 for i, p in enumerate(progress.points)]
    base, sign = progress.points[0].score, 1.0 if m.higher_is_better else -1.0
    mcid = m.default_mcid
    band = None
    if mcid is not None and mcid.value is not None and not m.change_score:
        band = (base, base + sign * mcid.value)
    rows = progress.expected.by_visit if progress.expected else ()
    return docs.Chart(
        title=f"{m.name} ({m.code}) by visit; {'higher' if m.higher_is_better else 'lower'} "
        "is better",
        low=float(m.min),
        high=float(m.max),
        points=tuple(zip(xs, (p.score for p in progress.points), strict=True)),
        mcid=band,
        expected=tuple((v.visit, base + sign * v.q1, base + sign * v.q3) for v in rows),
    )


def _measure_rows(session: Session, episode: Episode) -> tuple[docs.MeasureRow, ...]:
    codes = dict.fromkeys(r.measure for r in outcomes.list_for_episode(session, episode))
    rows = []
    for code in codes:
        p = outcomes.course(session, episode, measures.get_measure(code))
        first, last, c = p.points[0], p.points[-1], p.classification
        rows.append(
            docs.MeasureRow(
                measure=f"{p.measure.code} · {p.measure.name}",
                scores=str(len(p.points)),
                baseline=_num(first.score),
                latest=_num(last.score),
                change=f"{c.change:+.1f}" if c else "",
                status=c.category if c else "not judged",
            )
        )
    return tuple(rows)


# ------------------------------------------------------------------------------ care


def _area_text(area: TreatedArea) -> str:
    text = f"{_site(area.body_site, area.side)} ({area.intensity}, {area.seconds} s"
    if area.stop_reason and area.stop_reason != "completed":
        text += f", ended: {area.stop_reason.replace('_', ' ')}"
    return text + ")"


def _visit_rows(
    visits: Sequence[Visit], areas: list[tuple[int, TreatedArea]]
) -> tuple[docs.VisitRow, ...]:
    by_visit: dict[int, list[str]] = defaultdict(list)
    for number, area in areas:
        by_visit[number].append(_area_text(area))
    return tuple(
        docs.VisitRow(
            number=str(v.number),
            date=_day(v.started_at),
            status="signed" if v.status == "signed" else "unsigned",
            areas="; ".join(by_visit[v.number]) or "no areas treated",
        )
        for v in visits
    )


def _times(numbers: list[int]) -> str:
    """ "treated once (visit 9)", "treated 6 times at 5 visits (1, 2, 5, 7, 11)"."""
    distinct = sorted(set(numbers))
    listed = ", ".join(map(str, distinct))
    if len(numbers) == 1:
        return f"treated once (visit {listed})"
    if len(distinct) == len(numbers):
        return f"treated {len(numbers)} times (visits {listed})"
    return f"treated {len(numbers)} times at {len(distinct)} visits ({listed})"


def _site_rows(areas: list[tuple[int, TreatedArea]]) -> tuple[tuple[str, str], ...]:
    visits: dict[tuple[str, str], list[int]] = defaultdict(list)
    endings: dict[tuple[str, str], list[str]] = defaultdict(list)
    for number, area in areas:
        key = (area.body_site, area.side)
        visits[key].append(number)
        if area.stop_reason and area.stop_reason != "completed":
            endings[key].append(area.stop_reason.replace("_", " "))
    rows = []
    for (site, side), numbers in visits.items():
        text = _times(numbers)
        stops = endings[(site, side)]
        text += f"; stopped early: {', '.join(stops)}" if stops else "; never stopped early"
        rows.append((_site(site, side), text))
    return tuple(rows)


def _event_rows(events: list[tuple[int | None, AdverseEvent]]) -> tuple[docs.EventRow, ...]:
    rows = []
    for number, e in events:
        status = f"resolved {_day(e.resolved_at)}" if e.status == "resolved" else e.status
        what = f"{e.category.replace('_', ' ')}, {e.severity}"
        what += "; referred on" if e.referral_made else ""
        rows.append(
            docs.EventRow(
                _day(e.onset_at), f"V{number}" if number else "", what, status, e.description
            )  # fmt: skip
        )
    return tuple(rows)


def _aftercare(session: Session, episode: Episode) -> tuple[str, tuple[tuple[str, str], ...]]:
    number, rows = store.list_latest_prescriptions(session, episode.clinic_id, episode.id)
    if number is None:
        return "", ()
    library = {e.code: e for e in catalog.exercises()}
    items = tuple(
        (
            library[p.exercise_code].name if p.exercise_code in library else p.exercise_code,
            dose_text(p.sets, p.repetitions, p.hold_seconds, p.frequency),
        )
        for p in rows
    )
    return f"As prescribed at visit {number}:", items


# ------------------------------------------------------------------------------ document


def _episode_line(episode: Episode, visit_count: int) -> str:
    where = f"{_site_region(episode)}, {episode.chronicity}"
    course = f"started {episode.started_on.isoformat()}"
    if episode.ended_on:
        course += f", discharged {episode.ended_on.isoformat()}"
    elif episode.status == "discharged":
        course += ", discharged"
    else:
        course += ", active"
    return f"{where}; {course}; {visit_count} visit{'s' if visit_count != 1 else ''}"


def _site_region(episode: Episode) -> str:
    label = _label("region", episode.body_region)
    return label if episode.side == "na" else f"{label}, {episode.side}"


def _therapist(session: Session, episode: Episode) -> str:
    user = clinic_store.get_user(session, episode.clinic_id, episode.therapist_id)
    return ", ".join(p for p in (user.display_name, user.credentials) if p)


def _document(session: Session, episode: Episode, kind: Kind) -> docs.ReportDocument:
    if kind == "discharge" and episode.status != "discharged":
        raise Conflict(
            "discharge the episode before printing its discharge summary",
            code="episode_not_discharged",
            field="episode_id",
        )
    clinic = clinic_store.get_clinic(session, episode.clinic_id)
    progress = outcomes.course(session, episode, measures.get_measure(episode.primary_measure))
    visits = store.list_visits_in_order(session, episode.clinic_id, episode.id)
    areas = store.list_areas_of_episode(session, episode.clinic_id, episode.id)
    responder, basis = _responder(progress)
    aftercare_from, aftercare = _aftercare(session, episode)
    events = store.list_adverse_events_of_episode(session, episode)
    return docs.ReportDocument(
        title=TITLES[kind],
        clinic=layout.Letterhead(clinic.name, clinic.address, clinic.phone),
        patient=episode.patient.display_name,
        birth_date=episode.patient.birth_date.isoformat(),
        condition=f"{episode.condition_code} {episode.condition_title}",
        episode=_episode_line(episode, len(visits)),
        therapist=_therapist(session, episode),
        goals=episode.goals,
        responder=responder,
        responder_basis=basis,
        prompt=_prompt(progress, kind),
        chart=_chart(progress),
        expected=_expected(progress.expected, episode),
        measures=_measure_rows(session, episode),
        visits=_visit_rows(visits, areas),
        areas=_site_rows(areas),
        events=_event_rows(events),
        aftercare_from=aftercare_from,
        aftercare=aftercare,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def report_pdf(*, session: Session, actor: Actor, episode_id: object, kind: Kind) -> bytes:
    """The episode's progress report or discharge summary as a PDF (an audited read).

    Raises:
        NotPermitted: the actor may not read clinical records.
        NotFound: no such episode in the actor's clinic.
        Conflict: a discharge summary of an episode not yet discharged.
    """
    require(actor, Permission.READ_CLINICAL)
    episode = get_owned(session, Episode, episode_id, actor, field="episode_id")
    document = _document(session, episode, kind)
    audit.record(
        session=session,
        actor=actor,
        action="read",
        entity_type=f"{kind}_report",
        entity_id=episode.external_id,
        patient_id=episode.patient.external_id,
    )
    return docs.report_pdf(document)


def report_pdf_for_operator(*, session: Session, episode_id: object, kind: Kind) -> bytes:
    """The same PDF for the operator's CLI (any clinic of this database; audited as the system)."""
    key = parse_id(episode_id, field="episode_id")
    episode = store.find_episode_in_any_clinic(session, key)
    if episode is None:
        raise NotFound(f"no episode with id {key}", field="episode_id", code="episode_not_found")
    document = _document(session, episode, kind)
    audit.record(
        session=session,
        actor=None,
        clinic_id=episode.clinic_id,
        action="read",
        entity_type=f"{kind}_report",
        entity_id=episode.external_id,
        patient_id=episode.patient.external_id,
    )
    return docs.report_pdf(document)
