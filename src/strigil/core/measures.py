"""The outcome-measure registry (C4): what each measure asks, how it is scored, what counts.

The facts live in ``core/catalog/measures.json`` (versioned, one source per fact) so that a
clinician can review them without reading code; this module only loads and types them.
MCID/MDC values depend on population, anchor and baseline (S47, docs/sources.md), so each
measure carries a list of thresholds with their population and source, one marked default.
Scoring itself lives in :mod:`strigil.core.scoring`; the response rules in
:mod:`strigil.core.response`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any, Literal

from strigil.errors import InvalidInput

Direction = Literal["lower_is_better", "higher_is_better"]


@dataclass(frozen=True, slots=True)
class Item:
    """One numbered item; ``allowed`` lists the only legal values where the scale is categorical."""

    number: int
    label: str
    min: float
    max: float
    integer: bool
    subscale: str | None = None
    allowed: tuple[float, ...] | None = None
    branches: Mapping[str, tuple[float, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Threshold:
    """An MCID or MDC for one population: an absolute change, a percent of baseline, or both."""

    value: float | None
    percent: float | None
    population: str
    source: str
    default: bool
    note: str | None = None


@dataclass(frozen=True, slots=True)
class RomNorm:
    """Normal range for one joint motion, with the table it comes from."""

    joint: str
    motion: str
    normal: float
    source: str


@dataclass(frozen=True, slots=True)
class Measure:
    """A validated outcome measure as the registry describes it."""

    code: str
    name: str
    version: str
    construct: str
    unit: str
    min: float
    max: float
    direction: Direction
    items: tuple[Item, ...]
    min_items: int
    max_items: int
    scoring: Mapping[str, Any]
    mcid: tuple[Threshold, ...]
    mdc: tuple[Threshold, ...]
    loinc: Mapping[str, Any]
    literature_expectation: Mapping[str, Any] | None
    units: Mapping[str, float]
    sources: tuple[str, ...]
    notes: tuple[str, ...] = ()
    norms: tuple[RomNorm, ...] = ()
    change_score: bool = False

    @property
    def default_mcid(self) -> Threshold | None:
        """The MCID used when the caller names none (the entry marked default)."""
        return _default(self.mcid)

    @property
    def default_mdc(self) -> Threshold | None:
        """The MDC used when the caller names none (the entry marked default)."""
        return _default(self.mdc)

    @property
    def higher_is_better(self) -> bool:
        """True when a rising score means the patient is better."""
        return self.direction == "higher_is_better"

    def norm(self, joint: str, motion: str) -> RomNorm:
        """The normal range for a joint motion (ROM only); InvalidInput if unknown."""
        for n in self.norms:
            if n.joint == joint and n.motion == motion:
                return n
        known = ", ".join(f"{n.joint}/{n.motion}" for n in self.norms)
        raise InvalidInput(
            f"no normal range for joint '{joint}' and motion '{motion}'; known: {known}",
            code="unknown_joint_motion",
            field="motion",
        )


def _default(thresholds: tuple[Threshold, ...]) -> Threshold | None:
    return next((t for t in thresholds if t.default), None)


def _item(raw: Mapping[str, Any]) -> Item:
    branches = {k: tuple(v["allowed"]) for k, v in raw.get("branches", {}).items()}
    allowed = raw.get("allowed")
    return Item(
        number=raw["number"],
        label=raw["label"],
        min=raw["min"],
        max=raw["max"],
        integer=raw["integer"],
        subscale=raw.get("subscale"),
        allowed=tuple(allowed) if allowed is not None else None,
        branches=branches,
    )


def _threshold(raw: Mapping[str, Any]) -> Threshold:
    return Threshold(
        value=raw["value"],
        percent=raw["percent"],
        population=raw["population"],
        source=raw["source"],
        default=raw["default"],
        note=raw.get("note"),
    )


def _measure(raw: Mapping[str, Any]) -> Measure:
    items = tuple(_item(i) for i in raw["items"])
    count = raw.get("item_count", {"min": len(items), "max": len(items)})
    units = raw.get("units", {"factors": {raw["unit"]: 1.0}})["factors"]
    return Measure(
        code=raw["code"],
        name=raw["name"],
        version=raw["version"],
        construct=raw["construct"],
        unit=raw["unit"],
        min=raw["range"]["min"],
        max=raw["range"]["max"],
        direction=raw["direction"],
        items=items,
        min_items=count["min"],
        max_items=count["max"],
        scoring=raw["scoring"],
        mcid=tuple(_threshold(t) for t in raw["mcid"]),
        mdc=tuple(_threshold(t) for t in raw["mdc"]),
        loinc=raw["loinc"],
        literature_expectation=raw["literature_expectation"],
        units=dict(units),
        sources=tuple(raw["sources"]),
        notes=tuple(raw.get("notes", ())),
        norms=tuple(RomNorm(**n) for n in raw.get("norms", ())),
        change_score=raw.get("change_score", False),
    )


@cache
def _registry() -> tuple[str, dict[str, Measure]]:
    """Load the catalogue once; it is package data and never changes at run time."""
    text = files("strigil.core.catalog").joinpath("measures.json").read_text(encoding="utf-8")
    doc = json.loads(text)
    return doc["version"], {m["code"]: _measure(m) for m in doc["measures"]}


@cache
def response_rules() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """How a change is labelled (category, rule, sources), as the catalogue states it."""
    text = files("strigil.core.catalog").joinpath("measures.json").read_text(encoding="utf-8")
    rules = json.loads(text)["response_rules"]
    return tuple((r["category"], r["rule"], tuple(r["sources"])) for r in rules)


def catalog_version() -> str:
    """The ``version`` of the measures catalogue, to store alongside every score."""
    return _registry()[0]


def measures() -> tuple[Measure, ...]:
    """Every registered measure, in catalogue order."""
    return tuple(_registry()[1].values())


def get_measure(code: str) -> Measure:
    """The measure with this code (case-insensitive); InvalidInput if there is none."""
    found = _registry()[1].get(code.strip().upper()) if isinstance(code, str) else None
    if found is None:
        known = ", ".join(_registry()[1])
        raise InvalidInput(
            f"unknown outcome measure '{code}'; known measures: {known}",
            code="unknown_measure",
            field="measure",
        )
    return found
