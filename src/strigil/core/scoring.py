"""Score an outcome measure exactly as its authors publish it, missing-item rule included.

``score("ODI", [2, 3, None, ...])`` validates every answer against the registry
(:mod:`strigil.core.measures`), applies the measure's published rule for missing items and
returns a :class:`Score`. ``None`` is a missing (or not-applicable) item. Bad input raises
:class:`~strigil.errors.InvalidInput` naming the field (``answers[i]`` is the 0-based position
in ``answers``; the detail names the 1-based item number) and the rule that was broken.

Each scoring method below cites its source; the registry holds the full citations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

from strigil.core.measures import Direction, Item, Measure, get_measure
from strigil.errors import InvalidInput

Answer = float | None


@dataclass(frozen=True, slots=True)
class Score:
    """A scored measure: the value, its scale and how many items it rests on."""

    measure: str
    score: float
    min: float
    max: float
    unit: str
    direction: Direction
    subscores: dict[str, float] = field(default_factory=dict)
    answered: int = 0
    missing: int = 0
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Options:
    unit: str
    factor: float
    joint: str | None = None
    motion: str | None = None
    side: str | None = None
    branch: str | None = None


def score(measure_code: str, answers: Sequence[float | None], **options: Any) -> Score:
    """Score ``answers`` (one per item, ``None`` = missing) for the measure ``measure_code``.

    Options: ``unit`` for single measurements that accept several units (VAS ``mm``/``cm``,
    PPT ``kPa``/``kg/cm2``/``N/cm2``, SIT_REACH ``cm``/``mm``/``in``); ``joint``, ``motion`` and
    ``side`` for ROM; ``item8_branch`` (``A``/``B``/``C``) for VISA-A and VISA-P.
    """
    measure = get_measure(measure_code)
    opts = _options(measure, options)
    values = _validate(measure, answers, opts)
    method = measure.scoring["method"]
    if method == "goniometry":
        return _goniometry(measure, values, opts)
    return _METHODS[method](measure, values)


# ------------------------------------------------------------------------------ options


def _allowed_options(m: Measure) -> set[str]:
    allowed = {"unit"}
    if m.norms:
        allowed |= {"joint", "motion", "side"}
    if any(i.branches for i in m.items):
        allowed.add("item8_branch")
    return allowed


def _options(m: Measure, options: Mapping[str, Any]) -> _Options:
    """Check options against what this measure accepts; unknown ones are errors, not ignored."""
    for name in options:
        if name not in _allowed_options(m):
            raise InvalidInput(
                f"{m.code} does not take the option '{name}'; it takes: "
                f"{', '.join(sorted(_allowed_options(m)))}",
                code="unknown_option",
                field=name,
            )
    for name, value in options.items():
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"{name} must be text", code="invalid_option", field=name)
    unit = options.get("unit") or m.unit
    if unit not in m.units:
        raise InvalidInput(
            f"unit '{unit}' is not accepted for {m.code}; use one of: {', '.join(m.units)}",
            code="unknown_unit",
            field="unit",
        )
    branch = options.get("item8_branch")
    if branch is not None and branch not in ("A", "B", "C"):
        raise InvalidInput(
            f"item8_branch must be 'A', 'B' or 'C', not '{branch}'",
            code="unknown_branch",
            field="item8_branch",
        )
    opts = _Options(unit=unit, factor=m.units[unit], branch=branch)
    return _rom_options(m, options, opts) if m.norms else opts


def _rom_options(m: Measure, options: Mapping[str, Any], opts: _Options) -> _Options:
    """A ROM measurement is joint + motion + side + degrees; all three names are required."""
    for name in ("joint", "motion", "side"):
        if not options.get(name):
            raise InvalidInput(
                f"ROM needs '{name}' (a measurement is joint + motion + side + degrees)",
                code="missing_option",
                field=name,
            )
    side = str(options["side"]).lower()
    if side not in ("left", "right", "midline"):
        raise InvalidInput(
            f"side must be 'left', 'right' or 'midline', not '{options['side']}'",
            code="invalid_side",
            field="side",
        )
    joint, motion = str(options["joint"]).lower(), str(options["motion"]).lower()
    m.norm(joint, motion)
    return _Options(opts.unit, opts.factor, joint=joint, motion=motion, side=side)


# ------------------------------------------------------------------------------ validation


def _validate(m: Measure, answers: Sequence[float | None], opts: _Options) -> list[Answer]:
    """Check the item count and every answer; return values in the measure's base unit."""
    if isinstance(answers, str | bytes) or not isinstance(answers, Sequence):
        raise InvalidInput(
            "answers must be a list of numbers (None for a missing item)",
            code="not_a_list",
            field="answers",
        )
    if not m.min_items <= len(answers) <= m.max_items:
        want = str(m.min_items) if m.min_items == m.max_items else f"{m.min_items} to {m.max_items}"
        raise InvalidInput(
            f"{m.code} has {want} items; got {len(answers)} answers",
            code="wrong_item_count",
            field="answers",
        )
    return [_check(m, m.items[i], i, a, opts) for i, a in enumerate(answers)]


