"""Is IASTM working for this patient? Change, responder class, reconsider prompt, expected course.

The decision logic respects measurement error (keys in docs/sources.md; clinical-domain
notes, section 5): a change smaller than the minimal detectable change (MDC) cannot be told
apart from noise, and one smaller than the minimal clinically important difference (MCID)
does not matter to the patient, so

* improved: an improvement of at least the MCID and, where the MDC is known, at least the MDC;
* worse: a worsening of at least the MDC (of at least the MCID where no MDC is known);
* unchanged: a change within the MDC (below the MCID where no MDC is known);
* partial: in between, an improvement beyond the MDC that falls short of the MCID.

With no MCID-level improvement at the latest measurement after a configured number of visits
(default 4; a response is expected by visit 3-4, S17) the therapist is prompted to reassess,
modify or stop IASTM; an improvement that was later lost does not silence the prompt.
Thresholds come from the registry (:mod:`strigil.core.measures`) unless the caller gives its
own.

Everything here is signed so that a **positive change is an improvement**, whatever the
measure's direction. Boundaries are inclusive: a change exactly equal to a threshold meets it
(compared with a 1e-9 tolerance so that 5.0 - 3.7 counts as 1.3).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal

from strigil.core.measures import Measure, Threshold, get_measure
from strigil.errors import InvalidInput

Category = Literal["improved", "partial", "unchanged", "worse"]
CATEGORIES: tuple[Category, ...] = ("improved", "partial", "unchanged", "worse")
_RANK = {c: i for i, c in enumerate(CATEGORIES)}


@dataclass(frozen=True, slots=True)
class Classification:
    """Responder class of one baseline/current pair, with the thresholds that decided it."""

    measure: str
    category: Category
    change: float
    percent_change: float | None
    mcid: float | None
    mcid_percent: float | None
    mdc: float | None
    mdc_percent: float | None
    basis: str


@dataclass(frozen=True, slots=True)
class ReconsiderPrompt:
    """Whether to prompt the therapist to reconsider IASTM, and why."""

    prompt: bool
    reason: str
    visit_count: int
    threshold_visits: int
    latest: Category | None


@dataclass(frozen=True, slots=True)
class VisitSummary:
    """Distribution of change from baseline at one visit number across episodes."""

    visit: int
    n: int
    median: float
    q1: float
    q3: float


@dataclass(frozen=True, slots=True)
class ExpectedCourse:
    """What happened to comparable completed episodes, or the literature when they are too few."""

    measure: str
    n_episodes: int
    min_episodes: int
    insufficient: bool
    by_visit: tuple[VisitSummary, ...]
    mcid: float | None
    reached_mcid: int | None
    share_reaching_mcid: float | None
    ci_low: float | None
    ci_high: float | None
    literature_expectation: Mapping[str, Any] | None
    note: str


# ------------------------------------------------------------------------------ helpers


def _measure(measure: str | Measure) -> Measure:
    return measure if isinstance(measure, Measure) else get_measure(measure)


def _at_least(value: float, threshold: float) -> bool:
    """Inclusive comparison that forgives binary rounding (5.0 - 3.7 == 1.3 here)."""
    return value >= threshold or math.isclose(value, threshold, rel_tol=1e-9, abs_tol=1e-9)


def _finite(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{name} must be a finite number, not {value!r}", field=name)
    return float(value)


def _on_scale(m: Measure, value: object, name: str) -> float:
    v = _finite(value, name)
    if not m.min <= v <= m.max:
        raise InvalidInput(
            f"{name} {v:g} is outside the {m.code} range {m.min:g} to {m.max:g} {m.unit}",
            code="out_of_range",
            field=name,
        )
    return v


def _positive(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    v = _finite(value, name)
    if v <= 0:
        raise InvalidInput(f"{name} must be greater than 0, not {v:g}", field=name)
    return v


# ------------------------------------------------------------------------------ change


def change(measure: str | Measure, baseline: float, current: float) -> float:
    """Change from baseline, signed so that positive means the patient improved.

    For a lower-is-better measure (pain, disability) that is ``baseline - current``; for a
    higher-is-better one (function, ROM) ``current - baseline``.
    """
    m = _measure(measure)
    b, c = _on_scale(m, baseline, "baseline"), _on_scale(m, current, "current")
    return c - b if m.higher_is_better else b - c


_CHANGE_UNITS = {"points": "points", "%": "points", "deg": "°"}


def describe_change(measure: str | Measure, baseline: float, current: float) -> str:
    """The change in the measure's own direction, in words: "61.4 → 47.7, 13.7 points
    better". A signed number alone ("+13.6") misleads on a lower-is-better measure, where a
    fall is the improvement."""
    m = _measure(measure)
    delta = change(m, baseline, current)
    size = abs(round(delta, 1))
    unit = _CHANGE_UNITS.get(m.unit, m.unit)
    joiner = "" if unit == "°" else " "
    course = f"{_number(baseline)} → {_number(current)}"
    if size == 0:
        return f"{course}, no change"
    word = "better" if delta > 0 else "worse"
    return f"{course}, {_number(size)}{joiner}{unit} {word}"


def _number(value: float) -> str:
    """One decimal at most, none for whole numbers: 61.4, 52, 4.5."""
    rounded = round(value, 1)
    return f"{rounded:.0f}" if rounded == int(rounded) else f"{rounded:.1f}"


def percent_change(measure: str | Measure, baseline: float, current: float) -> float | None:
    """Improvement as a percent of the baseline (None when the baseline is 0)."""
    m = _measure(measure)
    b = _on_scale(m, baseline, "baseline")
    return None if b == 0 else change(m, baseline, current) / abs(b) * 100


# ------------------------------------------------------------------------------ classify


def _thresholds(
    given: tuple[float | None, float | None], default: Threshold | None, name: str
) -> tuple[float | None, float | None, str]:
    """The caller's thresholds if any were given, else the registry default, with its source."""
    value, pct = _positive(given[0], name), _positive(given[1], f"{name}_percent")
    if value is not None or pct is not None:
        return value, pct, "given by the caller"
    if default is None:
        return None, None, "none in the registry"
    return default.value, default.percent, f"{default.population}; {default.source}"


