"""Billing units for timed CPT codes, and the visit's CPT 97140 summary.

Why: IASTM is usually reported as CPT 97140, manual therapy, a timed code billed in 15-minute
units (S28). Medicare counts units with the "8-minute rule": total timed minutes in the visit
determine total units (8-22 → 1, 23-37 → 2, each further 15 minutes → one more), and the units
are then shared among the timed codes by their documented minutes (S28, CMS guidance). Some
commercial payers instead use the AMA "substantial portion" rule, counting each code on its
own: a unit for each full 15 minutes plus one for a remainder of 8 minutes or more (S28; GK).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib.resources import files

from strigil.errors import InvalidInput

__all__ = [
    "BillingRule",
    "BillingSummary",
    "CPT_MANUAL_THERAPY",
    "ChargeLine",
    "Code",
    "VisitCharges",
    "allocate_units",
    "billing_summary",
    "code",
    "codes",
    "minutes_from_seconds",
    "units_for_minutes",
    "visit_charges",
]

CPT_MANUAL_THERAPY = "97140"
_UNIT = 15
_THRESHOLD = 8

_DESCRIPTION_97140 = (
    "Manual therapy (such as soft-tissue or joint mobilization, manual traction or manual "
    "lymphatic drainage) to one or more regions, timed in 15-minute units"
)
_NOTE_97140 = (
    "The CPT position is that manual therapy describes hands-on techniques, and some payers "
    "question instrument-delivered work (S28). Document that the clinician performed skilled "
    "instrument-assisted soft tissue mobilization one-on-one, with the regions and tissues "
    "treated, instrument, stroke types, minutes, the functional goal, the objective response "
    "and the plan; avoid wording such as 'routine massage' (S28)."
)


class BillingRule(StrEnum):
    """How minutes turn into units."""

    CMS = "cms"  # Medicare 8-minute rule on total timed minutes
    AMA = "ama"  # "substantial portion", each code on its own


@dataclass(frozen=True)
class BillingSummary:
    """CPT 97140 line for the visit, with the reasoning a biller needs."""

    cpt: str
    description: str
    minutes: int
    units: int
    total_timed_minutes: int
    rule: BillingRule
    units_by_code: dict[str, int]
    documentation_note: str
    sources: tuple[str, ...] = ("S28",)


def _minutes(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(
            f"{field} must be a whole number of minutes, 0 or more",
            code="invalid_minutes",
            field=field,
        )
    return value


def units_for_minutes(total_minutes: int) -> int:
    """Units for a total of timed minutes under the 8-minute rule: < 8 → 0, 8-22 → 1, …"""
    minutes = _minutes(total_minutes, "minutes")
    if minutes < _THRESHOLD:
        return 0
    return (minutes + _UNIT - _THRESHOLD) // _UNIT


def _rule(rule: object) -> BillingRule:
    if isinstance(rule, str) and rule in {r.value for r in BillingRule}:
        return BillingRule(rule)
    raise InvalidInput("billing rule must be 'cms' or 'ama'", code="unknown_rule", field="rule")


def _ama_units(minutes: int) -> int:
    full, rest = divmod(minutes, _UNIT)
    return full + (1 if rest >= _THRESHOLD else 0)


def allocate_units(
    minutes_by_code: Mapping[str, int], rule: BillingRule | str = BillingRule.CMS
) -> dict[str, int]:
    """Units per timed code.

    CMS: total units come from the total minutes; each code first gets its full 15-minute
    units, and any units left go one each to the codes with the most remaining minutes (ties
    go to the code listed first). AMA: each code is counted on its own.
    """
    checked = {code: _minutes(m, f"minutes.{code}") for code, m in minutes_by_code.items()}
    if _rule(rule) is BillingRule.AMA:
        return {code: _ama_units(m) for code, m in checked.items()}
    units = {code: m // _UNIT for code, m in checked.items()}
    left = units_for_minutes(sum(checked.values())) - sum(units.values())
    order = sorted(checked, key=lambda c: -(checked[c] % _UNIT))  # stable: ties keep input order
    for code in order[:left]:
        units[code] += 1
    return units


def billing_summary(
    iastm_minutes: int,
    other_timed_minutes: Mapping[str, int] | None = None,
    rule: BillingRule | str = BillingRule.CMS,
) -> BillingSummary:
    """The CPT 97140 line for a visit's IASTM minutes, sharing units with other timed codes."""
    others = dict(other_timed_minutes or {})
    if CPT_MANUAL_THERAPY in others:
        raise InvalidInput(
            "give the 97140 minutes as iastm_minutes, not among the other codes",
            code="duplicate_code",
            field="other_timed_minutes",
        )
    minutes = _minutes(iastm_minutes, "iastm_minutes")
    by_code = allocate_units({CPT_MANUAL_THERAPY: minutes, **others}, rule)
    return BillingSummary(
        cpt=CPT_MANUAL_THERAPY,
        description=_DESCRIPTION_97140,
        minutes=minutes,
        units=by_code[CPT_MANUAL_THERAPY],
        total_timed_minutes=minutes + sum(others.values()),
        rule=_rule(rule),
        units_by_code=by_code,
        documentation_note=_NOTE_97140,
    )


