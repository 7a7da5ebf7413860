"""Pure safety rules: sides, extents, closing stops, caps, the other side."""

from __future__ import annotations

import pytest

from strigil.core import catalog, safety, screening
from strigil.core.catalog import DoseCap, Extent, Scope, Severity
from strigil.core.screening import Answer
from strigil.errors import InvalidInput


def _answers(**present: tuple[str, ...]) -> dict[str, Answer]:
    out = {r.id: Answer(False) for r in catalog.screening_rules()}
    return out | {k: Answer(True, v) for k, v in present.items()}


def test_every_rule_states_a_consistent_extent_with_its_source() -> None:
    for rule in catalog.screening_rules():
        assert rule.extent_sources, rule.id
        assert (rule.scope is Scope.SYSTEMIC) == (rule.extent is Extent.PATIENT), rule.id
        if rule.clearance_required:
            assert rule.severity is Severity.ABSOLUTE and rule.extent is Extent.LIMB


def test_every_catalogue_cap_is_on_the_scale_and_sourced() -> None:
    capped = {r.id for r in catalog.screening_rules() if r.cap}
    assert {"R1", "R12", "R14", "R15", "R17", "P2"} <= capped
    for rule in catalog.screening_rules():
        if rule.cap:
            safety.parse_cap(rule.cap.intensity, rule.cap.seconds)
            assert rule.cap.sources and rule.severity is Severity.RELATIVE


def test_every_region_belongs_to_a_limb_or_the_trunk() -> None:
    limbs = {r.code: r.limb for r in catalog.body_regions()}
    assert set(limbs.values()) == {"upper_limb", "lower_limb", "trunk"}
    assert limbs["foot"] == limbs["hip_thigh"] == "lower_limb"


def test_a_clot_blocks_the_whole_leg_on_its_side_and_the_patient() -> None:
    result = screening.evaluate(_answers(A3=("lower_leg_ankle:right",)))
    assert set(result.blocked_regions) == {
        "hip_thigh:right",
        "knee:right",
        "lower_leg_ankle:right",
        "foot:right",
    }
    assert "A3" in result.clearance_pending and result.status.value == "blocked"
    cleared = screening.clear(result, {"A3"})
    assert cleared.status.value == "blocked_regions"
    screening.check_region(cleared, "knee", "left")
    for side in ("right", "bilateral"):
        with pytest.raises(InvalidInput, match="knee"):
            screening.check_region(cleared, "knee", side)


def test_a_local_rule_on_the_trunk_blocks_only_its_region() -> None:
    result = screening.evaluate(_answers(A1=("low_back",)))
    assert set(result.blocked_regions) == {"low_back"}
    for side in ("left", "right", "midline"):
        with pytest.raises(InvalidInput):
            screening.check_region(result, "low_back", side)


def test_caps_combine_to_the_strictest() -> None:
    caps = safety.combine_caps(
        [("a", DoseCap("moderate", 90)), ("b", DoseCap("gentle", None)), ("c", DoseCap(None, 60))]
    )
    assert (caps.intensity, caps.seconds, caps.reasons) == ("gentle", 60, ("a", "b", "c"))
    safety.check_dose(caps, "gentle", 60)
    with pytest.raises(InvalidInput) as refused:
        safety.check_dose(caps, "moderate", 10)
    assert refused.value.field == "intensity" and refused.value.code == "dose_above_cap"


@pytest.mark.parametrize(
    ("intensity", "seconds", "field"),
    [
        ("brutal", None, "cap_intensity"),
        (None, 3601, "cap_seconds"),
        (None, 0, "cap_seconds"),
        (None, True, "cap_seconds"),
    ],
)
def test_a_cap_off_the_scale_names_its_field(
    intensity: object, seconds: object, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        safety.parse_cap(intensity, seconds)
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("reason", "grade", "closes"),
    [
        ("tolerance_reached", None, True),
        ("patient_request", "none", True),
        ("completed", "petechiae", True),
        ("completed", "ecchymosis", True),
        ("completed", "erythema", False),
        ("time_limit", None, False),
    ],
)
def test_which_endings_close_a_site(reason: str, grade: str | None, closes: bool) -> None:
    assert safety.closes_site(reason, grade) is closes


def test_the_other_side_is_confirmed_not_assumed() -> None:
    assert safety.check_other_side("right", "right", confirmed=False) is None
    assert safety.check_other_side("na", "left", confirmed=False) is None
    assert safety.check_other_side("right", "bilateral", confirmed=False) is None
    with pytest.raises(InvalidInput) as refused:
        safety.check_other_side("right", "left", confirmed=False)
    assert refused.value.field == "confirm_other_side"
    assert "confirmed" in (safety.check_other_side("right", "left", confirmed=True) or "")


def test_a_minor_is_flagged_by_age_even_when_the_answer_says_no() -> None:
    result = screening.evaluate(_answers(), age_years=15)
    assert "P3" in result.applied_rules and result.caps.intensity == "moderate"
    assert "P3" not in screening.evaluate(_answers(), age_years=18).applied_rules
