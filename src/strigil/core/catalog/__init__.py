"""The domain catalogue: versioned data files of clinical facts, loaded once and typed.

Why data files: indications, screening rules, instruments, strokes, body sites, exercises,
thresholds and protocol phases are domain knowledge that clinicians review and sources revise,
so they live as data a clinician can read without reading code. Every file has a
top-level ``version`` and every fact carries its source keys (S1...S54 from
``docs/sources.md``, or ``GK`` for general knowledge to verify).

Loading is cached per process (``functools.cache``); the returned dataclasses are frozen, so
callers cannot change the shared copy. Unknown codes raise ``InvalidInput`` naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from functools import cache
from importlib.resources import files
from typing import Any, TypeVar

from strigil.errors import InvalidInput

__all__ = [
    "BodyRegion",
    "BodySite",
    "ChartPoint",
    "CleaningProtocol",
    "DesignGuidance",
    "DoseCap",
    "DrugClass",
    "Exercise",
    "ExerciseKind",
    "Extent",
    "Indication",
    "InstrumentFamily",
    "InstrumentType",
    "Phase",
    "ReadingSpec",
    "Scope",
    "ScreeningRule",
    "Severity",
    "Stroke",
    "ThresholdSpec",
    "Thresholds",
    "View",
    "body_region",
    "body_regions",
    "body_site",
    "body_sites",
    "catalog_versions",
    "drug_classes",
    "exercise",
    "exercises",
    "exercises_for_region",
    "find_indication",
    "indications",
    "instrument_design_guidance",
    "instrument_families",
    "instrument_type",
    "instrument_types",
    "phase",
    "protocol_phases",
    "screening_rule",
    "screening_rules",
    "stroke",
    "strokes",
    "threshold_specs",
    "thresholds",
]

DATA_FILES = (
    "indications.json",
    "screening_rules.json",
    "instruments.json",
    "strokes.json",
    "body_sites.json",
    "exercises.json",
    "thresholds.json",
    "protocol.json",
)

_T = TypeVar("_T")


class Severity(StrEnum):
    """How strongly a screening rule restricts IASTM (docs/sources.md)."""

    ABSOLUTE = "absolute"
    RELATIVE = "relative"


class Scope(StrEnum):
    """Whether a rule concerns one body region or the whole patient (§2)."""

    LOCAL = "local"
    SYSTEMIC = "systemic"


class Extent(StrEnum):
    """How far a rule's block reaches: the area, the limb (or trunk region) on the affected
    side, or the whole patient (clinical-domain notes, section 2)."""

    AREA = "area"
    LIMB = "limb"
    PATIENT = "patient"


class View(StrEnum):
    """The two outlines of the web body chart."""

    FRONT = "front"
    BACK = "back"


class ExerciseKind(StrEnum):
    """After-care families: motion and stretch keep the gains, loading builds capacity (§3.1)."""

    ACTIVE_MOTION = "active_motion"
    STRETCH = "stretch"
    STRENGTHENING = "strengthening"


@dataclass(frozen=True)
class Indication:
    """A condition commonly treated with IASTM and its ICD-10-CM code (§1)."""

    code: str
    title: str
    condition: str
    condition_group: str
    body_region: str | None
    laterality: str
    suggested_measure: str
    precaution_rules: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class BodyRegion:
    """A coarse region: the unit screening rules and episodes refer to."""

    code: str
    label: str
    sources: tuple[str, ...]
    limb: str = "trunk"


@dataclass(frozen=True)
class ChartPoint:
    """A position on the body-chart outline, both axes 0-1 (x from viewer's left, y from top)."""

    x: float
    y: float


@dataclass(frozen=True)
class BodySite:
    """A treatable site within a region, with its approximate place on the body chart.

    Positions are stored for the patient's right side; ``position`` mirrors them for the left.
    """

    code: str
    label: str
    region: str
    paired: bool
    front: ChartPoint | None
    back: ChartPoint | None
    sources: tuple[str, ...]

    @property
    def views(self) -> tuple[View, ...]:
        """The outlines this site is drawn on."""
        return tuple(v for v, p in ((View.FRONT, self.front), (View.BACK, self.back)) if p)

    def position(self, view: View | str, side: str = "right") -> ChartPoint | None:
        """Where to draw the site on ``view`` for ``side``; None when not visible there."""
        point = self.front if View(view) is View.FRONT else self.back
        if point is None or side != "left" or not self.paired:
            return point
        return ChartPoint(x=round(1.0 - point.x, 4), y=point.y)


@dataclass(frozen=True)
class ScreeningRule:
    """One contraindication or precaution, asked as a yes/no question (§2)."""

    id: str
    title: str
    question: str
    severity: Severity
    scope: Scope
    category: str
    rationale: str
    icd10_prefixes: tuple[str, ...]
    drug_classes: tuple[str, ...]
    revisit_each_visit: bool
    sources: tuple[str, ...]
    review_note: str | None = None
    extent: Extent = Extent.AREA
    extent_sources: tuple[str, ...] = ()
    cap: DoseCap | None = None
    clearance_required: bool = False
    age_under: int | None = None
    reading: ReadingSpec | None = None


@dataclass(frozen=True)
class ReadingSpec:
    """A rule answered from a measurement (blood pressure) against configurable thresholds."""

    kind: str
    thresholds: tuple[str, ...]
    rule: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class DoseCap:
    """The most a precaution allows per area: an intensity and/or seconds, with sources."""

    intensity: str | None
    seconds: int | None
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class DrugClass:
    """A medication class a medication list can report; some screening rules match on it."""

    code: str
    label: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class CleaningProtocol:
    """How to reprocess an instrument between patients (Spaulding noncritical, §7)."""

    code: str
    label: str
    steps: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class InstrumentType:
    """An instrument material class with its edge design, use and cleaning (§3.5, §7)."""

    code: str
    label: str
    material: str
    edges: str
    bevel: str
    porous: bool
    cleaning: CleaningProtocol
    use: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class InstrumentFamily:
    """A commercial instrument system (§3.6)."""

    code: str
    name: str
    material: str
    instruments: tuple[str, ...]
    description: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class DesignGuidance:
    """How an instrument design choice changes the treatment (§3.5)."""

    topic: str
    guidance: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Stroke:
    """An IASTM stroke type with its tool-to-skin angle range in degrees (§3.2)."""

    code: str
    name: str
    description: str
    angle_min: int
    angle_max: int
    depth: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Exercise:
    """An after-care exercise with a default dose the therapist adjusts."""

    code: str
    name: str
    kind: ExerciseKind
    regions: tuple[str, ...]
    instructions: str
    sets: int
    reps: int | None
    hold_seconds: int | None
    frequency: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class ThresholdSpec:
    """A clinical threshold's default value, unit, configurable bounds and source."""

    name: str
    value: int
    unit: str
    min: int
    max: int
    integer: bool
    sources: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Thresholds:
    """The thresholds a visit is checked against; see ``threshold_specs()`` for units/sources."""

    tolerance_default: int
    tolerance_warning: int
    per_area_seconds_default: int
    per_area_seconds_min: int
    per_area_seconds_max: int
    lesion_seconds_warning: int
    visit_total_minutes_warning: int
    retreat_min_hours: int
    soreness_reduce_dose_hours: int
    reassess_after_visits: int
    reassess_every_visits: int
    visits_per_week_warning: int
    angle_min_degrees: int
    angle_max_degrees: int
    angle_focal_max_degrees: int
    cryotherapy_minutes: int
    bp_systolic_limit: int
    bp_diastolic_limit: int


@dataclass(frozen=True)
class Phase:
    """A step of the guided visit (§3.1)."""

    code: str
    label: str
    order: int
    optional: bool
    description: str
    typical_dose: str
    sources: tuple[str, ...]


# ---------------------------------------------------------------------------------------------
# loading


@cache
def _load(name: str) -> dict[str, Any]:
    """Read one packaged data file; every file must declare its version."""
    data: dict[str, Any] = json.loads(files(__package__).joinpath(name).read_text("utf-8"))
    if not isinstance(data.get("version"), str):
        raise ValueError(f"catalog file {name} has no version")
    return data


def catalog_versions() -> dict[str, str]:
    """Version of every catalogue file, to store alongside records made from them."""
    return {name: _load(name)["version"] for name in DATA_FILES}


def _src(item: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(item["sources"])


def _find(items: Iterable[_T], key: Callable[[_T], str], value: str, field: str) -> _T:
    """Return the item whose key equals ``value`` or raise InvalidInput naming ``field``."""
    for item in items:
        if key(item) == value:
            return item
    raise InvalidInput(
        f"unknown {field.replace('_', ' ')}: {value!r}", code=f"unknown_{field}", field=field
    )


@cache
def indications() -> tuple[Indication, ...]:
    """Conditions commonly treated with IASTM, each with its ICD-10-CM code (§1, S48)."""
    return tuple(
        Indication(
            code=i["code"],
            title=i["title"],
            condition=i["condition"],
            condition_group=i["condition_group"],
            body_region=i["body_region"],
            laterality=i["laterality"],
            suggested_measure=i["suggested_measure"],
            precaution_rules=tuple(i["precaution_rules"]),
            sources=_src(i),
        )
        for i in _load("indications.json")["indications"]
    )


def find_indication(code: str) -> Indication | None:
    """The indication for an ICD-10-CM code (with or without the dot), or None."""
    wanted = code.strip().upper().replace(".", "")
    return next((i for i in indications() if i.code.replace(".", "") == wanted), None)


@cache
def body_regions() -> tuple[BodyRegion, ...]:
    """The body regions screening and episodes refer to."""
    data = _load("body_sites.json")["regions"]
    return tuple(
        BodyRegion(code=r["code"], label=r["label"], sources=_src(r), limb=r["limb"]) for r in data
    )


def body_region(code: str) -> BodyRegion:
    """One region by code; unknown → InvalidInput(field="body_region")."""
    return _find(body_regions(), lambda r: r.code, code, "body_region")


def _point(raw: Mapping[str, Any] | None) -> ChartPoint | None:
    return None if raw is None else ChartPoint(x=float(raw["x"]), y=float(raw["y"]))


@cache
def body_sites() -> tuple[BodySite, ...]:
    """Treatable sites with approximate body-chart positions (GK anatomy)."""
    return tuple(
        BodySite(
            code=s["code"],
            label=s["label"],
            region=s["region"],
            paired=bool(s["paired"]),
            front=_point(s["positions"].get("front")),
            back=_point(s["positions"].get("back")),
            sources=_src(s),
        )
        for s in _load("body_sites.json")["sites"]
    )


def body_site(code: str) -> BodySite:
    """One site by code; unknown → InvalidInput(field="body_site", code="unknown_body_site")."""
    return _find(body_sites(), lambda s: s.code, code, "body_site")


@cache
def drug_classes() -> tuple[DrugClass, ...]:
    """Medication classes the screening rules can match on (§2 rule-engine notes)."""
    data = _load("screening_rules.json")["drug_classes"]
    return tuple(DrugClass(code=d["code"], label=d["label"], sources=_src(d)) for d in data)


@cache
def screening_rules() -> tuple[ScreeningRule, ...]:
    """Absolute and relative screening rules A1-A14 and R1-R23 (§2)."""
    return tuple(
        ScreeningRule(
            id=r["id"],
            title=r["title"],
            question=r["question"],
            severity=Severity(r["severity"]),
            scope=Scope(r["scope"]),
            category=r["category"],
            rationale=r["rationale"],
            icd10_prefixes=tuple(r["icd10_prefixes"]),
            drug_classes=tuple(r["drug_classes"]),
            revisit_each_visit=bool(r["revisit_each_visit"]),
            sources=_src(r),
            review_note=r.get("review_note"),
            extent=Extent(r["extent"]),
            extent_sources=tuple(r["extent_sources"]),
            cap=_cap(r.get("caps")),
            clearance_required=bool(r.get("clearance_required", False)),
            age_under=r.get("age_under"),
            reading=_reading(r.get("reading")),
        )
        for r in _load("screening_rules.json")["rules"]
    )


def _reading(raw: Mapping[str, Any] | None) -> ReadingSpec | None:
    if raw is None:
        return None
    return ReadingSpec(raw["kind"], tuple(raw["thresholds"]), raw["rule"], tuple(raw["sources"]))


def _cap(raw: Mapping[str, Any] | None) -> DoseCap | None:
    if raw is None:
        return None
    return DoseCap(raw.get("intensity"), raw.get("seconds"), tuple(raw["sources"]))


def screening_rule(rule_id: str) -> ScreeningRule:
    """One rule by id; unknown → InvalidInput(field="rule", code="unknown_rule")."""
    return _find(screening_rules(), lambda r: r.id, rule_id, "rule")


@cache
def _cleaning_protocols() -> dict[str, CleaningProtocol]:
    return {
        c["code"]: CleaningProtocol(
            code=c["code"], label=c["label"], steps=tuple(c["steps"]), sources=_src(c)
        )
        for c in _load("instruments.json")["cleaning_protocols"]
    }


@cache
def instrument_types() -> tuple[InstrumentType, ...]:
    """Instrument material classes with edge design, use, porosity and cleaning (§3.5, §7)."""
    cleaning = _cleaning_protocols()
    return tuple(
        InstrumentType(
            code=t["code"],
            label=t["label"],
            material=t["material"],
            edges=t["edges"],
            bevel=t["bevel"],
            porous=bool(t["porous"]),
            cleaning=cleaning[t["cleaning"]],
            use=t["use"],
            sources=_src(t),
        )
        for t in _load("instruments.json")["types"]
    )


def instrument_type(code: str) -> InstrumentType:
    """One instrument type; unknown → InvalidInput(field="instrument_type")."""
    return _find(instrument_types(), lambda t: t.code, code, "instrument_type")


@cache
def instrument_families() -> tuple[InstrumentFamily, ...]:
    """Commercial instrument systems (§3.6)."""
    return tuple(
        InstrumentFamily(
            code=f["code"],
            name=f["name"],
            material=f["material"],
            instruments=tuple(f["instruments"]),
            description=f["description"],
            sources=_src(f),
        )
        for f in _load("instruments.json")["families"]
    )


@cache
def instrument_design_guidance() -> tuple[DesignGuidance, ...]:
    """How edge, shape, size and force choices change the treatment (§3.5)."""
    data = _load("instruments.json")["design_guidance"]
    return tuple(DesignGuidance(d["topic"], d["guidance"], _src(d)) for d in data)


@cache
def strokes() -> tuple[Stroke, ...]:
    """IASTM stroke types with angle ranges (§3.2)."""
    return tuple(
        Stroke(
            code=s["code"],
            name=s["name"],
            description=s["description"],
            angle_min=int(s["angle_min"]),
            angle_max=int(s["angle_max"]),
            depth=s["depth"],
            sources=_src(s),
        )
        for s in _load("strokes.json")["strokes"]
    )


def stroke(code: str) -> Stroke:
    """One stroke; unknown → InvalidInput(field="stroke", code="unknown_stroke")."""
    return _find(strokes(), lambda s: s.code, code, "stroke")


@cache
def exercises() -> tuple[Exercise, ...]:
    """The after-care exercise library."""
    return tuple(
        Exercise(
            code=e["code"],
            name=e["name"],
            kind=ExerciseKind(e["kind"]),
            regions=tuple(e["regions"]),
            instructions=e["instructions"],
            sets=int(e["sets"]),
            reps=e["reps"],
            hold_seconds=e["hold_seconds"],
            frequency=e["frequency"],
            sources=_src(e),
        )
        for e in _load("exercises.json")["exercises"]
    )


def exercise(code: str) -> Exercise:
    """One exercise; unknown → InvalidInput(field="exercise", code="unknown_exercise")."""
    return _find(exercises(), lambda e: e.code, code, "exercise")


def exercises_for_region(region: str) -> tuple[Exercise, ...]:
    """Exercises suited to a body region (the region code is validated)."""
    body_region(region)
    return tuple(e for e in exercises() if region in e.regions)


@cache
def protocol_phases() -> tuple[Phase, ...]:
    """The visit phases in order (§3.1)."""
    return tuple(
        sorted(
            (
                Phase(
                    code=p["code"],
                    label=p["label"],
                    order=int(p["order"]),
                    optional=bool(p["optional"]),
                    description=p["description"],
                    typical_dose=p["typical_dose"],
                    sources=_src(p),
                )
                for p in _load("protocol.json")["phases"]
            ),
            key=lambda p: p.order,
        )
    )


def phase(code: str) -> Phase:
    """One phase; unknown → InvalidInput(field="phase", code="unknown_phase")."""
    return _find(protocol_phases(), lambda p: p.code, code, "phase")


# ---------------------------------------------------------------------------------------------
# thresholds


@cache
def threshold_specs() -> dict[str, ThresholdSpec]:
    """Every threshold with its default, unit, configurable bounds and sources."""
    return {
        t["name"]: ThresholdSpec(
            name=t["name"],
            value=int(t["value"]),
            unit=t["unit"],
            min=int(t["min"]),
            max=int(t["max"]),
            integer=bool(t["integer"]),
            sources=_src(t),
            description=t["description"],
        )
        for t in _load("thresholds.json")["thresholds"]
    }


@cache
def _default_thresholds() -> Thresholds:
    specs = threshold_specs()
    return Thresholds(**{f.name: specs[f.name].value for f in fields(Thresholds)})


def thresholds(overrides: Mapping[str, float] | None = None) -> Thresholds:
    """The packaged thresholds, optionally with deployment overrides applied and validated.

    Overrides let a clinic configure limits (docs/sources.md: "every threshold ... must stay
    configurable"); each value must lie within the spec's bounds and keep the set consistent.
    """
    base = _default_thresholds()
    if not overrides:
        return base
    specs = threshold_specs()
    changes = {name: _checked_override(specs, name, value) for name, value in overrides.items()}
    result = replace(base, **changes)
    _check_consistency(result)
    return result


def _checked_override(specs: Mapping[str, ThresholdSpec], name: str, value: float) -> int:
    spec = specs.get(name)
    if spec is None:
        raise InvalidInput(f"unknown threshold {name!r}", code="unknown_threshold", field=name)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise InvalidInput(
            f"threshold {name} must be a whole number of {spec.unit}",
            code="threshold_not_integer",
            field=name,
        )
    if not spec.min <= value <= spec.max:
        raise InvalidInput(
            f"threshold {name} must be between {spec.min} and {spec.max} {spec.unit}",
            code="threshold_out_of_range",
            field=name,
        )
    return int(value)


_ORDERED_PAIRS = (
    ("tolerance_warning", "tolerance_default"),
    ("per_area_seconds_min", "per_area_seconds_default"),
    ("per_area_seconds_default", "per_area_seconds_max"),
    ("per_area_seconds_max", "lesion_seconds_warning"),
    ("angle_min_degrees", "angle_max_degrees"),
    ("angle_max_degrees", "angle_focal_max_degrees"),
    ("bp_diastolic_limit", "bp_systolic_limit"),
)


def _check_consistency(t: Thresholds) -> None:
    """Reject override sets that make a lower limit exceed its upper partner."""
    for low, high in _ORDERED_PAIRS:
        if getattr(t, low) > getattr(t, high):
            raise InvalidInput(
                f"threshold {low} ({getattr(t, low)}) must not exceed {high} ({getattr(t, high)})",
                code="threshold_inconsistent",
                field=low,
            )