def classify(
    measure: str | Measure,
    baseline: float,
    current: float,
    *,
    mcid: float | None = None,
    mdc: float | None = None,
    mcid_percent: float | None = None,
    mdc_percent: float | None = None,
) -> Classification:
    """Classify a change as improved, partial, unchanged or worse (docs/sources.md).

    improved: improvement >= MCID (or >= the MCID's percent of baseline where the source
    defines one, e.g. ODI 30 %, Ostelo 2008; PRTEE 37 %, Poltawski & Watson 2011) and, where
    an MDC is known, >= the MDC; worse: deterioration >= MDC (>= MCID where no MDC is known;
    the percent threshold is used only when no absolute one exists); partial: improvement
    >= MDC but not improved; else unchanged (within the MDC).
    Passing ``mcid``/``mcid_percent`` (or ``mdc``/``mdc_percent``) replaces the registry default
    as a whole, so a population-specific MCID is never mixed with the default percent rule.
    """
    m = _measure(measure)
    if m.change_score:
        raise InvalidInput(
            f"{m.code} already rates change; read its value directly instead of comparing it "
            "with a baseline",
            code="change_measure",
            field="measure",
        )
    mcid_v, mcid_p, mcid_src = _thresholds((mcid, mcid_percent), m.default_mcid, "mcid")
    mdc_v, mdc_p, _ = _thresholds((mdc, mdc_percent), m.default_mdc, "mdc")
    if mcid_v is None and mcid_p is None:
        raise InvalidInput(
            f"{m.code} has no established MCID in the registry; pass mcid= to classify "
            "against a threshold you choose",
            code="no_mcid",
            field="mcid",
        )
    delta = change(m, baseline, current)
    pct = percent_change(m, baseline, current)
    category = _category(delta, pct, (mcid_v, mcid_p), (mdc_v, mdc_p))
    basis = (
        f"change {delta:+.4g} {m.unit}"
        + (f" ({pct:+.3g} % of baseline)" if pct is not None else "")
        + f"; MCID {_fmt(mcid_v, mcid_p)} ({mcid_src}); MDC {_fmt(mdc_v, mdc_p)}"
    )
    return Classification(m.code, category, delta, pct, mcid_v, mcid_p, mdc_v, mdc_p, basis)


