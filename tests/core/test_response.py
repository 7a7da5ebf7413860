"""Response engine: signed change, responder classes at exact boundaries, prompt, course."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strigil.core.response import (
    change,
    classify,
    expected_course,
    percentile,
    reconsider_prompt,
    wilson_interval,
)
from strigil.errors import InvalidInput


def test_change_is_positive_for_improvement_in_both_directions() -> None:
    assert change("NPRS", 6, 4) == 2
    assert change("NPRS", 4, 6) == -2
    assert change("LEFS", 40, 50) == 10
    assert change("LEFS", 50, 40) == -10


# --- lower is better (NPRS, explicit MCID 2 and MDC 1: the caller's pair replaces defaults)
@pytest.mark.parametrize(
    ("baseline", "current", "category"),
    [
        (6, 4, "improved"),  # exactly the MCID
        (6, 4.1, "partial"),  # just under the MCID, above the MDC
        (6, 5, "partial"),  # exactly the MDC
        (6, 5.1, "unchanged"),  # just under the MDC
        (4, 5, "worse"),  # deterioration exactly the MDC
        (4, 4.9, "unchanged"),  # deterioration just under the MDC: within measurement error
        (5, 3.7, "improved"),  # 1.3 via binary rounding still meets mcid=1.3 below
    ],
)
def test_lower_is_better_boundaries(baseline: float, current: float, category: str) -> None:
    mcid = 1.3 if (baseline, current) == (5, 3.7) else 2
    assert classify("NPRS", baseline, current, mcid=mcid, mdc=1).category == category


# --- higher is better (LEFS, MCID 9, MDC 5)
@pytest.mark.parametrize(
    ("baseline", "current", "category"),
    [
        (40, 49, "improved"),
        (40, 48, "partial"),
        (40, 45, "partial"),
        (40, 44, "unchanged"),
        (45, 40, "worse"),  # a worsening of the MDC
        (44, 40, "unchanged"),
    ],
)
def test_higher_is_better_boundaries(baseline: float, current: float, category: str) -> None:
    assert classify("LEFS", baseline, current, mcid=9, mdc=5).category == category


def test_registry_defaults_lefs_mcid_equals_mdc() -> None:
    """LEFS MCID and MDC are both 9 (Binkley 1999), so 'partial' cannot happen by default."""
    assert classify("LEFS", 40, 49).category == "improved"
    assert classify("LEFS", 40, 48).category == "unchanged"
    assert classify("LEFS", 49, 40).category == "worse"


def test_odi_percent_threshold_still_needs_the_mdc() -> None:
    """ODI: MCID 10 points or 30 % (Ostelo 2008), MDC 10 points. 20 -> 14 is exactly 30 %
    but only 6 points, inside the measurement error, so it is not an improvement."""
    c = classify("ODI", 20, 14)
    assert c.category == "unchanged" and c.percent_change == pytest.approx(30)
    assert classify("ODI", 40, 30).category == "improved"  # 10 points, 25 %
    assert classify("ODI", 40, 30.2).category == "unchanged"
    assert classify("ODI", 30, 40).category == "worse"  # deterioration of 10 points
    assert classify("ODI", 30, 39.8).category == "unchanged"


def test_prtee_37_percent() -> None:
    """PRTEE: 11 points or 37 % (Poltawski & Watson 2011); MDC90 9.7 (S35)."""
    assert classify("PRTEE", 20, 12.6).category == "unchanged"  # 7.4 = 37 %, but < MDC 9.7
    assert classify("PRTEE", 30, 20.3).category == "partial"  # 9.7 = 32 %: the MDC, not the MCID
    assert classify("PRTEE", 26, 16.3).category == "improved"  # 9.7 = 37.3 % and the MDC
    assert classify("PRTEE", 60, 50).category == "partial"  # 10 >= MDC 9.7
    assert classify("PRTEE", 50, 61).category == "worse"


def test_every_response_rule_is_stated_with_its_source_in_the_catalogue() -> None:
    from strigil.core.measures import response_rules

    stated = {category: sources for category, _, sources in response_rules()}
    assert set(stated) == {"improved", "partial", "unchanged", "worse", "reassess"}
    assert all(stated.values())


def test_an_mcid_sized_change_inside_the_mdc_is_unchanged() -> None:
    """When the MDC is larger than the MCID, an MCID-sized change is still noise."""
    assert classify("NPRS", 6, 4, mcid=2, mdc=3).category == "unchanged"
    assert classify("NPRS", 6, 3, mcid=2, mdc=3).category == "improved"
    assert classify("NPRS", 3, 5, mcid=2, mdc=3).category == "unchanged"
    assert classify("NPRS", 3, 6, mcid=2, mdc=3).category == "worse"


def test_percent_only_thresholds_given_by_the_caller() -> None:
    c = classify("SIT_REACH", 20, 21.34, mcid=5)  # 6.7 % of baseline = MDC (S46)
    assert c.category == "partial" and c.mdc_percent == 6.7
    c = classify("NPRS", 10, 7, mcid_percent=30)
    assert c.category == "improved" and c.mcid is None


def test_no_mcid_and_change_measures_raise() -> None:
    with pytest.raises(InvalidInput) as exc:
        classify("ROM", 90, 100)
    assert (exc.value.code, exc.value.field) == ("no_mcid", "mcid")
    assert classify("ROM", 90, 100, mcid=8).category == "improved"
    with pytest.raises(InvalidInput) as exc:
        classify("GROC", 0, 3)
    assert exc.value.code == "change_measure"


def test_classify_rejects_bad_values() -> None:
    with pytest.raises(InvalidInput) as exc:
        classify("NPRS", 11, 3)
    assert exc.value.field == "baseline"
    with pytest.raises(InvalidInput) as exc:
        classify("NPRS", 5, 3, mcid=-1)
    assert exc.value.field == "mcid"


def test_reconsider_prompt() -> None:
    assert reconsider_prompt(3, ["partial", "unchanged"]).prompt is False
    p = reconsider_prompt(4, ["partial", "unchanged"])
    assert p.prompt is True and p.latest == "unchanged"
    lost = reconsider_prompt(6, ["improved", "improved", "unchanged"])
    assert lost.prompt is True and "latest: unchanged" in lost.reason
    assert reconsider_prompt(4, []).prompt is True
    assert reconsider_prompt(10, ["worse", "improved"]).prompt is False
    assert reconsider_prompt(5, ["unchanged"], threshold_visits=6).prompt is False
    assert reconsider_prompt(6, [classify("NPRS", 6, 5.5)], threshold_visits=6).prompt is True
    with pytest.raises(InvalidInput):
        reconsider_prompt(4, ["better"])  # type: ignore[list-item]
    with pytest.raises(InvalidInput):
        reconsider_prompt(-1, [])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=40),
    st.floats(0, 100),
)
def test_percentile_matches_numpy_linear(values: list[float], q: float) -> None:
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), abs=1e-6)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [  # Newcombe RG. Stat Med 1998;17:857-872, Table II (Wilson score method)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_published_values(k: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(k, n)
    assert (lo, hi) == (pytest.approx(low, abs=1e-4), pytest.approx(high, abs=1e-4))


def test_expected_course_insufficient_returns_literature() -> None:
    histories = [[(1, 2.0), (4, 5.0)]] * 9
    course = expected_course(histories, "ROM")
    assert course.insufficient and course.n_episodes == 9 and course.by_visit == ()
    assert course.literature_expectation is not None
    assert course.literature_expectation["value"] == 4.9


def test_expected_course_statistics() -> None:
    finals = [0.0, 1.0, 2.0, 2.0, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0]
    histories = [[(1, 0.0), (2, f / 2), (4, f)] for f in finals]
    course = expected_course(histories, "NPRS")  # default MCID 2 points
    assert not course.insufficient
    visit4 = next(v for v in course.by_visit if v.visit == 4)
    assert visit4.n == 10
    assert visit4.median == pytest.approx(np.percentile(finals, 50))
    assert (visit4.q1, visit4.q3) == (
        pytest.approx(np.percentile(finals, 25)),
        pytest.approx(np.percentile(finals, 75)),
    )
    assert course.reached_mcid == 8 and course.share_reaching_mcid == pytest.approx(0.8)
    lo, hi = wilson_interval(8, 10)
    assert (course.ci_low, course.ci_high) == (lo, hi)
    assert course.literature_expectation is not None


def test_expected_course_rejects_bad_histories() -> None:
    for bad in ([[]], [[(1, 1.0), (1, 2.0)]], [[(1.5, 1.0)]], [[(1, float("inf"))]]):
        with pytest.raises(InvalidInput) as exc:
            expected_course(bad, "NPRS", min_episodes=1)  # type: ignore[arg-type]
        assert exc.value.field == "histories[0]"
