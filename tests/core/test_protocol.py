"""Visit rules: intensity, discomfort, stopping, time, re-treatment, skin, angle, phases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strigil.core import catalog, protocol
from strigil.core.protocol import Intensity, SkinGrade, StopReason
from strigil.errors import Conflict, InvalidInput

T = catalog.thresholds()


def test_intensity_is_ordered() -> None:
    assert Intensity.GENTLE < Intensity.MODERATE < Intensity.VIGOROUS
    assert Intensity.VIGOROUS >= "moderate" and Intensity.GENTLE <= Intensity.GENTLE
    assert sorted([Intensity.VIGOROUS, Intensity.GENTLE, Intensity.MODERATE])[0] is Intensity.GENTLE


def test_first_treat_entry_cannot_be_vigorous() -> None:
    with pytest.raises(InvalidInput) as err:
        protocol.check_first_intensity("vigorous", is_first_treat_entry=True)
    assert (err.value.field, err.value.code) == ("intensity", "start_gently")
    assert protocol.check_first_intensity("vigorous", False) is Intensity.VIGOROUS
    assert protocol.check_first_intensity(Intensity.MODERATE, True) is Intensity.MODERATE


def test_unknown_intensity() -> None:
    with pytest.raises(InvalidInput) as err:
        protocol.check_first_intensity("hard", True)
    assert err.value.field == "intensity"


@pytest.mark.parametrize(
    ("value", "tolerance", "expected"),
    [
        (0, 6, None),
        (5, 6, None),
        (6, 6, StopReason.TOLERANCE_REACHED),
        (10, 6, StopReason.TOLERANCE_REACHED),
        (3, 3, StopReason.TOLERANCE_REACHED),
    ],
)
def test_discomfort_at_or_over_tolerance_stops(
    value: int, tolerance: int, expected: StopReason | None
) -> None:
    assert protocol.evaluate_discomfort(value, tolerance) is expected


@pytest.mark.parametrize(
    ("value", "tolerance", "field"),
    [
        (-1, 6, "value"),
        (11, 6, "value"),
        (5.5, 6, "value"),
        (True, 6, "value"),
        ("5", 6, "value"),
        (5, 0, "tolerance"),
        (5, 11, "tolerance"),
    ],
)
def test_discomfort_must_be_whole_0_to_10(value: object, tolerance: int, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        protocol.evaluate_discomfort(value, tolerance)  # type: ignore[arg-type]
    assert err.value.field == field


@given(st.integers(0, 10), st.integers(1, 10))
def test_discomfort_stop_matches_definition(value: int, tolerance: int) -> None:
    stopped = protocol.evaluate_discomfort(value, tolerance) is not None
    assert stopped == (value >= tolerance)


def test_discomfort_warning_near_the_limit() -> None:
    assert protocol.discomfort_warning(5, 7, T) is not None
    assert protocol.discomfort_warning(4, 7, T) is None
    assert protocol.discomfort_warning(7, 7, T) is None  # that is a stop, not a warning


def test_stop_reason_rules() -> None:
    assert protocol.require_stop_reason("petechiae") is StopReason.PETECHIAE
    assert protocol.require_stop_reason("other", "patient felt faint") is StopReason.OTHER
    for empty in (None, "", "  "):
        with pytest.raises(InvalidInput) as err:
            protocol.require_stop_reason(empty)
        assert err.value.field == "stop_reason"
    with pytest.raises(InvalidInput) as err:
        protocol.require_stop_reason("other", " ")
    assert (err.value.field, err.value.code) == ("stop_note", "stop_note_required")
    with pytest.raises(InvalidInput) as err:
        protocol.require_stop_reason("bored")
    assert err.value.code == "unknown_stop_reason"


def test_skin_grade_endpoint() -> None:
    assert [g.score for g in SkinGrade] == [0, 1, 2, 3]
    assert not protocol.ends_area("none") and not protocol.ends_area(SkinGrade.ERYTHEMA)
    assert protocol.ends_area("petechiae") and protocol.ends_area("ecchymosis")
    with pytest.raises(InvalidInput) as err:
        protocol.ends_area("purple")
    assert err.value.field == "skin_grade"


@pytest.mark.parametrize(("seconds", "count"), [(0, 0), (120, 0), (121, 1), (300, 1), (301, 2)])
def test_time_warnings_at_the_limits(seconds: int, count: int) -> None:
    assert len(protocol.time_warnings(seconds, T)) == count


def test_time_warnings_follow_configured_thresholds() -> None:
    strict = catalog.thresholds({"per_area_seconds_max": 90, "per_area_seconds_default": 60})
    assert protocol.time_warnings(100, strict) and not protocol.time_warnings(100, T)
    with pytest.raises(InvalidInput):
        protocol.time_warnings(-1, T)


def test_visit_time_warning() -> None:
    assert protocol.visit_time_warnings(30 * 60, T) == []
    assert len(protocol.visit_time_warnings(30 * 60 + 1, T)) == 1


def test_retreatment_warnings() -> None:
    now = datetime(2026, 5, 4, 12, tzinfo=UTC)
    assert protocol.retreatment_warnings(None, now, False, T) == []
    assert protocol.retreatment_warnings(now - timedelta(hours=48), now, False, T) == []
    soon = protocol.retreatment_warnings(now - timedelta(hours=47), now, False, T)
    assert len(soon) == 1 and "48 h" in soon[0]
    both = protocol.retreatment_warnings(now - timedelta(hours=10), now, True, T)
    assert len(both) == 2 and "bruising" in both[1]


def test_retreatment_rejects_bad_times() -> None:
    now = datetime(2026, 5, 4, 12, tzinfo=UTC)
    with pytest.raises(InvalidInput) as err:
        protocol.retreatment_warnings(now + timedelta(hours=1), now, False, T)
    assert err.value.code == "in_future"
    with pytest.raises(InvalidInput):
        protocol.retreatment_warnings(datetime(2026, 5, 4), now, False, T)


def test_angle_validation_and_warnings() -> None:
    assert protocol.angle_warnings(45, T) == []
    assert protocol.angle_warnings(75, T)  # steeper than typical
    assert protocol.angle_warnings(75, T, "strum") == []
    assert protocol.angle_warnings(45, T, "scoop")
    for bad in (0, 91, -5, 45.5):
        with pytest.raises(InvalidInput) as err:
            protocol.angle_warnings(bad, T)  # type: ignore[arg-type]
        assert err.value.field == "angle"
    with pytest.raises(InvalidInput):
        protocol.angle_warnings(45, T, "karate_chop")


def test_next_phase_walks_the_protocol() -> None:
    assert protocol.next_phase(None).code == "pre_test"  # type: ignore[union-attr]
    assert protocol.next_phase("treat").code == "post_test"  # type: ignore[union-attr]
    assert protocol.next_phase("document") is None


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (None, "pre_test"),
        ("pre_test", "warm_up"),
        ("treat", "explore"),
        ("active_motion", "document"),
        ("active_motion", "cryotherapy"),
        ("strengthening", "document"),
    ],
)
def test_allowed_phase_transitions(current: str | None, target: str) -> None:
    assert protocol.validate_phase_transition(current, target).code == target


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (None, "treat"),
        ("pre_test", "explore"),
        ("post_test", "treat"),
        ("treat", "treat"),
        ("document", "pre_test"),
        ("warm_up", "post_test"),
    ],
)
def test_refused_phase_transitions(current: str | None, target: str) -> None:
    with pytest.raises(Conflict) as err:
        protocol.validate_phase_transition(current, target)
    assert (err.value.field, err.value.code) == ("phase", "phase_out_of_order")


def test_unknown_phase() -> None:
    with pytest.raises(InvalidInput) as err:
        protocol.validate_phase_transition("treat", "nap")
    assert err.value.field == "phase"
