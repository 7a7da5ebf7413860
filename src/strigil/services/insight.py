"""Clinic insight: risk-adjusted outcomes per therapist, and safety and dose rates.

The outcome model (:mod:`strigil.evidence.risk_model`, ADR 0019) is fitted once per clinic
data version and measure, off the request path, in the shared computations cache; a request
that finds it fitted loads nothing but the clinic's revision number. What each role sees is
cut from the one fit afterwards:

- a therapist: the model, the clinic's totals, their own row and their own patients' residuals;
- an admin: every therapist of the clinic by name (no patient-level rows: the role does not
  read clinical records);
- a researcher: every therapist under a pseudonym, no patient rows, no patient ids.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from strigil.core import measures, response
from strigil.errors import InvalidInput
from strigil.evidence import risk_model
from strigil.evidence.risk_model import EpisodeOutcome, NotEnoughData, RiskModelFit
from strigil.services import audit, computations
from strigil.services.actors import Actor, Permission, Role, require
from strigil.services.screenings import age_on
from strigil.store import insight as store
from strigil.store import revisions

WINDOW_DAYS = 365
"""Rolling period of the figures: episodes that ended in the last 12 months (FOTO, Gozalo)."""
LAPSED_DAYS = 30
"""An episode still open with no visit for this long is counted as a dropout (ADR 0019)."""
MIN_EPISODES = risk_model.MIN_EPISODES
PENDING = "The model is being fitted on the clinic's data; this takes a few seconds."
STOP_RULES = ("tolerance_reached", "patient_request", "petechiae", "ecchymosis", "time_limit",
              "adverse_sign", "other")  # fmt: skip
"""Stop reasons that are stop-rule events (``completed`` is the ordinary end of an area)."""


@dataclass(frozen=True, slots=True)
class McidRow:
    """A therapist's share reaching the MCID: observed, expected from case mix, adjusted."""

    n: int
    reached: int
    observed: float
    expected: float
    adjusted: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True, slots=True)
class TherapistRow:
    """One therapist's figures as the actor may see them (``label`` may be a pseudonym)."""

    label: str
    mine: bool
    n: int
    n_dropouts: int
    mean_residual: float
    effect: float
    ci_low: float
    ci_high: float
    mcid: McidRow | None


@dataclass(frozen=True, slots=True)
class PatientRow:
    """One of the therapist's own episodes: actual against predicted change."""

    patient_id: str
    actual: float
    predicted: float
    residual: float
    dropout: bool


@dataclass(frozen=True, slots=True)
class Outcomes:
    """The risk-adjusted outcome figures on one measure, or why there are none."""

    measure: str
    measure_name: str
    unit: str
    since: date
    until: date
    n_in_care: int
    n_without_score: int
    fit: RiskModelFit | None = None
    therapists: tuple[TherapistRow, ...] = ()
    patients: tuple[PatientRow, ...] = ()
    message: str | None = None
    pending: bool = False
    dropout_handling: str = (
        "Patients who stopped coming (no visit for 30 days, or discharged without a second "
        "score) keep their last score — no change if nothing followed the intake — and are "
        "flagged and counted against their therapist; leaving them out would flatter a "
        "therapist who loses the patients who are not improving."
    )


@dataclass(frozen=True, slots=True)
class _Prepared:
    """The model input and the counts of episodes that could not enter it."""

    outcomes: list[EpisodeOutcome]
    patient_ids: dict[int, str]
    n_in_care: int
    n_without_score: int


def _measure(code: str) -> measures.Measure:
    m = measures.get_measure(code)
    if m.change_score:
        raise InvalidInput(
            f"{m.code} already rates change; choose a measure with an intake score",
            field="measure",
            code="change_score_measure",
        )
    return m


def measure_options(*, session: Session, actor: Actor) -> list[tuple[str, str, int]]:
    """(code, name, episodes) of the primary measures the clinic uses that have a baseline."""
    require(actor, Permission.ANALYTICS)
    out = []
    for code, n in store.measures_in_use(session, actor.clinic_id):
        m = measures.get_measure(code)
        if not m.change_score:
            out.append((m.code, m.name, n))
    return out


