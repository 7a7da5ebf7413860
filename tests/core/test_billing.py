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


# ---------------------------------------------------------------- the whole visit


@pytest.mark.parametrize(("seconds", "units"), [(7 * 60 + 59, 0), (8 * 60, 1), (22 * 60 + 59, 1)])
def test_minutes_are_counted_down_from_seconds(seconds: int, units: int) -> None:
    charges = billing.visit_charges({"97140": seconds})
    assert charges.lines[0].minutes == seconds // 60
    assert charges.lines[0].units == units


def test_seven_and_a_half_minutes_bill_nothing() -> None:
    # round(450 / 60) would be 8 minutes and one unit Medicare does not allow
    assert billing.minutes_from_seconds(450) == 7
    assert billing.visit_charges({"97140": 450}).timed_units == 0


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        # CMS examples (Medicare Claims Processing Manual ch. 5 §20.2, as summarised in S28)
        ({"97110": 33, "97140": 7}, {"97110": 2, "97140": 1}),  # 40 min → 3 units
        ({"97112": 24, "97110": 23}, {"97112": 2, "97110": 1}),  # 47 min → 3 units
        ({"97110": 7, "97140": 7, "97112": 7}, {"97110": 1, "97140": 0, "97112": 0}),  # 21 → 1
        ({"97140": 20, "97530": 20}, {"97140": 2, "97530": 1}),  # 40 → 3; tie: first listed
    ],
)
def test_cms_examples_across_codes(minutes: dict[str, int], expected: dict[str, int]) -> None:
    charges = billing.visit_charges({c: m * 60 for c, m in minutes.items()})
    units = {ln.code: ln.units for ln in charges.lines}
    assert sum(units.values()) == billing.units_for_minutes(sum(minutes.values()))
    assert units == expected


def test_untimed_codes_do_not_count_toward_timed_minutes() -> None:
    charges = billing.visit_charges({"97140": 7 * 60}, untimed=("97161", "97010"))
    assert charges.total_timed_minutes == 7 and charges.timed_units == 0
    assert {(ln.code, ln.units) for ln in charges.lines if not ln.timed} == {
        ("97161", 1),
        ("97010", 1),
    }


def test_ama_rule_bills_each_code_on_its_own() -> None:
    charges = billing.visit_charges({"97140": 7 * 60, "97110": 8 * 60}, rule="ama")
    assert {ln.code: ln.units for ln in charges.lines} == {"97140": 0, "97110": 1}


@pytest.mark.parametrize(
    ("timed", "untimed", "code"),
    [
        ({"99999": 600}, (), "unknown_billing_code"),
        ({"97161": 600}, (), "untimed_code"),
        ({}, ("97110",), "timed_code"),
    ],
)
def test_codes_must_be_in_the_catalogue_and_used_as_it_says(
    timed: dict[str, int], untimed: tuple[str, ...], code: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        billing.visit_charges(timed, untimed)
    assert err.value.code == code and err.value.field == "code"


def test_the_catalogue_says_which_codes_are_timed() -> None:
    timed = {c.code for c in billing.codes() if c.timed}
    assert timed == {"97140", "97110", "97112", "97530", "97535"}
    assert {c.code for c in billing.codes() if not c.timed} == {"97010", "97161", "97162", "97163"}
    assert all(c.sources for c in billing.codes())
