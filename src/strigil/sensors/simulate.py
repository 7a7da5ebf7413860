"""A simulated instrumented tool with ground truth, for tests, benchmarks and the demo.

Each stroke is a skewed force pulse with a plateau: a half-cosine rise, a plateau at the peak,
a half-cosine fall. Peaks and durations are drawn around the published figures (clinical-domain
notes; issue 15): trained clinicians' mean force 6.0 N and peak 8.9 N on a force plate (J Athl
Train 2023); individual means 1.9-8.1 N and peaks 3.0-11.6 N with a within-clinician CV of
14-35 % (J Sport Rehabil 2024); angles taught at 30-60°; stroke rates of lab devices
0.25-1 Hz. The sensor adds white noise, a slow baseline drift, dropouts (empty cells, as a lost
radio packet of 5-40 ms) and an angle track.

The truth is computed from the noise-free force with the same definitions as the analysis
(threshold crossings of the continuous pulse, the exact integral above them), so a test can
hold the analysis to it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from strigil.sensors.strokes import DEFAULT_THRESHOLD_N

__all__ = ["Simulation", "TrueStroke", "simulate", "to_csv", "write"]

FloatArray = npt.NDArray[np.float64]

PEAK_CV = 0.2  # inside the 14-35 % within-clinician CV (J Sport Rehabil 2024)
DROPOUT_S = (0.005, 0.03)  # with a sample period of <= 10 ms still under the 0.05 s split
_FINE = 20_000  # points per pulse for the exact truth integrals


@dataclass(frozen=True)
class TrueStroke:
    """What the tool truly did in one stroke (above the contact threshold)."""

    start_s: float
    duration_s: float
    peak_force_n: float
    impulse_ns: float


@dataclass(frozen=True)
class Simulation:
    """The samples as the sensor reports them, and the truth behind them."""

    t_s: FloatArray
    fz_n: FloatArray  # NaN where a dropout lost the sample
    angle_deg: FloatArray
    truth: tuple[TrueStroke, ...]
    sample_hz: float
    threshold_n: float

    def truth_figures(self) -> dict[str, float]:
        """Per-recording figures of the noise-free signal, by the issue's definitions."""
        if not self.truth:
            return {"strokes": 0, "time_under_load_s": 0.0, "impulse_ns": 0.0}
        tul = sum(s.duration_s for s in self.truth)
        impulse = sum(s.impulse_ns for s in self.truth)
        last = self.truth[-1]
        span = last.start_s + last.duration_s - self.truth[0].start_s
        return {
            "strokes": len(self.truth),
            "stroke_rate_hz": len(self.truth) / span,
            "time_under_load_s": tul,
            "mean_force_n": impulse / tul,
            "peak_force_n": max(s.peak_force_n for s in self.truth),
            "impulse_ns": impulse,
        }


def _pulse(u: FloatArray, rise: float, plateau: float) -> FloatArray:
    """Unit pulse shape on u in [0, 1]: half-cosine rise, plateau, half-cosine fall."""
    fall = 1.0 - rise - plateau
    out = np.zeros_like(u)
    up = (u >= 0) & (u < rise)
    out[up] = 0.5 - 0.5 * np.cos(np.pi * u[up] / rise)
    flat = (u >= rise) & (u <= rise + plateau)
    out[flat] = 1.0
    down = (u > rise + plateau) & (u <= 1)
    out[down] = 0.5 + 0.5 * np.cos(np.pi * (u[down] - rise - plateau) / fall)
    return out


def _truth(start: float, length: float, peak: float, rise: float, plateau: float, thr: float)\
        -> TrueStroke | None:  # fmt: skip
    """Crossings and exact (fine-grid) impulse of one noise-free pulse above the threshold."""
    if peak <= thr:
        return None
    u = np.linspace(0.0, 1.0, _FINE + 1)
    force = peak * _pulse(u, rise, plateau)
    # Crossings in closed form from the half-cosine shape.
    a = math.acos(1.0 - 2.0 * thr / peak) / math.pi  # fraction of the rise/fall below thr
    u0 = a * rise
    u1 = 1.0 - a * (1.0 - rise - plateau)
    inside = (u >= u0) & (u <= u1)
    impulse = float(np.trapezoid(force[inside], u[inside])) * length
    return TrueStroke(start + u0 * length, (u1 - u0) * length, peak, impulse)