def _check(m: Measure, item: Item, index: int, answer: object, opts: _Options) -> Answer:
    if answer is None:
        return None
    where = f"answers[{index}]"
    name = f"{m.code} item {item.number} ({item.label})"
    if isinstance(answer, bool) or not isinstance(answer, Real) or not math.isfinite(answer):
        raise InvalidInput(f"{name}: {answer!r} is not a number", code="not_a_number", field=where)
    value = float(answer) * opts.factor
    if not item.min <= value <= item.max:
        raise InvalidInput(_range_detail(m, item, name, float(answer), value, opts),
                           code="out_of_range", field=where)  # fmt: skip
    if item.integer and not value.is_integer():
        raise InvalidInput(
            f"{name}: {answer} must be a whole number", code="not_whole_number", field=where
        )
    allowed = item.branches.get(opts.branch, item.allowed) if opts.branch else item.allowed
    if allowed is not None and value not in allowed:
        branch = f" in branch {opts.branch}" if opts.branch and item.branches else ""
        raise InvalidInput(
            f"{name}: {answer:g} is not an allowed value{branch}; allowed: "
            f"{', '.join(f'{v:g}' for v in allowed)}",
            code="not_allowed_value",
            field=where,
        )
    return value


def _range_detail(
    m: Measure, item: Item, name: str, raw: float, value: float, opts: _Options
) -> str:
    """Say the allowed range, and when a unit was converted, show the conversion as a hint."""
    unit = f" {m.unit}" if len(m.items) == 1 else ""
    span = f"{item.min:g} to {item.max:g}{unit}"
    if opts.unit == m.unit:
        return f"{name}: {raw:g} is outside the allowed range {span}"
    return (
        f"{name}: {raw:g} {opts.unit} = {value:g} {m.unit}, outside the allowed range {span}; "
        f"check the unit (unit='{opts.unit}')"
    )


def _missing_error(m: Measure, missing: int, total: int, rule: str | None = None) -> InvalidInput:
    return InvalidInput(
        f"{m.code}: {missing} of {total} items missing, more than its scoring rule allows. "
        f"Rule: {rule or m.scoring['missing']['rule']}",
        code="too_many_missing",
        field="answers",
    )


def _answered(m: Measure, values: Sequence[Answer]) -> list[float]:
    """The answered values, after checking the measure's max-missing / min-answered rule."""
    present = [v for v in values if v is not None]
    missing = len(values) - len(present)
    rule = m.scoring["missing"]
    max_missing = rule.get("max_missing")
    if (max_missing is not None and missing > max_missing) or len(present) < rule.get(
        "min_answered", 1
    ):
        raise _missing_error(m, missing, len(values))
    return present


def _result(m: Measure, value: float, values: Sequence[Answer], **sub: float) -> Score:
    answered = sum(v is not None for v in values)
    missing = len(values) - answered
    rule = m.scoring["missing"]["rule"]
    notes = (f"{missing} item(s) missing, scored by the published rule: {rule}",) if missing else ()
    return Score(
        measure=m.code,
        score=value,
        min=m.min,
        max=m.max,
        unit=m.unit,
        direction=m.direction,
        subscores=dict(sub),
        answered=answered,
        missing=missing,
        notes=notes,
    )


# ------------------------------------------------------------------------------ methods


def _single_value(m: Measure, values: Sequence[Answer]) -> Score:
    """One rating or measurement (NPRS, VAS, PPT, sit-and-reach, GROC): the value itself."""
    return _result(m, _answered(m, values)[0], values)