def outcomes(
    *,
    session: Session,
    actor: Actor,
    measure: str,
    today: date,
    min_episodes: int = MIN_EPISODES,
) -> Outcomes:
    """Risk-adjusted outcomes on ``measure`` over the 12 months to ``today``, cut to the actor.

    Raises:
        NotPermitted: the role has no analytics permission.
        InvalidInput: unknown or change-score measure, or a threshold below 5.
    """
    require(actor, Permission.ANALYTICS)
    m = measure_for_model(measure, min_episodes)
    since = today - timedelta(days=WINDOW_DAYS)
    key = computations.digest(
        "insight-outcomes", actor.clinic_id, m.code, today, min_episodes,
        revisions.stamp(session, actor.clinic_id),
    )  # fmt: skip
    cache = computations.cache_of("insight-fits")
    found = cache.peek(key)
    if found is None:
        # While the fit runs, requests that poll for it reuse the loaded input.
        prepared = _memo_get("input:" + key) or _prepare(session, actor.clinic_id, m, today)
        _memo_put("input:" + key, prepared)
        found = cache.get(key, lambda: _fit(prepared, min_episodes))
        if found is None:
            base = Outcomes(m.code, m.name, m.unit, since, today, 0, 0)
            return replace(base, pending=True, message=PENDING)
    _memo_drop("input:" + key)  # fitted: the input is no longer needed
    prepared, fitted, message = found
    base = Outcomes(
        m.code, m.name, m.unit, since, today, prepared.n_in_care, prepared.n_without_score,
        fit=fitted, message=message,
    )  # fmt: skip
    result = _for_actor(session, actor, base, prepared, key)
    _audit(session, actor, result)
    return result


def measure_for_model(measure: str, min_episodes: int) -> measures.Measure:
    """The measure to fit, checked as ``outcomes`` checks it (for the network's view too)."""
    m = _measure(measure)
    if min_episodes < 5:
        raise InvalidInput(
            "at least 5 episodes must be asked for", field="min_episodes", code="too_small"
        )
    return m


def prepared_outcomes(
    session: Session, clinic_id: int, m: measures.Measure, today: date
) -> list[EpisodeOutcome]:
    """The clinic's episodes of ``m`` that ended in the window, as the model's input."""
    return _prepare(session, clinic_id, m, today).outcomes


def _fit(
    prepared: _Prepared, min_episodes: int
) -> tuple[_Prepared, RiskModelFit | None, str | None]:
    try:
        return prepared, risk_model.fit(prepared.outcomes, min_episodes=min_episodes), None
    except NotEnoughData as exc:
        return prepared, None, f"{exc} (episodes of this measure that ended in the last 12 months)"


def _prepare(session: Session, clinic_id: int, m: measures.Measure, today: date) -> _Prepared:
    """Episodes that ended in the window (discharged, or lapsed: dropouts) with their scores."""
    tomorrow = today + timedelta(days=1)
    facts = store.episodes_for_measure(session, clinic_id, m.code, tomorrow)
    scores = store.scores_for_measure(session, clinic_id, m.code, tomorrow)
    since, lapse = today - timedelta(days=WINDOW_DAYS), today - timedelta(days=LAPSED_DAYS)
    rows, ids, in_care, no_score = [], {}, 0, 0
    for f in facts:
        series = scores.get(f.episode_id, [])
        ended = _ended_on(f, lapse)
        if ended is None:
            in_care += 1
            continue
        if not since < ended <= today:
            continue
        if not series:
            no_score += 1
            continue
        rows.append(_outcome(m, f, series))
        ids[f.patient_id] = f.patient_external_id
    return _Prepared(rows, ids, in_care, no_score)


def _ended_on(f: store.EpisodeFacts, lapse: date) -> date | None:
    """When the episode ended: its discharge, or its last visit when it lapsed; None while the
    patient is still in care."""
    if f.status == "discharged":
        return f.ended_on or (f.last_visit_at.date() if f.last_visit_at else f.started_on)
    last = f.last_visit_at.date() if f.last_visit_at else f.started_on
    return last if last < lapse else None


def _outcome(
    m: measures.Measure, f: store.EpisodeFacts, series: list[tuple[float, datetime]]
) -> EpisodeOutcome:
    intake, last = series[0][0], series[-1][0]
    dropout = f.status != "discharged" or len(series) < 2
    reached = None
    if m.default_mcid is not None:
        reached = response.classify(m, intake, last).category == "improved"
    return EpisodeOutcome(
        episode=f.episode_id,
        patient=f.patient_id,
        therapist=f.therapist_id,
        clinic=f.clinic_id,
        intake=intake,
        change=response.change(m, intake, last),
        dropout=dropout,
        reached_mcid=reached,
        age=age_on(f.birth_date, f.started_on),
        sex=f.sex,
        chronicity=f.chronicity,
        body_region=f.body_region,
        condition_group=f.condition_group,
        surgery=f.surgery,
        comorbidity_count=f.comorbidity_count,
        payer=f.payer,
        precautions=int(f.precautions),
    )