@dataclass(frozen=True)
class Code:
    """A billing code from the catalogue; ``timed`` codes are billed in 15-minute units."""

    code: str
    label: str
    timed: bool
    iastm: bool
    sources: tuple[str, ...]


@cache
def codes() -> tuple[Code, ...]:
    """Every billing code the visit may record (``catalog/billing_codes.json``)."""
    raw = json.loads(files("strigil.core.catalog").joinpath("billing_codes.json").read_text())
    return tuple(
        Code(c["code"], c["label"], c["timed"], c["iastm"], tuple(c["sources"]))
        for c in raw["codes"]
    )


def code(value: str) -> Code:
    """One code; a code not in the catalogue → InvalidInput(field="code")."""
    for item in codes():
        if item.code == value:
            return item
    known = ", ".join(c.code for c in codes())
    raise InvalidInput(
        f"billing code {value!r} is not in the catalogue ({known})",
        code="unknown_billing_code",
        field="code",
    )


def minutes_from_seconds(seconds: int) -> int:
    """Whole minutes, counted down: 7 min 59 s is 7 minutes, never rounded up."""
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
        raise InvalidInput("seconds must be 0 or more", code="invalid_seconds", field="seconds")
    return seconds // 60


@dataclass(frozen=True)
class ChargeLine:
    """One code's line on the visit's bill."""

    code: str
    label: str
    timed: bool
    minutes: int | None
    units: int


@dataclass(frozen=True)
class VisitCharges:
    """The whole visit's charges under one rule."""

    lines: tuple[ChargeLine, ...]
    total_timed_minutes: int
    timed_units: int
    rule: BillingRule


def visit_charges(
    timed_seconds: Mapping[str, int],
    untimed: Sequence[str] = (),
    rule: BillingRule | str = BillingRule.CMS,
) -> VisitCharges:
    """Units for every code of a visit.

    Timed codes: minutes per code counted down from the recorded seconds, then the 8-minute
    rule on the total (CMS) or on each code alone (AMA). Untimed codes are one unit each and
    never count toward the timed minutes.
    """
    for value in (*timed_seconds, *untimed):
        code(value)
    for value in timed_seconds:
        if not code(value).timed:
            raise InvalidInput(f"{value} is not a timed code", code="untimed_code", field="code")
    for value in untimed:
        if code(value).timed:
            raise InvalidInput(
                f"{value} is a timed code: give its minutes", code="timed_code", field="code"
            )
    minutes = {c: minutes_from_seconds(s) for c, s in timed_seconds.items()}
    units = allocate_units(minutes, rule)
    lines = [ChargeLine(c, code(c).label, True, minutes[c], units[c]) for c in minutes]
    lines += [ChargeLine(c, code(c).label, False, None, 1) for c in dict.fromkeys(untimed)]
    return VisitCharges(
        lines=tuple(lines),
        total_timed_minutes=sum(minutes.values()),
        timed_units=sum(units.values()),
        rule=_rule(rule),
    )
