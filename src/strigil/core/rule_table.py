"""The screening rule table for people, rendered from the catalogue so it cannot drift.

``docs/screening-rules.md`` is this module's output, written by
``scripts/screening_rules_table.py``; a test fails when the committed page differs.
"""

from __future__ import annotations

from strigil.core import catalog
from strigil.core.catalog import DoseCap, ScreeningRule, Severity

__all__ = ["render"]

_EXTENT = {"area": "the area", "limb": "the limb on that side", "patient": "the whole patient"}


def _effect(rule: ScreeningRule) -> str:
    if rule.severity is Severity.ABSOLUTE:
        effect = f"blocks {_EXTENT[rule.extent.value]}"
        if rule.clearance_required:
            effect += "; blocks the whole patient until a clearance is recorded"
            effect += "; a re-check No does not lift it"
        return effect + _reading(rule)
    effect = "precaution: reasoning and a dose modification"
    return effect + (f"; caps {_cap(rule.cap)}" if rule.cap else "")


def _reading(rule: ScreeningRule) -> str:
    """How a measured rule is decided, with the clinic's default limits and their sources."""
    if rule.reading is None:
        return ""
    specs = catalog.threshold_specs()
    limits = "/".join(str(specs[name].value) for name in rule.reading.thresholds)
    names = ", ".join(rule.reading.thresholds)
    return (
        f"; decided by today's reading: at or over {limits} mmHg by default ({names}; "
        f"{', '.join(rule.reading.sources)}); not measured (said explicitly): the clinician's "
        "yes or no"
    )


def _cap(cap: DoseCap) -> str:
    parts = [f"intensity at {cap.intensity}"] if cap.intensity else []
    parts += [f"{cap.seconds} s per area"] if cap.seconds is not None else []
    return " and ".join(parts) + f" ({', '.join(cap.sources)})"


def _row(rule: ScreeningRule) -> str:
    cells = (
        rule.id,
        rule.title,
        f"{rule.extent.value} ({', '.join(rule.extent_sources)})",
        "every visit" if rule.revisit_each_visit else "intake",
        _effect(rule),
        ", ".join(rule.sources),
    )
    return "| " + " | ".join(c.replace("|", "/") for c in cells) + " |"


def render() -> str:
    """The whole Markdown page."""
    version = catalog.catalog_versions()["screening_rules.json"]
    head = [
        "# Screening rules",
        "",
        f"Generated from the screening rule catalogue, version {version}, by",
        "`scripts/screening_rules_table.py`; do not edit by hand. Sources are the keys of",
        "[sources.md](sources.md). Scope is how far a rule reaches: the area, the limb on the",
        "affected side (every region of that arm or leg; a trunk region itself), or the whole",
        "patient. Rules asked at every visit are re-checked before any area is treated.",
        "The re-check starts from the answers in force; a No against a Yes in force lifts that",
        "finding only when the therapist confirms the lift (a new, audited screening).",
        "",
        "| rule | condition | scope (source) | asked | blocks or caps | sources |",
        "|---|---|---|---|---|---|",
    ]
    return "\n".join(head + [_row(r) for r in catalog.screening_rules()]) + "\n"
