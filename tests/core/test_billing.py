"""CPT 97140 units by the 8-minute rule (S28), single and multiple timed codes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strigil.core import billing
from strigil.core.billing import BillingRule
from strigil.errors import InvalidInput


@pytest.mark.parametrize(
    ("minutes", "units"),
    [
        (0, 0),
        (7, 0),
        (8, 1),
        (15, 1),
        (22, 1),
        (23, 2),
        (37, 2),
        (38, 3),
        (52, 3),
        (53, 4),
        (67, 4),
        (68, 5),
    ],
)
def test_eight_minute_rule_boundaries(minutes: int, units: int) -> None:
    assert billing.units_for_minutes(minutes) == units
    assert billing.billing_summary(minutes).units == units


@given(st.integers(0, 600))
def test_units_cover_minutes_within_the_rule(minutes: int) -> None:
    units = billing.units_for_minutes(minutes)
    if minutes < 8:
        assert units == 0
    else:  # each unit needs at least 8 minutes beyond the previous full units
        assert 15 * (units - 1) + 8 <= minutes < 15 * units + 8


@pytest.mark.parametrize("bad", [-1, 7.5, True, "10"])
def test_bad_minutes_are_refused(bad: object) -> None:
    with pytest.raises(InvalidInput) as err:
        billing.units_for_minutes(bad)  # type: ignore[arg-type]
    assert err.value.field == "minutes"


def test_cms_example_remaining_unit_goes_to_the_larger_remainder() -> None:
    # CMS example: 33 min therapeutic exercise + 7 min manual therapy = 40 min → 3 units.
    units = billing.allocate_units({"97110": 33, "97140": 7})
    assert units == {"97110": 2, "97140": 1}


def test_cms_example_two_codes_each_over_one_unit() -> None:
    # 24 + 23 = 47 min → 3 units; one full unit each, the third to the larger remainder.
    assert billing.allocate_units({"97112": 24, "97110": 23}) == {"97112": 2, "97110": 1}


def test_two_short_services_combine_into_one_unit() -> None:
    assert billing.allocate_units({"97035": 5, "97140": 6}) == {"97035": 0, "97140": 1}
    assert billing.allocate_units({"97035": 7, "97140": 7}) == {"97035": 1, "97140": 0}  # tie


@given(st.dictionaries(st.sampled_from(["97110", "97112", "97140", "97530"]), st.integers(0, 90)))
def test_allocation_sums_to_total_units(minutes: dict[str, int]) -> None:
    units = billing.allocate_units(minutes)
    assert sum(units.values()) == billing.units_for_minutes(sum(minutes.values()))
    assert all(units[c] >= minutes[c] // 15 for c in minutes)


@pytest.mark.parametrize(("minutes", "units"), [(7, 0), (8, 1), (22, 1), (23, 2), (37, 2), (38, 3)])
def test_ama_rule_counts_each_code_alone(minutes: int, units: int) -> None:
    assert billing.allocate_units({"97140": minutes}, BillingRule.AMA) == {"97140": units}
    # under AMA two 7-minute services earn nothing; under CMS they earn one unit
    assert billing.allocate_units({"97140": 7, "97110": 7}, "ama") == {"97140": 0, "97110": 0}


def test_summary_for_97140_with_other_codes() -> None:
    summary = billing.billing_summary(7, {"97110": 33})
    assert summary.cpt == "97140" and summary.units == 1 and summary.minutes == 7
    assert summary.total_timed_minutes == 40 and summary.units_by_code["97110"] == 2
    assert "hands-on" in summary.documentation_note and "S28" in summary.documentation_note
    assert summary.rule is BillingRule.CMS


def test_summary_refuses_bad_input() -> None:
    with pytest.raises(InvalidInput) as err:
        billing.billing_summary(10, {"97140": 5})
    assert err.value.code == "duplicate_code"
    with pytest.raises(InvalidInput) as err:
        billing.billing_summary(10, {"97110": -3})
    assert err.value.field == "minutes.97110"
    with pytest.raises(InvalidInput) as err:
        billing.billing_summary(10, rule="medicaid")
    assert err.value.field == "rule"