def pseudonyms(key: str, units: list[int]) -> dict[int, str]:
    """ "Therapist A", "Therapist B", … in an order drawn from the fit's key, so the label
    says nothing about the account (neither its id nor its name), and stays fixed while the
    data do."""
    order = sorted(units, key=lambda u: hashlib.sha256(f"{key}:{u}".encode()).hexdigest())
    return {u: f"Therapist {_letters(i)}" for i, u in enumerate(order)}


def _letters(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, rest = divmod(i - 1, 26)
        out = chr(65 + rest) + out
    return out


def _for_actor(
    session: Session, actor: Actor, base: Outcomes, prepared: _Prepared, key: str
) -> Outcomes:
    fit = base.fit
    if fit is None:
        return base
    shares = {s.unit: s for s in fit.mcid.therapists} if fit.mcid else {}
    units = [u for u in fit.therapists if actor.role != Role.THERAPIST or u.unit == actor.user_id]
    if actor.role == Role.RESEARCHER:
        names = pseudonyms(key, [u.unit for u in fit.therapists])
    else:
        names = store.therapist_names(session, actor.clinic_id, [u.unit for u in units])
    rows = tuple(
        TherapistRow(
            names.get(u.unit, "Former staff member"),
            u.unit == actor.user_id,
            u.n,
            u.n_dropouts,
            u.mean_residual,
            u.effect,
            u.ci_low,
            u.ci_high,
            _mcid_row(shares.get(u.unit)),
        )  # fmt: skip
        for u in units
    )
    patients: tuple[PatientRow, ...] = ()
    if actor.role == Role.THERAPIST:
        patients = tuple(
            PatientRow(
                prepared.patient_ids[r.patient], r.actual, r.predicted, r.residual, r.dropout
            )
            for r in fit.residuals
            if r.therapist == actor.user_id
        )
    # Only aggregates without internal ids leave: the rows above carry the therapists.
    fit = replace(fit, residuals=(), therapists=(), clinics=(), mcid=_mcid_for(fit))
    return replace(base, fit=fit, therapists=rows, patients=patients)


def _mcid_for(fit: RiskModelFit) -> risk_model.McidFit | None:
    """The MCID model without per-therapist rows (those travel on the actor's own rows)."""
    if fit.mcid is None:
        return None
    return replace(fit.mcid, therapists=(), clinics=())


def _mcid_row(share: risk_model.McidShare | None) -> McidRow | None:
    if share is None:
        return None
    return McidRow(
        share.n, share.reached, share.observed, share.expected, share.adjusted,
        share.ci_low, share.ci_high,
    )  # fmt: skip


def _audit(session: Session, actor: Actor, result: Outcomes) -> None:
    detail = {"measure": result.measure, "episodes": result.fit.n if result.fit else 0}
    audit.record(
        session=session, actor=actor, action="read", entity_type="clinic_insight", detail=detail
    )
    for row in result.patients:  # patient-level figures: one row per patient shown
        audit.record(
            session=session, actor=actor, action="read", entity_type="clinic_insight",
            patient_id=row.patient_id, detail={"measure": result.measure},
        )  # fmt: skip


# --------------------------------------------------------------------------- safety and dose


@dataclass(frozen=True, slots=True)
class Rate:
    """Events per 100 visits (or a share of visits) with its n and 95 % interval."""

    events: int
    n: int
    value: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True, slots=True)
class Mean:
    """Mean minutes per treated area with its n and 95 % interval (t)."""

    n: int
    value: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True, slots=True)
class SafetyRow:
    label: str
    mine: bool
    visits: int
    adverse_events: Rate
    bruising: Rate
    precautions: Rate
    stops: dict[str, Rate] = field(default_factory=dict)
    minutes: dict[str, Mean] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Safety:
    since: date
    until: date
    clinic: SafetyRow | None
    therapists: tuple[SafetyRow, ...]
    message: str | None = None
    unattributed_events: int = 0
    """Adverse events recorded without a visit that followed no visit of the period: in the
    clinic's rate, in no therapist's."""


