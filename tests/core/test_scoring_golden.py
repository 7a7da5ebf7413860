"""Worked examples for every measure, built from each measure's published scoring rule."""

from __future__ import annotations

import pytest

from strigil.core.scoring import score
from strigil.errors import InvalidInput


def _missing_error(code: str, answers: list[float | None], **options: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as exc:
        score(code, answers, **options)
    assert exc.value.code == "too_many_missing"
    return exc.value


def test_nprs() -> None:
    """NPRS: the single 0-10 rating is the score (Farrar 2001)."""
    s = score("NPRS", [7])
    assert (s.score, s.min, s.max, s.direction) == (7, 0, 10, "lower_is_better")


def test_vas_mm_and_cm() -> None:
    """VAS: distance in mm from the no-pain anchor; 4.5 cm is 45 mm."""
    assert score("VAS", [45]).score == 45
    assert score("VAS", [4.5], unit="cm").score == pytest.approx(45)


def test_odi_complete_and_one_section_missing() -> None:
    """ODI 2.1a (Fairbank & Pynsent 2000 scoring note): 16/50 x 100 = 32 %; one section
    missing: 16/45 x 100 = 35.6 %."""
    full = score("ODI", [2, 2, 2, 2, 2, 2, 2, 1, 1, 0])
    assert full.score == pytest.approx(32.0)
    part = score("ODI", [2, 2, 2, 2, 2, 2, 2, 1, 1, None])
    assert part.score == pytest.approx(16 / 45 * 100)
    assert (part.answered, part.missing) == (9, 1) and part.notes
    _missing_error("ODI", [None] * 10)


def test_ndi_points_percent_and_vernon_missing_rule() -> None:
    """NDI (Vernon & Mior 1991; Vernon's note): sum 0-50, x 2 for %; a missing item takes
    the mean of the others: 18 + 18/9 = 20 points = 40 %."""
    full = score("NDI", [1, 2, 3, 1, 2, 3, 1, 2, 3, 0])
    assert full.score == 18 and full.subscores["percent"] == pytest.approx(36)
    part = score("NDI", [1, 2, 3, 1, 2, 3, 1, 2, 3, None])
    assert part.score == pytest.approx(20) and part.subscores["percent"] == pytest.approx(40)


def test_lefs_sum_and_no_missing_items() -> None:
    """LEFS (Binkley 1999): sum of 20 items 0-4 = 0-80; no proration is published."""
    assert score("LEFS", [4] * 10 + [3] * 10).score == 70
    assert score("LEFS", [0] * 20).score == 0
    _missing_error("LEFS", [4] * 19 + [None])


def test_quickdash_formula_and_one_missing_item() -> None:
    """QuickDASH (Beaton 2005): ((sum/n) - 1) x 25; at most one of 11 items missing."""
    assert score("QUICKDASH", [1] * 11).score == 0
    assert score("QUICKDASH", [5] * 11).score == 100
    answers: list[float | None] = [2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2]
    assert score("QUICKDASH", answers).score == pytest.approx((27 / 11 - 1) * 25)
    one = score("QUICKDASH", [2, 3, 2, 3, 2, 3, 2, 3, 2, 3, None])
    assert one.score == pytest.approx(37.5)
    _missing_error("QUICKDASH", [2, 3, 2, 3, 2, 3, 2, 3, 2, None, None])


def test_prtee_subscales_and_mean_imputation() -> None:
    """PRTEE (MacDermid 2007 manual): pain = sum items 1-5; function = sum items 6-15 / 2;
    a missing item takes its subscale's mean: pain (5+6+3+9)/4 x 5 = 28.75."""
    full = score("PRTEE", [5, 6, 7, 3, 9] + [4] * 10)
    assert full.subscores == {"pain": 30, "function": 20} and full.score == 50
    part = score("PRTEE", [5, 6, None, 3, 9] + [4] * 9 + [None])
    assert part.subscores["pain"] == pytest.approx(28.75)
    assert part.subscores["function"] == pytest.approx(20)
    assert part.score == pytest.approx(48.75)
    err = _missing_error("PRTEE", [5, None, None, None, 9] + [4] * 10)
    assert "pain" in err.detail


def test_ffi_subscale_percent_with_not_applicable_items() -> None:
    """FFI (Budiman-Mak 1991, as the SRALab summary reports it): subscale = sum / (10 x
    applicable items) x 100, N/A items excluded; total = all applicable items pooled."""
    s = score("FFI", [5] * 9 + [2] * 9 + [0, 0, 1, None, None])
    assert s.subscores["pain"] == pytest.approx(50)
    assert s.subscores["disability"] == pytest.approx(20)
    assert s.subscores["activity_limitation"] == pytest.approx(100 / 30)
    assert s.score == pytest.approx((45 + 18 + 1) / 210 * 100)
    # the alternative, named in the catalogue: the mean of the three subscales
    assert s.subscores["total_mean_of_subscales"] == pytest.approx((50 + 20 + 100 / 30) / 3)
    full = score("FFI", [3] * 23)  # every item applies: the total is sum / 230
    assert full.score == pytest.approx(69 / 230 * 100)
    _missing_error("FFI", [5] * 9 + [2] * 9 + [None] * 5)


def test_faam_adl_and_sports_with_na() -> None:
    """FAAM (Martin 2005): sum / (4 x answered) x 100; N/A not counted (8 items, 2 N/A:
    highest potential score 24)."""
    assert score("FAAM_ADL", [4] * 21).score == 100
    assert score("FAAM_ADL", [4] * 19 + [3, None]).score == pytest.approx(79 / 80 * 100)
    sports = score("FAAM_SPORTS", [3, 3, 3, 3, 2, 2, None, None])
    assert sports.score == pytest.approx(16 / 24 * 100)
    _missing_error("FAAM_SPORTS", [None] * 8)


def test_visa_a_sum_and_item8_branch() -> None:
    """VISA-A (Robinson 2001): items 1-6 0-10, item 7 0/4/7/10, item 8 from one branch
    (A 0-30, B 0-20, C 0-10); total = sum."""
    answers: list[float | None] = [7, 6, 8, 5, 6, 4, 7, 14]
    assert score("VISA_A", answers).score == 57
    assert score("VISA_A", answers, item8_branch="B").score == 57
    with pytest.raises(InvalidInput) as exc:
        score("VISA_A", answers, item8_branch="C")
    assert exc.value.code == "not_allowed_value" and exc.value.field == "answers[7]"
    assert score("VISA_A", [10] * 6 + [10, 30]).score == 100
    _missing_error("VISA_A", [7, 6, 8, 5, 6, 4, 7, None])


def test_visa_p_sum() -> None:
    """VISA-P (Visentini 1998): same structure as VISA-A; all items required."""
    assert score("VISA_P", [10, 9, 8, 7, 6, 5, 10, 30]).score == 85
    assert score("VISA_P", [0, 0, 0, 0, 0, 0, 0, 0]).score == 0
    _missing_error("VISA_P", [None, 9, 8, 7, 6, 5, 10, 30])


def test_psfs_mean_of_three_to_five_activities() -> None:
    """PSFS (Stratford 1995): the mean of the activities rated, up to five; fewer may be."""
    assert score("PSFS", [3, 5, 4]).score == 4
    assert score("PSFS", [3, 5, 4, None, 8]).score == 5
    assert score("PSFS", [3, None, None, None, 8]).score == 5.5
    assert score("PSFS", [7]).score == 7
    _missing_error("PSFS", [None, None, None, None, None])


def test_rom_measurement_with_normal() -> None:
    """ROM: joint + motion + side + degrees; AAOS normal knee flexion 135 deg (Norkin & White)."""
    s = score("ROM", [120], joint="knee", motion="flexion", side="left")
    assert s.score == 120 and s.unit == "deg"
    assert s.subscores == {"normal": 135, "percent_of_normal": pytest.approx(120 / 135 * 100)}


def test_ppt_units() -> None:
    """PPT: kPa; 1 kg/cm2 = 98.0665 kPa (standard gravity), 1 N/cm2 = 10 kPa."""
    assert score("PPT", [350]).score == 350
    assert score("PPT", [3], unit="kg/cm2").score == pytest.approx(294.1995)
    assert score("PPT", [30], unit="N/cm2").score == pytest.approx(300)


def test_sit_and_reach_and_groc() -> None:
    """Sit-and-reach in cm (10 in = 25.4 cm); GROC is the -7..+7 rating itself."""
    assert score("SIT_REACH", [25]).score == 25
    assert score("SIT_REACH", [10], unit="in").score == pytest.approx(25.4)
    assert score("SIT_REACH", [-5]).score == -5
    assert score("GROC", [-3]).score == -3 and score("GROC", [5]).score == 5