def _meets(delta: float, pct: float | None, value: float | None, percent: float | None) -> bool:
    by_value = value is not None and _at_least(delta, value)
    by_percent = percent is not None and pct is not None and _at_least(pct, percent)
    return by_value or by_percent


def _category(
    delta: float,
    pct: float | None,
    mcid: tuple[float | None, float | None],
    mdc: tuple[float | None, float | None],
) -> Category:
    known_mdc = mdc[0] is not None or mdc[1] is not None
    beyond_error = not known_mdc or _meets(delta, pct, *mdc)
    if _meets(delta, pct, *mcid) and beyond_error:
        return "improved"
    worse_pct = None if pct is None else -pct
    bound = mdc if known_mdc else mcid
    if _meets(-delta, worse_pct, bound[0], bound[1] if bound[0] is None else None):
        return "worse"
    if known_mdc and beyond_error:
        return "partial"
    return "unchanged"


def _fmt(value: float | None, percent: float | None) -> str:
    parts = ([f"{value:g}"] if value is not None else []) + (
        [f"{percent:g} %"] if percent is not None else []
    )
    return " or ".join(parts) if parts else "none"


# ------------------------------------------------------------------------------ reconsider


def reconsider_prompt(
    visit_count: int,
    classifications: Iterable[Classification | Category],
    *,
    threshold_visits: int = 4,
) -> ReconsiderPrompt:
    """Prompt to reassess, modify or stop IASTM after ``threshold_visits`` without MCID change.

    ``classifications`` are this episode's results so far, oldest first (on the primary
    measure or NPRS). Only the latest counts: an improvement that has since been lost is not
    a response, so it does not silence the prompt. The default of 4 visits follows "expect
    response by visit 3-4" (S17, LOW); keep it configurable.
    """
    if isinstance(visit_count, bool) or not isinstance(visit_count, int) or visit_count < 0:
        raise InvalidInput("visit_count must be a whole number >= 0", field="visit_count")
    if isinstance(threshold_visits, bool) or not isinstance(threshold_visits, int):
        raise InvalidInput("threshold_visits must be a whole number", field="threshold_visits")
    if threshold_visits < 1:
        raise InvalidInput("threshold_visits must be at least 1", field="threshold_visits")
    latest = _latest(classifications)
    if latest == "improved":
        reason = "the latest measurement shows an MCID-level improvement"
    elif visit_count < threshold_visits:
        reason = f"only {visit_count} of {threshold_visits} visits so far"
    else:
        reason = (
            f"{visit_count} visits and the latest measurement shows no MCID-level improvement "
            f"(latest: {latest or 'none'}); reassess the diagnosis, modify or stop IASTM"
        )
    prompt = latest != "improved" and visit_count >= threshold_visits
    return ReconsiderPrompt(prompt, reason, visit_count, threshold_visits, latest)


def _latest(classifications: Iterable[Classification | Category]) -> Category | None:
    latest: Category | None = None
    for i, c in enumerate(classifications):
        category = c.category if isinstance(c, Classification) else c
        if category not in _RANK:
            raise InvalidInput(
                f"unknown category {category!r}; use one of {', '.join(CATEGORIES)}",
                field=f"classifications[{i}]",
            )
        latest = category
    return latest