def safety(*, session: Session, actor: Actor, today: date) -> Safety:
    """Adverse events, bruising and stop-rule events per 100 visits, precaution use and
    treatment time per region, per therapist and for the clinic, over the last 12 months."""
    require(actor, Permission.ANALYTICS)
    since = today - timedelta(days=WINDOW_DAYS)
    start = datetime.combine(since, time(), UTC)
    end = datetime.combine(today + timedelta(days=1), time(), UTC)
    key = computations.digest(
        "insight-safety", actor.clinic_id, today, revisions.stamp(session, actor.clinic_id)
    )
    found = _memo_get(key)
    if found is None:  # counted once per data version: the same counts serve every role
        found = (
            _with_unlinked_events(session, actor.clinic_id, start, end),
            store.stop_counts(session, actor.clinic_id, start, end),
            store.treatment_time(session, actor.clinic_id, start, end),
        )
        _memo_put(key, found)
    (counts, unattributed), stops, minutes = found
    audit.record(session=session, actor=actor, action="read", entity_type="clinic_safety")
    if not counts:
        return Safety(since, today, None, (), "not enough data: n = 0 visits in the last 12 months")
    ids = [c.therapist_id for c in counts]
    if actor.role == Role.RESEARCHER:
        names = pseudonyms(key, ids)
    else:
        names = store.therapist_names(session, actor.clinic_id, ids)
    rows = tuple(
        _safety_row(
            names.get(c.therapist_id, "Former staff member"),
            c.therapist_id == actor.user_id,
            [c],
            [s for s in stops if s[0] == c.therapist_id],
            [m for m in minutes if m[0] == c.therapist_id],
        )  # fmt: skip
        for c in counts
        if actor.role != Role.THERAPIST or c.therapist_id == actor.user_id
    )
    clinic = _safety_row("The clinic", False, counts, stops, minutes, unattributed)
    return Safety(since, today, clinic, rows, unattributed_events=unattributed)


def _with_unlinked_events(
    session: Session, clinic_id: int, start: datetime, end: datetime
) -> tuple[list[store.SafetyCounts], int]:
    """Safety counts with each adverse event recorded without a visit counted against the
    therapist of the visit it most likely followed; and how many followed none (counted for
    the clinic only)."""
    counts = {c.therapist_id: c for c in store.safety_counts(session, clinic_id, start, end)}
    unattributed = 0
    for therapist in store.unlinked_event_therapists(session, clinic_id, start, end):
        row = counts.get(therapist) if therapist is not None else None
        if row is None:
            unattributed += 1
        else:
            counts[row.therapist_id] = replace(row, adverse_events=row.adverse_events + 1)
    return list(counts.values()), unattributed


def _safety_row(
    label: str,
    mine: bool,
    counts: list[store.SafetyCounts],
    stops: list[tuple[int, str, int]],
    minutes: list[tuple[int, str, int, float, float]],
    unattributed_events: int = 0,
) -> SafetyRow:
    visits = sum(c.visits for c in counts)
    by_reason: dict[str, int] = {}
    for _, reason, n in stops:
        if reason in STOP_RULES:
            by_reason[reason] = by_reason.get(reason, 0) + n
    by_region: dict[str, tuple[int, float, float]] = {}
    for _, region, n, s, s2 in minutes:
        old = by_region.get(region, (0, 0.0, 0.0))
        by_region[region] = (old[0] + n, old[1] + s, old[2] + s2)
    precautions = sum(c.visits_with_precautions for c in counts)
    lo, hi = risk_model.wilson(precautions, visits)
    return SafetyRow(
        label,
        mine,
        visits,
        _rate(sum(c.adverse_events for c in counts) + unattributed_events, visits),
        _rate(sum(c.bruising for c in counts), visits),
        Rate(precautions, visits, 100 * precautions / visits, 100 * lo, 100 * hi),
        {reason: _rate(n, visits) for reason, n in sorted(by_reason.items())},
        {region: _mean(*v) for region, v in sorted(by_region.items())},
    )


def _rate(events: int, visits: int) -> Rate:
    value, lo, hi = risk_model.poisson_rate(events, visits)
    return Rate(events, visits, value, lo, hi)


def _mean(n: int, total: float, squares: float) -> Mean:
    """Mean minutes from the count, sum and sum of squares of seconds."""
    from scipy import stats

    mean = total / n
    if n < 2:
        return Mean(n, mean / 60, -math.inf, math.inf)
    var = max(0.0, (squares - n * mean * mean) / (n - 1))
    half = float(stats.t.ppf(0.975, n - 1)) * math.sqrt(var / n)
    return Mean(n, mean / 60, (mean - half) / 60, (mean + half) / 60)


# --------------------------------------------------------------------------- charts