def _goniometry(m: Measure, values: Sequence[Answer], opts: _Options) -> Score:
    """ROM in degrees, with the AAOS normal and percent of normal (Norkin & White tables)."""
    degrees = _answered(m, values)[0]
    norm = m.norm(opts.joint or "", opts.motion or "")
    pct = degrees / norm.normal * 100
    return _result(m, degrees, values, normal=float(norm.normal), percent_of_normal=pct)


def _percent_of_answered(m: Measure, values: Sequence[Answer]) -> Score:
    """sum / (item max x answered) x 100: ODI (Fairbank & Pynsent 2000), FAAM (Martin 2005)."""
    present = _answered(m, values)
    return _result(m, sum(present) / (m.scoring["item_max"] * len(present)) * 100, values)


def _ndi(m: Measure, values: Sequence[Answer]) -> Score:
    """NDI points (0-50): a missing item takes the mean of the others (Vernon); % = points x 2."""
    present = _answered(m, values)
    points = sum(present) / len(present) * len(values)
    return _result(m, points, values, percent=points / (m.scoring["item_max"] * len(values)) * 100)


def _sum(m: Measure, values: Sequence[Answer]) -> Score:
    """Plain item sum (LEFS, Binkley 1999; VISA-A, Robinson 2001; VISA-P, Visentini 1998)."""
    return _result(m, sum(_answered(m, values)), values)


def _mean(m: Measure, values: Sequence[Answer]) -> Score:
    """Mean of the rated items (PSFS, Stratford 1995)."""
    present = _answered(m, values)
    return _result(m, sum(present) / len(present), values)


def _quickdash(m: Measure, values: Sequence[Answer]) -> Score:
    """((sum / n) - 1) x 25 with at most one item missing (Beaton 2005, QuickDASH manual)."""
    present = _answered(m, values)
    return _result(m, (sum(present) / len(present) - 1) * 25, values)


def _subscale(m: Measure, values: Sequence[Answer], name: str) -> list[Answer]:
    first, last = m.scoring["subscales"][name]["items"]
    return list(values[first - 1 : last])


def _prtee(m: Measure, values: Sequence[Answer]) -> Score:
    """Pain sum + function sum / 2; missing items take their subscale's mean (MacDermid 2007)."""
    parts: dict[str, float] = {}
    for name, spec in m.scoring["subscales"].items():
        items = _subscale(m, values, name)
        present = [v for v in items if v is not None]
        missing = len(items) - len(present)
        if missing > spec["max_missing"]:
            rule = f"{name} subscale: at most {spec['max_missing']} missing (Strigil bound)"
            raise _missing_error(m, missing, len(items), rule)
        parts[name] = sum(present) / len(present) * len(items) / spec["divisor"]
    return _result(m, sum(parts.values()), values, **parts)


def _ffi(m: Measure, values: Sequence[Answer]) -> Score:
    """Subscale % of applicable items' maximum; the total pools every applicable item over its
    maximum, the total the cited summary of Budiman-Mak 1991 reports. The mean of the three
    subscales, which it calls the alternative method, is reported beside it under its name."""
    parts: dict[str, float] = {}
    for name in m.scoring["subscales"]:
        items = _subscale(m, values, name)
        present = [v for v in items if v is not None]
        if not present:
            rule = f"the {name} subscale needs at least one applicable item"
            raise _missing_error(m, len(items), len(items), rule)
        parts[name] = sum(present) / (m.scoring["item_max"] * len(present)) * 100
    applicable = [v for v in values if v is not None]
    pooled = sum(applicable) / (m.scoring["item_max"] * len(applicable)) * 100
    alternative = m.scoring["alternative"]["name"]  # named in the catalogue with its source
    mean = sum(parts.values()) / len(parts)
    return _result(m, pooled, values, **parts, **{alternative: mean})


_METHODS: dict[str, Callable[[Measure, Sequence[Answer]], Score]] = {
    "single_value": _single_value,
    "percent_of_answered": _percent_of_answered,
    "ndi": _ndi,
    "sum": _sum,
    "mean": _mean,
    "quickdash": _quickdash,
    "prtee": _prtee,
    "ffi": _ffi,
}