def simulate(
    seed: int,
    strokes: int = 40,
    rate_hz: float = 0.5,
    peak_n: float = 8.9,
    noise_n: float = 0.1,
    sample_hz: float = 1000.0,
    dropouts: int = 10,
    drift_n: float = 0.0,
    angle_deg: float = 45.0,
    threshold_n: float = DEFAULT_THRESHOLD_N,
) -> Simulation:
    """Simulate ``strokes`` strokes at ``rate_hz`` around a mean peak of ``peak_n`` newtons."""
    rng = np.random.default_rng(seed)
    period = 1.0 / rate_hz
    lead = 0.5 + rng.uniform(0, 0.5)
    total = lead + strokes * period + 0.5
    t = np.arange(0.0, total, 1.0 / sample_hz)
    force = np.zeros_like(t)
    truth: list[TrueStroke] = []
    for k in range(strokes):
        # A stroke fills 40-80 % of its period: the tool is loaded in 0.1-0.35 s, held, and
        # unloaded a little faster (skewed), each ramp at most 40 % of the stroke.
        length = period * rng.uniform(0.4, 0.8)
        start = lead + k * period + rng.uniform(0, period - length) * 0.5
        peak = float(np.clip(rng.normal(peak_n, PEAK_CV * peak_n), 1.5, 30.0))
        rise = min(0.4, rng.uniform(0.1, 0.35) / length)
        fall = min(0.4, rng.uniform(0.08, 0.3) / length)
        plateau = 1.0 - rise - fall
        window = (t >= start) & (t <= start + length)
        force[window] = peak * _pulse((t[window] - start) / length, rise, plateau)
        true = _truth(start, length, peak, rise, plateau, threshold_n)
        if true is not None:
            truth.append(true)
    measured = force + rng.normal(0.0, noise_n, t.shape[0]) + drift_n * t / total
    angle = np.clip(angle_deg + 8.0 * np.sin(2 * np.pi * t / 7.0) + rng.normal(0, 1.0, t.shape[0]),
                    0.0, 90.0)  # fmt: skip
    for _ in range(dropouts):
        at = rng.uniform(0, total)
        lost = (t >= at) & (t < at + rng.uniform(*DROPOUT_S))
        measured[lost] = np.nan
    return Simulation(t, measured, angle, tuple(truth), sample_hz, threshold_n)


def to_csv(sim: Simulation) -> str:
    """The recording as the documented CSV (empty cells for dropouts)."""
    lines = ["t_s,fz_n,angle_deg"]
    for t, f, a in zip(sim.t_s.tolist(), sim.fz_n.tolist(), sim.angle_deg.tolist(), strict=True):
        force = "" if math.isnan(f) else f"{f:.4f}"
        lines.append(f"{t:.6f},{force},{a:.2f}")
    return "\n".join(lines) + "\n"


def sidecar(sim: Simulation) -> dict[str, Any]:
    """The sidecar a simulated tool writes."""
    return {
        "tool": "simulated instrumented tool",
        "sensor": "simulated single-axis load cell",
        "sample_rate_hz": sim.sample_hz,
        "contact_threshold_n": sim.threshold_n,
        "calibration": {"kind": "simulated", "noise_n": "see truth file"},
    }


def write(sim: Simulation, out: Path) -> tuple[Path, Path, Path]:
    """Write ``out`` (CSV), ``<name>.json`` (sidecar) and ``<name>.truth.json`` (ground truth)."""
    out.write_text(to_csv(sim), encoding="utf-8")
    side = out.with_suffix(".json")
    side.write_text(json.dumps(sidecar(sim), indent=2) + "\n", encoding="utf-8")
    truth = out.with_suffix(".truth.json")
    body = {
        "figures": sim.truth_figures(),
        "strokes": [vars(s) for s in sim.truth],
    }
    truth.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    return out, side, truth