_MEMO: OrderedDict[str, Any] = OrderedDict()
_MEMO_LOCK = threading.Lock()
_MEMO_SIZE = 256


def _memo_get(key: str) -> Any:
    """A value remembered under ``key`` (a digest of everything it depends on), or None."""
    with _MEMO_LOCK:
        if key in _MEMO:
            _MEMO.move_to_end(key)
            return _MEMO[key]
    return None


def _memo_drop(key: str) -> None:
    with _MEMO_LOCK:
        _MEMO.pop(key, None)


def _memo_put(key: str, value: Any) -> None:
    with _MEMO_LOCK:
        _MEMO[key] = value
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)


def outcome_charts(result: Outcomes) -> dict[str, str]:
    """Funnel plot and effect intervals (SVG text) of the actor's cut; empty when no fit.
    Drawing takes about a second, so a chart is drawn once per distinct content."""
    key = computations.digest("insight-outcome-charts", repr(result))
    charts: dict[str, str] | None = _memo_get(key)
    if charts is None:
        charts = _outcome_charts(result)
        _memo_put(key, charts)
    return charts


def _outcome_charts(result: Outcomes) -> dict[str, str]:
    from strigil.evidence import insight_plots as plots

    fit = result.fit
    if fit is None or not result.therapists:
        return {}
    funnel = [
        plots.Point(r.label, r.mean_residual, r.ci_low, r.ci_high, r.n, r.mine)
        for r in result.therapists
    ]
    effects = [
        plots.Point(r.label, r.effect, r.ci_low, r.ci_high, r.n, r.mine) for r in result.therapists
    ]
    charts = {
        "funnel": plots.funnel_svg(funnel, math.sqrt(fit.residual_variance), unit=result.unit),
        "effects": plots.intervals_svg(
            effects, xlabel=f"Therapist effect ({result.unit}), 95 % interval", reference=0.0
        ),
    }
    shares = [r for r in result.therapists if r.mcid is not None]
    if shares:
        points = [
            plots.Point(
                r.label,
                100 * r.mcid.adjusted,
                100 * r.mcid.ci_low,
                100 * r.mcid.ci_high,
                r.mcid.n,
                r.mine,
            )  # fmt: skip
            for r in shares
            if r.mcid is not None
        ]
        overall = 100 * fit.mcid.overall if fit.mcid else None
        charts["mcid"] = plots.intervals_svg(
            points, xlabel="Reached the MCID, adjusted (% of patients), 95 % interval",
            reference=overall,
        )  # fmt: skip
    return charts


def safety_charts(result: Safety) -> dict[str, str]:
    """One interval chart per rate, therapists and the clinic (SVG text), drawn once per
    distinct content."""
    key = computations.digest("insight-safety-charts", repr(result))
    charts: dict[str, str] | None = _memo_get(key)
    if charts is None:
        charts = _safety_charts(result)
        _memo_put(key, charts)
    return charts


def _safety_charts(result: Safety) -> dict[str, str]:
    from strigil.evidence import insight_plots as plots

    if result.clinic is None:
        return {}
    rows = [*result.therapists, result.clinic]

    def chart(pick: Callable[[SafetyRow], Rate], xlabel: str) -> str:
        points = [
            plots.Point(r.label, pick(r).value, pick(r).ci_low, pick(r).ci_high, pick(r).n, r.mine)
            for r in rows
        ]  # the dashed line is the clinic's own rate
        return plots.intervals_svg(points, xlabel=xlabel, reference=pick(clinic).value)

    clinic = result.clinic
    charts = {
        "adverse_events": chart(lambda r: r.adverse_events, "Adverse events per 100 visits"),
        "bruising": chart(lambda r: r.bruising, "Bruised areas (ecchymosis) per 100 visits"),
        "precautions": chart(lambda r: r.precautions, "Visits under precautions (%)"),
    }
    if clinic.stops:
        points = [
            plots.Point(reason.replace("_", " "), rate.value, rate.ci_low, rate.ci_high, rate.n)
            for reason, rate in clinic.stops.items()
        ]
        charts["stops"] = plots.intervals_svg(points, xlabel="Stop-rule events per 100 visits")
    if clinic.minutes:
        points = [
            plots.Point(region.replace("_", " "), m.value, m.ci_low, m.ci_high, m.n)
            for region, m in clinic.minutes.items()
        ]
        charts["minutes"] = plots.intervals_svg(
            points, xlabel="Minutes of IASTM per treated area, by region (mean, 95 % interval)"
        )
    return charts
