"""Screening: absolute/relative, local/systemic, record-driven flags, guards."""

from __future__ import annotations

import pytest

from strigil.core import catalog
from strigil.core.screening import (
    Answer,
    ScreeningStatus,
    check_region,
    evaluate,
    require_reasoning,
    visit_recheck_rules,
)
from strigil.errors import InvalidInput

NO = Answer(present=False)


def all_no(**changes: Answer) -> dict[str, Answer]:
    answers = {r.id: NO for r in catalog.screening_rules()}
    answers.update(changes)
    return answers


def test_all_no_is_clear() -> None:
    result = evaluate(all_no())
    assert result.status is ScreeningStatus.CLEAR
    assert not result.needs_reasoning and result.applied_rules == ()
    assert result.rules_version == catalog.catalog_versions()["screening_rules.json"]


def test_local_absolute_blocks_only_its_region() -> None:
    result = evaluate(all_no(A1=Answer(True, ("knee",))))
    assert result.status is ScreeningStatus.BLOCKED_REGIONS
    assert list(result.blocked_regions) == ["knee"]
    assert result.blocked_regions["knee"][0].startswith("A1 ")
    check_region(result, "foot")  # other regions stay treatable
    with pytest.raises(InvalidInput) as err:
        check_region(result, "knee")
    assert (err.value.field, err.value.code) == ("body_site", "region_blocked")
    assert "A1" in err.value.detail


def test_systemic_absolute_blocks_every_region() -> None:
    result = evaluate(all_no(A13=Answer(True)))
    assert result.status is ScreeningStatus.BLOCKED
    assert result.systemic_blocks[0].startswith("A13 ")
    for region in catalog.body_regions():
        with pytest.raises(InvalidInput):
            check_region(result, region.code)


def test_relative_rule_needs_reasoning_and_dose_modification() -> None:
    result = evaluate(all_no(R8=Answer(True)))
    assert result.status is ScreeningStatus.PRECAUTIONS and result.needs_reasoning
    assert [p.rule_id for p in result.precautions] == ["R8"]
    check_region(result, "low_back")
    with pytest.raises(InvalidInput) as err:
        require_reasoning(result, "  ", "lighter pressure")
    assert (err.value.field, err.value.code) == ("reasoning", "reasoning_required")
    with pytest.raises(InvalidInput) as err:
        require_reasoning(result, "second trimester, no DVT signs", None)
    assert err.value.field == "dose_modification"
    require_reasoning(result, "second trimester, no DVT signs", "avoid lumbosacral deep work")


def test_reasoning_not_needed_when_clear() -> None:
    require_reasoning(evaluate(all_no()), None, None)


def test_local_relative_keeps_its_regions() -> None:
    result = evaluate(all_no(R4=Answer(True, ("lower_leg_ankle",))))
    assert result.precautions[0].regions == ("lower_leg_ankle",)


def test_systemic_block_outranks_local_block_and_precautions() -> None:
    result = evaluate(all_no(A1=Answer(True, ("knee",)), A9=Answer(True), R1=Answer(True)))
    assert result.status is ScreeningStatus.BLOCKED
    assert result.applied_rules == ("A1", "A9", "R1")


def test_local_rule_present_without_region_names_the_rule() -> None:
    with pytest.raises(InvalidInput) as err:
        evaluate(all_no(A4=Answer(True)))
    assert err.value.code == "region_required" and "A4" in err.value.detail
    assert err.value.field == "answers.A4.regions"


def test_unknown_region_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        evaluate(all_no(A1=Answer(True, ("elbow",))))
    assert err.value.code == "unknown_body_region"


def test_unanswered_rules_make_screening_incomplete() -> None:
    answers = all_no()
    del answers["R22"]
    with pytest.raises(InvalidInput) as err:
        evaluate(answers)
    assert err.value.code == "screening_incomplete" and err.value.extra["missing"] == ["R22"]


def test_unknown_rule_id_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        evaluate(all_no(Z9=NO))
    assert err.value.code == "unknown_rule"


def test_problem_list_code_flags_a_local_rule_which_then_needs_regions() -> None:
    with pytest.raises(InvalidInput) as err:
        evaluate(all_no(), problem_codes=["I82.401"])
    assert err.value.code == "region_required" and "A3" in err.value.detail
    result = evaluate(all_no(A3=Answer(True, ("lower_leg_ankle",))), problem_codes=["i82401"])
    assert result.flagged_rules == {"A3": ("I82401",)}
    assert "lower_leg_ankle" in result.blocked_regions


def test_problem_list_code_flags_a_systemic_rule_despite_a_no() -> None:
    result = evaluate(all_no(), problem_codes=["D68.311", "M72.2"])
    assert result.status is ScreeningStatus.BLOCKED
    assert result.flagged_rules == {"A13": ("D68.311",)}


def test_prefix_match_does_not_cross_code_boundaries() -> None:
    # I10 (plain hypertension) must not flag A9, which matches only I16 (crisis).
    assert evaluate(all_no(), problem_codes=["I10"]).status is ScreeningStatus.CLEAR


def test_drug_class_flags_a_precaution() -> None:
    result = evaluate(all_no(), drug_classes=["anticoagulant"])
    assert result.status is ScreeningStatus.PRECAUTIONS
    assert result.precautions[0].rule_id == "R1"
    assert result.precautions[0].flagged_by == ("anticoagulant",)


def test_unknown_drug_class_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        evaluate(all_no(), drug_classes=["warfarin"])
    assert (err.value.field, err.value.code) == ("drug_classes", "unknown_drug_class")


def test_visit_recheck_covers_everything_that_can_change_between_visits() -> None:
    ids = {r.id for r in visit_recheck_rules()}
    assert {"R1", "R11", "R12", "R13", "A1", "A4", "A5", "A12"} <= ids
    # today's blood pressure, a new clot, fracture or injury, pregnancy, a new bleeding
    # problem, fever or infection, and whether the patient can still report discomfort
    assert {"A9", "A3", "A2", "R8", "A13", "R22", "P1", "P2"} <= ids
    assert "A7" not in ids and "R7" not in ids
    answers = dict.fromkeys(ids, NO)
    result = evaluate(answers, rules=visit_recheck_rules(), drug_classes=["fluoroquinolone"])
    assert [p.rule_id for p in result.precautions] == ["R11"]


def test_check_region_validates_the_region_code() -> None:
    with pytest.raises(InvalidInput) as err:
        check_region(evaluate(all_no()), "elbow")
    assert err.value.field == "body_region"
