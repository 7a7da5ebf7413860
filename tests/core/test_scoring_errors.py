"""Bad input to scoring: a clear InvalidInput naming the field and the rule."""

from __future__ import annotations

from typing import Any

import pytest

from strigil.core.scoring import score
from strigil.errors import InvalidInput


def _error(code: str, answers: Any, **options: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as exc:
        score(code, answers, **options)
    return exc.value


def test_unknown_measure() -> None:
    err = _error("WOMAC", [1])
    assert (err.code, err.field) == ("unknown_measure", "measure")


def test_out_of_range_names_item_and_allowed_range() -> None:
    err = _error("ODI", [1, 2, 3, 6, 1, 2, 3, 2, 1, 1])
    assert (err.code, err.field) == ("out_of_range", "answers[3]")
    assert "item 4" in err.detail and "0 to 5" in err.detail


def test_quickdash_zero_is_out_of_range() -> None:
    err = _error("QUICKDASH", [0] + [1] * 10)
    assert err.field == "answers[0]" and "1 to 5" in err.detail


def test_wrong_item_count() -> None:
    err = _error("LEFS", [4] * 19)
    assert (err.code, err.field) == ("wrong_item_count", "answers")
    assert "20" in err.detail and "19" in err.detail
    assert _error("PSFS", []).code == "wrong_item_count"
    assert _error("PSFS", [1, 2, 3, 4, 5, 6]).code == "wrong_item_count"


def test_not_a_number_and_not_whole() -> None:
    assert _error("NPRS", [float("nan")]).code == "not_a_number"
    assert _error("NPRS", ["7"]).code == "not_a_number"
    assert _error("NPRS", [True]).code == "not_a_number"
    assert _error("NPRS", [6.5]).code == "not_whole_number"
    assert _error("NPRS", "7").code == "not_a_list"


def test_categorical_items_reject_values_between_categories() -> None:
    err = _error("VISA_P", [10, 9, 8, 7, 6, 5, 5, 30])
    assert (err.code, err.field) == ("not_allowed_value", "answers[6]")
    assert "0, 4, 7, 10" in err.detail


def test_value_in_the_wrong_unit() -> None:
    """A PPT typed in kPa but labelled kg/cm2 converts to an impossible value."""
    err = _error("PPT", [300], unit="kg/cm2")
    assert (err.code, err.field) == ("out_of_range", "answers[0]")
    assert "kg/cm2" in err.detail and "kPa" in err.detail and "check the unit" in err.detail
    assert "mm" in _error("VAS", [45], unit="cm").detail


def test_unknown_unit_and_unknown_option() -> None:
    err = _error("PPT", [300], unit="psi")
    assert (err.code, err.field) == ("unknown_unit", "unit")
    assert "kPa" in err.detail
    err = _error("ODI", [0] * 10, joint="knee")
    assert (err.code, err.field) == ("unknown_option", "joint")
    assert _error("VISA_A", [0] * 8, item8_branch="D").code == "unknown_branch"


def test_rom_needs_joint_motion_side() -> None:
    assert _error("ROM", [90], joint="knee", motion="flexion").field == "side"
    assert _error("ROM", [90], joint="knee", motion="flexion", side="up").code == "invalid_side"
    err = _error("ROM", [90], joint="knee", motion="abduction", side="left")
    assert err.code == "unknown_joint_motion"
    assert _error("ROM", [200], joint="knee", motion="flexion", side="left").code == (
        "out_of_range"
    )