# ------------------------------------------------------------------------------ statistics


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation, as numpy's default method."""
    if not values:
        raise InvalidInput("percentile of an empty list", field="values")
    if not 0 <= q <= 100:
        raise InvalidInput(f"q must be between 0 and 100, not {q}", field="q")
    xs = sorted(values)
    h = (len(xs) - 1) * q / 100
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (Wilson EB. JASA 1927;22:209-212).

    Unlike the Wald interval it stays inside [0, 1] and behaves at 0 % and 100 %, which
    matters for the small counts a single clinic has.
    """
    if n < 1 or not 0 <= successes <= n:
        raise InvalidInput(f"need 0 <= successes <= n and n >= 1, got {successes}/{n}", field="n")
    if not 0 < confidence < 1:
        raise InvalidInput("confidence must be between 0 and 1", field="confidence")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


# ------------------------------------------------------------------------------ expected course


def expected_course(
    histories: Sequence[Sequence[tuple[int, float]]],
    measure: str | Measure,
    *,
    min_episodes: int = 10,
    mcid: float | None = None,
) -> ExpectedCourse:
    """Median and IQR of change by visit, and the share reaching the MCID by the last visit.

    ``histories`` holds one list per completed comparable episode of
    ``(visit_number, change_from_baseline)`` pairs, the change signed as :func:`change` signs
    it (positive = better). With fewer than ``min_episodes`` episodes the clinic figures are
    withheld (too few to set an expectation) and the result is flagged ``insufficient``; the
    literature figure from the registry is always attached.
    """
    m = _measure(measure)
    if isinstance(min_episodes, bool) or not isinstance(min_episodes, int) or min_episodes < 1:
        raise InvalidInput("min_episodes must be a whole number >= 1", field="min_episodes")
    episodes = [_episode(e, i) for i, e in enumerate(histories)]
    threshold = _positive(mcid, "mcid") or (m.default_mcid.value if m.default_mcid else None)
    lit = m.literature_expectation
    if len(episodes) < min_episodes:
        note = (
            f"only {len(episodes)} comparable completed episodes (< {min_episodes}); "
            "showing the literature expectation instead of clinic figures"
        )
        return ExpectedCourse(
            m.code, len(episodes), min_episodes, True, (), threshold, None, None, None, None,
            lit, note,
        )  # fmt: skip
    return _course(m, episodes, min_episodes, threshold, lit)


def _episode(raw: Sequence[tuple[int, float]], index: int) -> dict[int, float]:
    name = f"histories[{index}]"
    if isinstance(raw, str | bytes) or not isinstance(raw, Sequence) or not raw:
        raise InvalidInput(f"{name} must be a non-empty list of (visit, change)", field=name)
    out: dict[int, float] = {}
    for pair in raw:
        if not isinstance(pair, Sequence) or len(pair) != 2:
            raise InvalidInput(f"{name}: {pair!r} is not a (visit, change) pair", field=name)
        visit, delta = pair
        if isinstance(visit, bool) or not isinstance(visit, int) or visit < 0:
            raise InvalidInput(f"{name}: visit {visit!r} must be a whole number >= 0", field=name)
        if visit in out:
            raise InvalidInput(f"{name}: visit {visit} appears twice", field=name)
        out[visit] = _finite(delta, name)
    return out


def _course(
    m: Measure,
    episodes: list[dict[int, float]],
    min_episodes: int,
    threshold: float | None,
    lit: Mapping[str, Any] | None,
) -> ExpectedCourse:
    by_visit: dict[int, list[float]] = {}
    for ep in episodes:
        for visit, delta in ep.items():
            by_visit.setdefault(visit, []).append(delta)
    summaries = tuple(
        VisitSummary(v, len(d), percentile(d, 50), percentile(d, 25), percentile(d, 75))
        for v, d in sorted(by_visit.items())
    )
    if threshold is None:
        note = f"{m.code} has no absolute MCID; pass mcid= for the share reaching it"
        return ExpectedCourse(
            m.code, len(episodes), min_episodes, False, summaries, None, None, None, None, None,
            lit, note,
        )  # fmt: skip
    reached = sum(_at_least(ep[max(ep)], threshold) for ep in episodes)
    low, high = wilson_interval(reached, len(episodes))
    note = f"{reached} of {len(episodes)} episodes reached the MCID ({threshold:g}) by the end"
    return ExpectedCourse(
        m.code, len(episodes), min_episodes, False, summaries, threshold, reached,
        reached / len(episodes), low, high, lit, note,
    )  # fmt: skip
