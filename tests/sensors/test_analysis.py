"""The definitions of issue 15 on small recordings worked out by hand, and edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strigil.sensors import analyze, parse_csv
from strigil.sensors.dose import dose_from_strokes
from strigil.sensors.strokes import segment


def _csv(t: list[float], f: list[float | None], angle: list[float | None] | None = None) -> str:
    head = "t_s,fz_n" + (",angle_deg" if angle is not None else "")
    rows = [head]
    for i, (ti, fi) in enumerate(zip(t, f, strict=True)):
        cells = [f"{ti:g}", "" if fi is None else f"{fi:g}"]
        if angle is not None:
            a = angle[i]
            cells.append("" if a is None else f"{a:g}")
        rows.append(",".join(cells))
    return "\n".join(rows) + "\n"


def test_crossings_are_interpolated_and_impulse_is_trapezoidal() -> None:
    # 100 Hz: 0 N, then 1.5 N for 0.2 s, then 0 N. Threshold 0.5 N is crossed one third of
    # the way up the first ramp and two thirds of the way down the last one.
    t = [i / 100 for i in range(26)]
    f = [0.0] * 3 + [1.5] * 21 + [0.0] * 2
    dose = analyze(parse_csv(_csv(t, f)))
    assert dose.strokes == 1
    (stroke,) = dose.stroke_list
    start = 0.02 + 0.01 / 3
    end = 0.23 + 0.01 * 2 / 3
    assert stroke.start_s == pytest.approx(start)
    assert stroke.duration_s == pytest.approx(end - start)
    # plateau 0.20 s at 1.5 N, plus two ramp pieces from 0.5 N to 1.5 N over 2/3 of 10 ms
    impulse = 1.5 * 0.20 + 2 * (0.5 + 1.5) / 2 * (0.01 * 2 / 3)
    assert stroke.impulse_ns == pytest.approx(impulse)
    assert dose.mean_force_n == pytest.approx(impulse / (end - start))
    assert dose.peak_force_n == pytest.approx(1.5, rel=1e-9)
    assert dose.stroke_rate_hz == pytest.approx(1 / (end - start))


def test_peak_is_the_largest_centred_50_ms_mean_of_the_stroke() -> None:
    # 100 Hz: a 4 N hold with one 9 N sample. The five samples within 25 ms of it average
    # 5 N; near the stroke's ends the window is cut at the stroke's own first or last sample.
    t = [i / 100 for i in range(40)]
    f = [0.0] * 5 + [4.0] * 30 + [0.0] * 5
    f[20] = 9.0
    dose = analyze(parse_csv(_csv(t, f)))
    assert dose.strokes == 1
    assert dose.peak_force_n == pytest.approx((4 * 4.0 + 9.0) / 5)
    f[20], f[5] = 4.0, 9.0  # at the first sample: the window holds 9 N and the next two
    assert analyze(parse_csv(_csv(t, f))).peak_force_n == pytest.approx((9.0 + 2 * 4.0) / 3)


def _peaks_by_hand(t: np.ndarray, f: np.ndarray, runs: list[tuple[int, int]]) -> list[float]:
    """The definition read literally: for each sample, the mean of its stroke's samples within
    25 ms (1 ns allowance); the largest of those means."""
    peaks = []
    for a, b in runs:
        means = []
        for i in range(a, b + 1):
            near = [f[j] for j in range(a, b + 1) if abs(t[j] - t[i]) <= 0.025 + 1e-9]
            means.append(sum(near) / len(near))
        peaks.append(max(means))
    return peaks


@pytest.mark.parametrize("kind", ["regular", "jittered", "gaps", "slow"])
def test_peak_windows_match_the_definition_on_any_sampling(kind: str) -> None:
    from strigil.sensors.strokes import _stroke_peaks

    rng = np.random.default_rng(len(kind))
    steps = {
        "regular": np.full(400, 0.002),
        "jittered": rng.uniform(0.0005, 0.02, 400),
        "gaps": np.where(rng.random(400) < 0.03, 0.04, 0.002),
        "slow": np.full(400, 0.03),
    }[kind]
    t = np.cumsum(steps)
    f = rng.uniform(0.0, 10.0, 400)
    runs = [(0, 40), (41, 41), (60, 200), (230, 399)]
    starts = np.array([a for a, _ in runs])
    ends = np.array([b for _, b in runs])
    found = _stroke_peaks(t, f, starts, ends)
    assert found.tolist() == pytest.approx(_peaks_by_hand(t, f, runs), rel=1e-12)


def test_short_run_is_noise_and_long_gap_splits() -> None:
    t = [i / 100 for i in range(60)]
    f: list[float | None] = [0.0] * 60
    for i in range(5, 10):  # 0.04 s above: noise
        f[i] = 2.0
    for i in range(20, 55):
        f[i] = 3.0
    for i in range(33, 40):  # samples lost for 0.08 s: the stroke splits in two
        f[i] = None
    dose = analyze(parse_csv(_csv(t, f)))
    assert dose.strokes == 2
    first, second = dose.stroke_list
    assert first.start_s + first.duration_s == pytest.approx(0.32)  # its last sample
    assert second.start_s == pytest.approx(0.40)  # its first sample after the gap


def test_short_gap_inside_a_stroke_is_bridged() -> None:
    t = [i / 100 for i in range(40)]
    f: list[float | None] = [0.0] * 5 + [4.0] * 30 + [0.0] * 5
    f[15] = f[16] = None  # 0.03 s between valid samples: not a split
    dose = analyze(parse_csv(_csv(t, f)))
    assert dose.strokes == 1
    ramp = 0.01 * (1 - 0.5 / 4.0)  # each crossing lies 1/8 into its interval
    assert dose.impulse_ns == pytest.approx(4.0 * 0.29 + 2 * (0.5 + 4.0) / 2 * ramp)


def test_stroke_open_at_the_end_counts_and_ends_at_the_last_sample() -> None:
    t = [i / 1000 for i in range(400)]
    f = [0.0] * 200 + [2.0] * 200
    dose = analyze(parse_csv(_csv(t, f)))
    assert dose.strokes == 1
    assert dose.stroke_list[0].start_s + dose.stroke_list[0].duration_s == pytest.approx(0.399)


def test_no_contact_gives_zero_strokes_and_no_forces() -> None:
    dose = analyze(parse_csv(_csv([0.0, 0.01, 0.02], [0.1, 0.2, 0.5])))
    assert dose.to_json() == {
        "strokes": 0,
        "stroke_rate_hz": 0.0,
        "time_under_load_s": 0.0,
        "mean_force_n": None,
        "peak_force_n": None,
        "impulse_ns": 0.0,
        "mean_angle_deg": None,
        "stroke_list": [],
    }


def test_sidecar_threshold_overrides_the_default() -> None:
    from strigil.sensors import parse_sidecar

    text = _csv([i / 100 for i in range(30)], [0.8] * 30)
    assert analyze(parse_csv(text)).strokes == 1
    assert analyze(parse_csv(text, parse_sidecar('{"contact_threshold_n": 1.0}'))).strokes == 0


def test_angle_mean_skips_intervals_without_an_angle() -> None:
    t = [i / 100 for i in range(30)]
    angle: list[float | None] = [30.0] * 15 + [None] + [60.0] * 14
    dose = analyze(parse_csv(_csv(t, [2.0] * 30, angle)))
    # intervals 0..14 at 30°, 16..29 at 60°; the two touching the missing sample are left out
    expected = (30.0 * 0.14 + 60.0 * 0.13) / (0.14 + 0.13)
    assert dose.mean_angle_deg == pytest.approx(expected)


# --- properties -------------------------------------------------------------------------------

rates = st.sampled_from([100.0, 250.0, 1000.0])


@settings(max_examples=60, deadline=None)
@given(
    level=st.floats(min_value=-5.0, max_value=50.0),
    n=st.integers(min_value=1, max_value=400),
    hz=rates,
)
def test_constant_force(level: float, n: int, hz: float) -> None:
    """Constant force: one stroke over the whole file when above threshold and long enough."""
    t = np.arange(n) / hz
    f = np.full(n, level)
    dose = dose_from_strokes(segment(t, f))
    span = (n - 1) / hz
    if level > 0.5 and span >= 0.1 - 1e-9:
        assert dose.strokes == 1
        assert dose.time_under_load_s == pytest.approx(span)
        assert dose.mean_force_n == pytest.approx(level)
        assert dose.peak_force_n == pytest.approx(level, rel=1e-9)
    else:
        assert dose.strokes == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.floats(min_value=-2.0, max_value=20.0) | st.just(math.nan), min_size=1, max_size=300
    ),  # fmt: skip
    rates,
)
def test_invariants_hold_for_any_signal(values: list[float], hz: float) -> None:
    """Strokes are ordered, disjoint, at least 0.1 s; figures add up; mean within the range."""
    t = np.arange(len(values)) / hz
    f = np.array(values)
    dose = dose_from_strokes(segment(t, f))
    ends = [s.start_s + s.duration_s for s in dose.stroke_list]
    for s in dose.stroke_list:
        assert s.duration_s >= 0.1 - 1e-9
        assert 0.5 < s.peak_force_n <= 20.0 + 1e-9  # a mean of samples, up to rounding
        assert s.impulse_ns >= 0.5 * s.duration_s - 1e-9
    for end, nxt in zip(ends, dose.stroke_list[1:], strict=False):
        assert end <= nxt.start_s
    assert dose.time_under_load_s == pytest.approx(sum(s.duration_s for s in dose.stroke_list))
    assert dose.impulse_ns == pytest.approx(sum(s.impulse_ns for s in dose.stroke_list))
    if dose.strokes:
        assert dose.mean_force_n is not None and dose.peak_force_n is not None
        assert 0.5 - 1e-9 <= dose.mean_force_n <= dose.peak_force_n + 1e-9


@settings(max_examples=40, deadline=None)
@given(
    start=st.integers(min_value=0, max_value=50),
    length=st.integers(min_value=1, max_value=200),
    level=st.floats(min_value=0.6, max_value=30.0),
)
def test_one_stroke(start: int, length: int, level: float) -> None:
    """One rectangular stroke at 100 Hz is found iff it lasts 0.1 s between its crossings."""
    n = start + length + 5
    f = np.zeros(n)
    f[start : start + length] = level
    t = np.arange(n) / 100.0
    dose = dose_from_strokes(segment(t, f))
    # crossings interpolated into the neighbouring intervals (none before the first sample)
    lead = 0.0 if start == 0 else 0.01 * (level - 0.5) / level
    tail = 0.01 * (level - 0.5) / level
    duration = (length - 1) / 100 + lead + tail
    assert dose.strokes == (1 if duration >= 0.1 - 1e-9 else 0)
    if dose.strokes:
        assert dose.time_under_load_s == pytest.approx(duration)
