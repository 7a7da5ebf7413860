"""The dose of one recording: the per-recording figures of issue 15 from its strokes.

Time-weighting: ``mean_force_n`` is the impulse divided by the time under load (the trapezoidal
time-weighted mean over the strokes); ``mean_angle_deg`` is the trapezoidal angle integral over
the strokes' sample intervals with both angles present, divided by the time they cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strigil.sensors.recording import Recording
from strigil.sensors.strokes import DEFAULT_THRESHOLD_N, Strokes, segment

__all__ = ["Dose", "StrokeFigures", "analyze", "dose_from_strokes"]


@dataclass(frozen=True)
class StrokeFigures:
    """One stroke: when it started, how long it lasted, its peak force and impulse."""

    start_s: float
    duration_s: float
    peak_force_n: float
    impulse_ns: float


@dataclass(frozen=True)
class Dose:
    """The figures of one recording; forces and angle are None when there is no stroke."""

    strokes: int
    stroke_rate_hz: float
    time_under_load_s: float
    mean_force_n: float | None
    peak_force_n: float | None
    impulse_ns: float
    mean_angle_deg: float | None
    stroke_list: tuple[StrokeFigures, ...]
    threshold_n: float = DEFAULT_THRESHOLD_N

    def to_json(self) -> dict[str, Any]:
        """The keys of ``strigil sensors analyze --json``, exactly as issue 15 lists them."""
        return {
            "strokes": self.strokes,
            "stroke_rate_hz": self.stroke_rate_hz,
            "time_under_load_s": self.time_under_load_s,
            "mean_force_n": self.mean_force_n,
            "peak_force_n": self.peak_force_n,
            "impulse_ns": self.impulse_ns,
            "mean_angle_deg": self.mean_angle_deg,
            "stroke_list": [
                {
                    "start_s": s.start_s,
                    "duration_s": s.duration_s,
                    "peak_force_n": s.peak_force_n,
                    "impulse_ns": s.impulse_ns,
                }
                for s in self.stroke_list
            ],
        }

    def summary(self) -> str:
        """The sentence a note states: "42 strokes, mean 5.8 N, peak 9.6 N, 26 s under load"."""
        noun = "stroke" if self.strokes == 1 else "strokes"
        if self.strokes == 0 or self.mean_force_n is None or self.peak_force_n is None:
            return "0 strokes (no contact above the threshold)"
        return (
            f"{self.strokes} {noun}, mean {self.mean_force_n:.1f} N, "
            f"peak {self.peak_force_n:.1f} N, {self.time_under_load_s:.0f} s under load"
        )


def dose_from_strokes(found: Strokes, threshold_n: float = DEFAULT_THRESHOLD_N) -> Dose:
    """Sum the strokes into the per-recording figures."""
    if found.count == 0:
        return Dose(0, 0.0, 0.0, None, None, 0.0, None, (), threshold_n)
    durations = found.duration_s
    time_under_load = float(durations.sum())
    impulse = float(found.impulse_ns.sum())
    span = float(found.end_s[-1] - found.start_s[0])
    angle_time = float(found.angle_time.sum())
    figures = tuple(
        StrokeFigures(float(s), float(d), float(p), float(i))
        for s, d, p, i in zip(found.start_s, durations, found.peak_n, found.impulse_ns, strict=True)
    )
    return Dose(
        strokes=found.count,
        stroke_rate_hz=found.count / span if span > 0 else 0.0,
        time_under_load_s=time_under_load,
        mean_force_n=impulse / time_under_load if time_under_load > 0 else None,
        peak_force_n=float(found.peak_n.max()),
        impulse_ns=impulse,
        mean_angle_deg=float(found.angle_area.sum()) / angle_time if angle_time > 0 else None,
        stroke_list=figures,
        threshold_n=threshold_n,
    )


def analyze(recording: Recording, threshold_n: float | None = None) -> Dose:
    """The dose of a recording; the threshold is the argument, else the sidecar's, else 0.5 N."""
    threshold = threshold_n or recording.sidecar.contact_threshold_n or DEFAULT_THRESHOLD_N
    found = segment(recording.t_s, recording.fz_n, recording.angle_deg, threshold_n=threshold)
    return dose_from_strokes(found, threshold)
