"""Instrumented IASTM: analysis throughput on one core, and a 10-minute 1 kHz recording.

Run: .venv/bin/python benchmarks/bench_sensors.py [--repeats 9]

- Analysis throughput: samples per CPU-second (process time, so other processes sharing the
  machine do not count) of stroke segmentation and the dose on a simulated 10-minute 1 kHz
  recording with noise, dropouts and an angle track (600,000 samples), median of repeats.
  Target: at least 20 million samples per second on one core.
- A 10-minute 1 kHz recording from its CSV text (parse, validate, analyse), median CPU time,
  the parse reported on its own. Target: parse + analysis at most 0.5 s (about 0.05 s on a
  shared 2-core machine with the pyarrow reader, where line-by-line parsing took 0.3-0.7 s).

- Live streaming (SQLite, one server process): N simulated tools (default 10) post 1 kHz
  samples in real time in batches of 250 for S seconds (default 60) to N active areas, while
  a signed-in therapist opens visit pages and their running-dose fragments without pause.
  Every sample must be stored; targets: visit pages p95 <= 50 ms. Reports the server's CPU
  time per tool (percent of one core) from /proc.

Exits non-zero when a target is missed or nothing could be measured. ``--seconds 0`` skips the
streaming part.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from _server import (
    fresh_database,
    latency_row,
    login_client,
    make_clinic_users,
    percentile,
    running_server,
)

from strigil.sensors import analyze, parse_csv
from strigil.sensors.dose import dose_from_strokes
from strigil.sensors.simulate import simulate, to_csv
from strigil.sensors.strokes import segment

TARGET_SAMPLES_PER_S = 20e6
TARGET_ANALYSIS_S = 0.5  # "well under a second" for 10 minutes at 1 kHz
TARGET_FROM_TEXT_S = 0.5  # the same recording from its CSV text: parse + analysis
TARGET_PAGE_P95_MS = 50.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children so far (from /proc, clock ticks)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(v) for v in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def _stream(tools: int, seconds: float) -> bool:
    """Stream, read pages meanwhile, check every sample; print figures; True when on target."""
    from tests.sensors.streaming import Tool, active_areas

    with tempfile.TemporaryDirectory(prefix="strigil-bench-sensors-") as tmp:
        work = Path(tmp)
        url = fresh_database("sqlite", work)
        email = make_clinic_users(url, 1)[0]
        areas = active_areas(url, email, tools)
        with running_server(url, work) as server:
            reader = login_client(server.base_url, email)
            token = reader.post("/api/v1/auth/tokens", json={"name": "bench"}).json()["token"]
            bridges = [Tool(server.base_url, token, a, seconds, seed=i)
                       for i, (_, a) in enumerate(areas)]  # fmt: skip
            threads = [threading.Thread(target=b.run) for b in bridges]
            cpu0 = _cpu_seconds(server.pid)
            for thread in threads:
                thread.start()
            pages: list[float] = []
            fragments: list[float] = []
            k = 0
            while any(t.is_alive() for t in threads):
                visit, area = areas[k % len(areas)]
                k += 1
                for path, bucket in ((f"/visits/{visit}", pages),
                                     (f"/areas/{area}/sensor-live", fragments)):  # fmt: skip
                    w0 = time.perf_counter()
                    answer = reader.get(path, headers={"HX-Request": "true"} if "sensor" in path
                                        else {})  # fmt: skip
                    if answer.status_code == 200:
                        bucket.append((time.perf_counter() - w0) * 1e3)
            for thread in threads:
                thread.join()
            if server.process.poll() is not None:
                print("FAIL: the server exited during the run:")
                print(server.log_path.read_text()[-3000:])
                return False
            cpu = _cpu_seconds(server.pid) - cpu0
            missing = []
            with httpx.Client(base_url=server.base_url, timeout=30,
                              headers={"Authorization": f"Bearer {token}"}) as api:  # fmt: skip
                for b in bridges:
                    stored = api.get(f"/api/v1/areas/{b.area}/sensor-stream").json()["samples"]
                    if b.refused or stored != b.sent or b.sent != int(seconds * 1000):
                        missing.append((b.area, b.sent, stored, b.refused[:1]))
            reader.close()
    print(f"live stream: {tools} tools x {seconds:g} s at 1 kHz (batches of 250), SQLite")
    print(f"{'':<28} {'n':>7} {'median':>8} {'p95':>8} {'p99':>8} {'max':>8}  (ms)")
    print(latency_row("visit page", pages))
    print(latency_row("running-dose fragment", fragments))
    print(f"  server CPU {cpu:.1f} s: {cpu / seconds / tools * 100:.1f} % of a core per tool "
          f"(pages included)")  # fmt: skip
    ok = True
    if missing:
        print(f"FAIL: samples not all stored: {missing[:3]}")
        ok = False
    if not pages or percentile(pages, 95) > TARGET_PAGE_P95_MS:
        print("FAIL: visit page p95 above 50 ms (or nothing measured)")
        ok = False
    return ok


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
    parse_csv(text)  # warm up: the CSV reader's import is a one-off
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
    parser.add_argument("--tools", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60.0)
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
    if total_s > TARGET_FROM_TEXT_S:
        print("FAIL: parse + analysis of a 10-minute 1 kHz CSV took more than 0.5 s")
        failed = True
    if args.seconds > 0 and not _stream(args.tools, args.seconds):
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
