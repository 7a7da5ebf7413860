"""Stroke segmentation, vectorised: one pass of numpy over the samples, then per-stroke work.

Definitions (docs/sensors.md, issue 15): a stroke is a maximal run of samples with ``fz_n``
above the contact threshold lasting at least 0.1 s; a gap of more than 0.05 s between two
valid samples splits a run. Conventions that make the figures independent of the sample rate:

* a run's start and end are the threshold crossings, linearly interpolated between the last
  sample at or below the threshold and the first above it (when that neighbour is within the
  gap limit); a run that begins at the start of the file, ends at its end, or borders a long
  gap starts or ends at its own first or last sample;
* the impulse is the trapezoidal integral of ``fz_n`` from the start crossing to the end
  crossing (the force at a crossing is the threshold itself);
* the duration is end minus start; a run shorter than 0.1 s (less 1 ns for rounding) is noise;
* the peak is the largest centred 50 ms mean of the stroke's own samples (the mean of those
  within 25 ms either side of one of them), so the sensor's noise does not lift it the way it
  lifts the largest raw sample (by 2-4 sigma on a plateau), and never below the stroke's mean
  force (impulse over duration).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_THRESHOLD_N",
    "MAX_GAP_S",
    "MIN_STROKE_S",
    "PEAK_WINDOW_S",
    "Strokes",
    "segment",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

DEFAULT_THRESHOLD_N = 0.5
MIN_STROKE_S = 0.1
MAX_GAP_S = 0.05
PEAK_WINDOW_S = 0.05  # full width of the centred mean behind the peak (docs/sensors.md)
_EPS_S = 1e-9


@dataclass(frozen=True)
class Strokes:
    """Per-stroke figures, one entry per stroke, in time order."""

    start_s: FloatArray
    end_s: FloatArray
    peak_n: FloatArray
    impulse_ns: FloatArray
    angle_area: FloatArray  # integral of angle over the stroke's sample intervals (deg·s)
    angle_time: FloatArray  # time those intervals cover (s)

    @property
    def count(self) -> int:
        """How many strokes."""
        return int(self.start_s.shape[0])

    @property
    def duration_s(self) -> FloatArray:
        """End minus start of each stroke."""
        return self.end_s - self.start_s


def _empty() -> Strokes:
    nothing = np.zeros(0, dtype=np.float64)
    return Strokes(nothing, nothing, nothing, nothing, nothing, nothing)


def segment(
    t_s: FloatArray,
    fz_n: FloatArray,
    angle_deg: FloatArray | None = None,
    *,
    threshold_n: float = DEFAULT_THRESHOLD_N,
    min_stroke_s: float = MIN_STROKE_S,
    max_gap_s: float = MAX_GAP_S,
) -> Strokes:
    """Find the strokes in a validated recording (time strictly increasing, NaN = gap)."""
    if np.isnan(fz_n.sum()):  # one cheap pass; compress only when there are gaps
        valid = ~np.isnan(fz_n)
        t_s, fz_n = t_s[valid], fz_n[valid]
        angle_deg = angle_deg[valid] if angle_deg is not None else None
    n = t_s.shape[0]
    if n == 0:
        return _empty()
    above = fz_n > threshold_n
    dt = t_s[1:] - t_s[:-1]
    # cont[i]: samples i and i+1 belong to the same run (both above, no long gap between).
    cont = dt <= max_gap_s
    cont &= above[1:]
    cont &= above[:-1]
    first = above.copy()  # a run starts where a sample is above and not continued (a > b)
    np.greater(above[1:], cont, out=first[1:])
    starts = np.flatnonzero(first)
    if starts.size == 0:
        return _empty()
    last = above
    np.greater(above[:-1], cont, out=last[:-1])
    ends = np.flatnonzero(last)
    span = _span_weights(dt)
    impulse = _run_integrals(span, t_s, fz_n, starts, ends)
    start_s, start_extra = _start_crossings(t_s, fz_n, starts, threshold_n, max_gap_s)
    end_s, end_extra = _end_crossings(t_s, fz_n, ends, threshold_n, max_gap_s)
    impulse = impulse + start_extra + end_extra
    keep = (end_s - start_s) >= min_stroke_s - _EPS_S
    starts, ends = starts[keep], ends[keep]
    if starts.size == 0:
        return _empty()
    start_s, end_s, impulse = start_s[keep], end_s[keep], impulse[keep]
    # A peak is never below its stroke's mean force, however jagged the signal.
    peak = np.maximum(_stroke_peaks(t_s, fz_n, starts, ends), impulse / (end_s - start_s))
    angle_area, angle_time = _angle_integrals(span, t_s, angle_deg, cont, starts, ends)
    return Strokes(
        start_s=start_s,
        end_s=end_s,
        peak_n=peak,
        impulse_ns=impulse,
        angle_area=angle_area,
        angle_time=angle_time,
    )


def _span_weights(dt: FloatArray) -> FloatArray:
    """t[i+1] - t[i-1] for interior samples (0 at both ends): the trapezoid weights times 2."""
    span = np.zeros(dt.shape[0] + 1)
    np.add(dt[1:], dt[:-1], out=span[1:-1])
    return span


def _run_integrals(
    span: FloatArray, t: FloatArray, y: FloatArray, starts: IntArray, ends: IntArray
) -> FloatArray:
    """Trapezoidal integral of ``y`` over each run of samples [start, end].

    Summed by parts: inside a run the trapezoid rule weights sample i by half of
    t[i+1] - t[i-1] (``span``), and the run's first and last samples by half of their one
    interval. The interior sums are one ``add.reduceat`` over interleaved bounds, several times
    faster than a cumulative sum and free of differences of large partial sums.
    """
    n = t.shape[0]
    if n < 2:
        return np.zeros(starts.shape[0])
    weighted = span * y
    weighted[0] = weighted[-1] = 0.0
    bounds = np.empty(2 * starts.shape[0], dtype=np.intp)
    bounds[0::2] = np.minimum(starts + 1, n - 1)
    bounds[1::2] = ends
    sums = np.add.reduceat(weighted, bounds)[0::2]
    inner = np.where(ends > starts + 1, sums, 0.0)
    nxt = np.minimum(starts + 1, n - 1)
    prv = np.maximum(ends - 1, 0)
    edge = y[starts] * (t[nxt] - t[starts]) + y[ends] * (t[ends] - t[prv])
    return np.asarray(np.where(ends > starts, 0.5 * (inner + edge), 0.0), dtype=np.float64)


def _start_crossings(
    t: FloatArray, f: FloatArray, starts: IntArray, thr: float, max_gap: float
) -> tuple[FloatArray, FloatArray]:
    """Interpolated rising crossing of each run, and the impulse from it to the first sample."""
    start_s = t[starts].copy()
    extra = np.zeros(starts.shape[0])
    prev = starts - 1
    ok = prev >= 0
    ok[ok] = (t[starts[ok]] - t[prev[ok]] <= max_gap) & (f[prev[ok]] <= thr)
    i, j = prev[ok], starts[ok]
    frac = (thr - f[i]) / (f[j] - f[i])
    cross = t[i] + frac * (t[j] - t[i])
    start_s[ok] = cross
    extra[ok] = 0.5 * (thr + f[j]) * (t[j] - cross)
    return start_s, extra


def _end_crossings(
    t: FloatArray, f: FloatArray, ends: IntArray, thr: float, max_gap: float
) -> tuple[FloatArray, FloatArray]:
    """Interpolated falling crossing of each run, and the impulse from the last sample to it."""
    end_s = t[ends].copy()
    extra = np.zeros(ends.shape[0])
    nxt = ends + 1
    ok = nxt < t.shape[0]
    ok[ok] = (t[nxt[ok]] - t[ends[ok]] <= max_gap) & (f[nxt[ok]] <= thr)
    i, j = ends[ok], nxt[ok]
    frac = (f[i] - thr) / (f[i] - f[j])
    cross = t[i] + frac * (t[j] - t[i])
    end_s[ok] = cross
    extra[ok] = 0.5 * (f[i] + thr) * (cross - t[i])
    return end_s, extra


def _stroke_peaks(t: FloatArray, f: FloatArray, starts: IntArray, ends: IntArray) -> FloatArray:
    """Per stroke, the largest centred mean of its own samples over ``PEAK_WINDOW_S``.

    Each sample's window holds the stroke's samples within half the window of it (cut at the
    stroke's first and last sample, so the estimate lies between the stroke's smallest and
    largest sample). On a regular stretch the window is ``k`` samples either side and its sum a
    difference of two slices of one cumulative sum; only the samples where that guess fails
    (near gaps, at a stroke's ends, where the rate changes) are searched one by one.
    """
    n = t.shape[0]
    reach = PEAK_WINDOW_S / 2 + _EPS_S
    k, regular = _regular_windows(t, reach)
    total = np.empty(n + 1)
    total[0] = 0.0
    np.cumsum(f, out=total[1:])
    smoothed = np.zeros(n)
    if n > 2 * k:
        np.subtract(total[2 * k + 1 :], total[: n - 2 * k], out=smoothed[k : n - k])
        smoothed[k : n - k] /= 2 * k + 1
    fix = np.flatnonzero(~regular | _near_stroke_ends(n, k, starts, ends))
    own = np.searchsorted(starts, fix, side="right") - 1
    inside = own >= 0
    inside[inside] = fix[inside] <= ends[own[inside]]
    fix, own = fix[inside], own[inside]
    lo = np.maximum(np.searchsorted(t, t[fix] - reach, side="left"), starts[own])
    hi = np.minimum(np.searchsorted(t, t[fix] + reach, side="right") - 1, ends[own])
    smoothed[fix] = (total[hi + 1] - total[lo]) / (hi - lo + 1)
    return _run_max(smoothed, starts, ends)


def _regular_windows(t: FloatArray, reach: float) -> tuple[int, npt.NDArray[np.bool_]]:
    """A sample count ``k`` guessed from the first intervals, and where it is right: the
    samples within ``reach`` of sample i are exactly i-k .. i+k.

    Checked with two shifted differences (``t[j+k] - t[j]`` within reach, ``t[j+k+1] - t[j]``
    beyond it) instead of a binary search per sample.
    """
    n = t.shape[0]
    step = float(np.median(np.diff(t[: min(n, 1001)]))) if n > 1 else reach
    k = max(0, min(n - 2, int(reach / step))) if step > 0 else 0
    inside = np.zeros(n, dtype=np.bool_)  # inside[j]: t[j+k] - t[j] <= reach
    beyond = np.zeros(n, dtype=np.bool_)  # beyond[j]: t[j+k+1] - t[j] > reach
    if n > k:
        np.less_equal(t[k:] - t[: n - k], reach, out=inside[: n - k])
    if n > k + 1:
        np.greater(t[k + 1 :] - t[: n - k - 1], reach, out=beyond[: n - k - 1])
    regular = inside & beyond  # the last sample within reach after i is i+k
    regular[: k + 1] = False
    regular[k + 1 :] &= inside[1 : n - k] & beyond[: n - k - 1]  # ... and the first before it
    return k, regular


def _near_stroke_ends(n: int, k: int, starts: IntArray, ends: IntArray) -> npt.NDArray[np.bool_]:
    """Samples within ``k`` samples of their stroke's first or last, where the window is cut."""
    marks = np.zeros(n + 1, dtype=np.intp)
    np.add.at(marks, starts, 1)
    np.add.at(marks, np.minimum(starts + k, ends + 1), -1)
    np.add.at(marks, np.maximum(ends - k + 1, starts), 1)
    np.add.at(marks, ends + 1, -1)
    return np.asarray(np.cumsum(marks[:n]) > 0)


def _run_max(f: FloatArray, starts: IntArray, ends: IntArray) -> FloatArray:
    """Largest value of each run [start, end], by one reduceat over interleaved bounds."""
    bounds = np.empty(2 * starts.shape[0], dtype=np.intp)
    bounds[0::2] = starts
    bounds[1::2] = ends + 1
    if bounds[-1] >= f.shape[0]:
        bounds = bounds[:-1]
    return np.asarray(np.maximum.reduceat(f, bounds)[0::2], dtype=np.float64)


def _angle_integrals(
    span: FloatArray,
    t: FloatArray,
    angle: FloatArray | None,
    cont: npt.NDArray[np.bool_],
    starts: IntArray,
    ends: IntArray,
) -> tuple[FloatArray, FloatArray]:
    """Trapezoidal angle integral and covered time per stroke, over intervals with both angles."""
    if angle is None:
        zeros = np.zeros(starts.shape[0])
        return zeros, zeros.copy()
    if not np.isnan(angle.sum()):  # no gaps in the angle: the run's own span and integral
        return _run_integrals(span, t, angle, starts, ends), t[ends] - t[starts]
    dt = np.diff(t)
    both = cont & ~np.isnan(angle[1:]) & ~np.isnan(angle[:-1])
    seg_time = np.concatenate(([0.0], np.cumsum(np.where(both, dt, 0.0))))
    seg_area = np.concatenate(
        ([0.0], np.cumsum(np.where(both, 0.5 * (angle[1:] + angle[:-1]) * dt, 0.0)))
    )
    return seg_area[ends] - seg_area[starts], seg_time[ends] - seg_time[starts]
