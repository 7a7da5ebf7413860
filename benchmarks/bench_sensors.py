"""Instrumented IASTM: analysis throughput on one core, and a 10-minute 1 kHz recording.

Run: .venv/bin/python benchmarks/bench_sensors.py [--repeats 9]

- Analysis throughput: samples per CPU-second (process time, so other processes sharing the
  machine do not count) of stroke segmentation and the dose on a simulated 10-minute 1 kHz
  recording with noise, dropouts and an angle track (600,000 samples), median of repeats.
  Target: at least 20 million samples per second on one core.
- A 10-minute 1 kHz recording from its CSV text (parse, validate, analyse), median CPU time.
  Target: well under a second (0.5 s) for the analysis; the parse is reported alongside.

The live-stream part of issue 15 (10 tools at 1 kHz for 60 s, server CPU per tool) is not
measured here yet. Exits non-zero when a target is missed or nothing could be measured.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from strigil.sensors import analyze, parse_csv
from strigil.sensors.dose import dose_from_strokes
from strigil.sensors.simulate import simulate, to_csv
from strigil.sensors.strokes import segment

TARGET_SAMPLES_PER_S = 20e6
TARGET_ANALYSIS_S = 0.5  # "well under a second" for 10 minutes at 1 kHz


def _throughput(repeats: int) -> tuple[float, float, int]:
    sim = simulate(11, strokes=300, rate_hz=0.5, sample_hz=1000.0, dropouts=200)
    t, f, a = sim.t_s, sim.fz_n, sim.angle_deg
    dose_from_strokes(segment(t, f, a))  # warm up
    cpu, wall = [], []
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        dose = dose_from_strokes(segment(t, f, a))
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    if dose.strokes != len(sim.truth):
        print(f"FAIL: found {dose.strokes} strokes, truth {len(sim.truth)}")
        sys.exit(1)
    return statistics.median(cpu), statistics.median(wall), int(t.shape[0])


def _from_text(repeats: int) -> tuple[float, float]:
    text = to_csv(simulate(12, strokes=300, rate_hz=0.5, sample_hz=1000.0))
    parse, total = [], []
    for _ in range(max(3, repeats // 3)):
        c0 = time.process_time()
        recording = parse_csv(text)
        c1 = time.process_time()
        analyze(recording)
        parse.append(c1 - c0)
        total.append(time.process_time() - c0)
    return statistics.median(parse), statistics.median(total)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    cpu, wall, samples = _throughput(args.repeats)
    if cpu <= 0:
        print("FAIL: could not measure (zero CPU time)")
        return 1
    rate = samples / cpu
    print(f"analysis: {samples} samples (10 min at 1 kHz, angle, dropouts)")
    print(f"  median CPU {cpu * 1e3:.1f} ms, wall {wall * 1e3:.1f} ms")
    print(f"  throughput {rate / 1e6:.1f} million samples/s on one core (target >= 20)")
    parse_s, total_s = _from_text(args.repeats)
    print(f"from CSV text (CPU): parse {parse_s * 1e3:.0f} ms, parse + analysis "
          f"{total_s * 1e3:.0f} ms")  # fmt: skip
    failed = False
    if rate < TARGET_SAMPLES_PER_S:
        print("FAIL: analysis throughput below 20 million samples/s")
        failed = True
    if cpu > TARGET_ANALYSIS_S:
        print("FAIL: a 10-minute 1 kHz recording took more than 0.5 s to analyse")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
