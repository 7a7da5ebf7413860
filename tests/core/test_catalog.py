"""The catalogue: every file versioned, every fact sourced, codes resolvable, lookups strict."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from importlib.resources import files
from typing import Any

import pytest

from strigil.core import catalog
from strigil.errors import InvalidInput

SOURCE = re.compile(r"^(S\d{1,2}|GK)$")
KNOWN_MEASURES = {"FFI", "PRTEE", "ODI", "NDI", "LEFS", "QUICKDASH", "VISA_A", "VISA_P", "NPRS"}


def _raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        files("strigil.core.catalog").joinpath(name).read_text("utf-8")
    )
    return data


@pytest.mark.parametrize("name", catalog.DATA_FILES)
def test_every_file_has_a_version(name: str) -> None:
    assert re.fullmatch(r"\d{4}\.\d+", _raw(name)["version"])
    assert catalog.catalog_versions()[name] == _raw(name)["version"]


def _facts(node: object) -> list[dict[str, Any]]:
    """Every dict in the tree that looks like a fact (has a code, id or name)."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if any(k in node for k in ("code", "id", "name", "topic")):
            found.append(node)
        for value in node.values():
            found.extend(_facts(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_facts(value))
    return found


@pytest.mark.parametrize("name", catalog.DATA_FILES)
def test_every_fact_carries_valid_source_keys(name: str) -> None:
    facts = _facts(_raw(name))
    assert facts
    for fact in facts:
        assert fact.get("sources"), fact
        assert all(SOURCE.match(s) for s in fact["sources"]), fact


def test_thresholds_have_value_unit_and_source() -> None:
    specs = catalog.threshold_specs()
    for spec in specs.values():
        assert spec.unit and spec.sources and spec.description
        assert spec.min <= spec.value <= spec.max


def test_default_thresholds_match_the_brief() -> None:
    t = catalog.thresholds()
    assert t.tolerance_default == 6
    assert t.per_area_seconds_default == 60
    assert t.per_area_seconds_max == 120
    assert t.lesion_seconds_warning == 300
    assert t.retreat_min_hours == 48
    assert t.reassess_after_visits == 4
    assert (t.angle_min_degrees, t.angle_max_degrees) == (30, 60)


def test_threshold_overrides_apply_without_touching_defaults() -> None:
    t = catalog.thresholds({"tolerance_default": 5, "per_area_seconds_max": 90.0})
    assert t.tolerance_default == 5 and t.per_area_seconds_max == 90
    assert catalog.thresholds().tolerance_default == 6


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"no_such": 1}, "unknown_threshold", "no_such"),
        ({"tolerance_default": 11}, "threshold_out_of_range", "tolerance_default"),
        ({"retreat_min_hours": -1}, "threshold_out_of_range", "retreat_min_hours"),
        ({"retreat_min_hours": 24.5}, "threshold_not_integer", "retreat_min_hours"),
        ({"tolerance_default": True}, "threshold_not_integer", "tolerance_default"),
        ({"tolerance_warning": 8}, "threshold_inconsistent", "tolerance_warning"),
        ({"angle_min_degrees": 70}, "threshold_inconsistent", "angle_min_degrees"),
    ],
)
def test_bad_threshold_overrides_are_refused(
    overrides: dict[str, float], code: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        catalog.thresholds(overrides)
    assert (err.value.code, err.value.field) == (code, field)


def test_indications_are_well_formed() -> None:
    regions = {r.code for r in catalog.body_regions()}
    rules = {r.id for r in catalog.screening_rules()}
    items = catalog.indications()
    assert len(items) >= 30
    assert len({i.code for i in items}) == len(items)
    for i in items:
        assert i.body_region is None or i.body_region in regions
        assert i.suggested_measure in KNOWN_MEASURES
        assert set(i.precaution_rules) <= rules
        assert i.laterality in {"right", "left", "bilateral", "unspecified", "not_applicable"}
    groups = {i.condition_group for i in items}
    assert {"plantar_heel", "lateral_elbow", "low_back", "neck", "knee", "shoulder"} <= groups


def test_find_indication_accepts_any_code_form() -> None:
    found = catalog.find_indication(" m722 ")
    assert found is not None and found.condition_group == "plantar_heel"
    assert catalog.find_indication("Z00.00") is None


def test_screening_rules_cover_a1_to_a14_r1_to_r23_and_participation() -> None:
    ids = [r.id for r in catalog.screening_rules()]
    assert ids == [f"A{i}" for i in range(1, 15)] + [f"R{i}" for i in range(1, 24)] + [
        "P1",
        "P2",
        "P3",
    ]
    for rule in catalog.screening_rules():
        assert rule.question.endswith("?")
        if not rule.id.startswith("P"):
            assert rule.id.startswith("A") == (rule.severity is catalog.Severity.ABSOLUTE)
    known = {d.code for d in catalog.drug_classes()}
    assert all(set(r.drug_classes) <= known for r in catalog.screening_rules())


def test_medication_rules_are_rechecked_each_visit() -> None:
    for rule in catalog.screening_rules():
        if rule.category == "medication" or rule.drug_classes:
            assert rule.revisit_each_visit, rule.id


def test_body_sites_sit_in_known_regions_with_valid_chart_positions() -> None:
    regions = {r.code for r in catalog.body_regions()}
    assert len(regions) == 10
    per_region = Counter(s.region for s in catalog.body_sites())
    assert set(per_region) == regions
    for site in catalog.body_sites():
        assert site.views, site.code
        for view in site.views:
            point = site.position(view)
            assert point is not None and 0 <= point.x <= 1 and 0 <= point.y <= 1
            if site.paired:  # the patient's right is on the viewer's left from the front
                assert (point.x < 0.5) == (view is catalog.View.FRONT), site.code


def test_left_side_position_is_mirrored() -> None:
    site = catalog.body_site("lateral_elbow")
    right, left = site.position("front"), site.position("front", "left")
    assert right is not None and left is not None
    assert left.x == pytest.approx(1 - right.x) and left.y == right.y
    assert catalog.body_site("plantar_fascia").position("front") is None


@pytest.mark.parametrize(
    ("func", "field"),
    [
        (catalog.body_site, "body_site"),
        (catalog.body_region, "body_region"),
        (catalog.exercise, "exercise"),
        (catalog.stroke, "stroke"),
        (catalog.phase, "phase"),
        (catalog.screening_rule, "rule"),
        (catalog.instrument_type, "instrument_type"),
    ],
)
def test_unknown_codes_raise_invalid_input(func: Callable[[str], object], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        func("nonexistent")
    assert err.value.field == field and err.value.code == f"unknown_{field}"


def test_exercise_library_covers_each_region() -> None:
    for region in catalog.body_regions():
        found = catalog.exercises_for_region(region.code)
        assert len(found) >= 4, region.code
        kinds = {e.kind for e in found}
        assert catalog.ExerciseKind.STRETCH in kinds or catalog.ExerciseKind.ACTIVE_MOTION in kinds
    for e in catalog.exercises():
        assert e.sets >= 1 and (e.reps or e.hold_seconds)
    assert catalog.exercise("bridge").kind is catalog.ExerciseKind.STRENGTHENING


def test_strokes_have_sane_angles() -> None:
    names = {s.code for s in catalog.strokes()}
    assert {"scanning", "sweep", "fan", "brush", "framing", "strum", "j_stroke", "scoop"} <= names
    for s in catalog.strokes():
        assert 0 < s.angle_min <= s.angle_max <= 90
    assert catalog.stroke("strum").angle_min >= 60


def test_instruments_resolve_cleaning_and_flag_porous_materials() -> None:
    for t in catalog.instrument_types():
        assert t.cleaning.steps
        assert (t.cleaning.code == "porous_single_patient") == t.porous
    graston = next(f for f in catalog.instrument_families() if f.code == "graston")
    assert graston.instruments == ("GT1", "GT2", "GT3", "GT4", "GT5", "GT6")
    assert catalog.instrument_design_guidance()


def test_protocol_phases_in_order() -> None:
    codes = [p.code for p in catalog.protocol_phases()]
    assert codes == [
        "pre_test",
        "warm_up",
        "emollient",
        "explore",
        "treat",
        "post_test",
        "active_motion",
        "strengthening",
        "cryotherapy",
        "document",
    ]
    optional = {p.code for p in catalog.protocol_phases() if p.optional}
    assert optional == {"strengthening", "cryotherapy"}


def test_catalogue_objects_are_cached_and_frozen() -> None:
    assert catalog.screening_rules() is catalog.screening_rules()
    with pytest.raises(AttributeError):
        catalog.screening_rules()[0].severity = "relative"  # type: ignore[misc,assignment]
