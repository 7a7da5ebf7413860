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
        return effect
    effect = "precaution: reasoning and a dose modification"
    return effect + (f"; caps {_cap(rule.cap)}" if rule.cap else "")


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
        "",
        "| rule | condition | scope (source) | asked | blocks or caps | sources |",
        "|---|---|---|---|---|---|",
    ]
    return "\n".join(head + [_row(r) for r in catalog.screening_rules()]) + "\n"
