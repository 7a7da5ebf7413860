"""Sustained load: 50 simulated therapists running whole visits for a fixed time.

Each flow: patient → episode → screening → consent → visit → 2 areas × (3 readings, skin,
stop) → finding → note → sign. Reports requests/s, flows/min, latency percentiles, errors
and the server's peak RSS (sampled from /proc). Targets: p95 < 100 ms, 0 errors,
RSS < 300 MB. SQLite runs with 1 uvicorn worker; PostgreSQL with 1 and with 2 workers.
Each simulated therapist pauses between entries (BENCH_THINK_SECONDS, mean 1 s, uniform
0.5-1.5x) as a person at a tablet does; BENCH_THINK_SECONDS=0 measures saturation instead.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from _server import (
    LATENCY_HEADER,
    THINK_SECONDS,
    RssSampler,
    Timed,
    fresh_database,
    full_flow,
    latency_row,
    login_client,
    make_clinic_users,
    percentile,
    pg_available,
    running_server,
)

THERAPISTS = 50
SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
MAX_FLOWS_PER_THERAPIST = 500
TARGET_P95_MS, TARGET_RSS_MB = 100.0, 300.0


@dataclass
class Outcome:
    kind: str
    workers: int
    timed: Timed
    flows: int
    seconds: float
    peak_rss_mb: float


def _therapist(client: httpx.Client, start: threading.Barrier, out: Timed, done: list[int]) -> None:
    start.wait(120)
    deadline = time.monotonic() + SECONDS
    for _ in range(MAX_FLOWS_PER_THERAPIST):
        if time.monotonic() > deadline:
            return
        if full_flow(client, out):
            done[0] += 1


def run(kind: str, workers: int, workdir: Path) -> Outcome:
    url = fresh_database(kind, workdir)
    emails = make_clinic_users(url, THERAPISTS)
    with running_server(url, workdir, workers=workers) as server:
        clients = [login_client(server.base_url, e) for e in emails]
        warm = Timed()
        full_flow(clients[0], warm)  # first ICD-10 lookup loads the code index
        barrier = threading.Barrier(THERAPISTS + 1)
        results = [Timed(think=THINK_SECONDS) for _ in clients]
        counts = [[0] for _ in clients]
        threads = [
            threading.Thread(target=_therapist, args=(c, barrier, r, n))
            for c, r, n in zip(clients, results, counts, strict=True)
        ]
        for t in threads:
            t.start()
        with RssSampler(server.pid) as rss:
            barrier.wait(120)
            started = time.perf_counter()
            for t in threads:
                t.join(SECONDS + 120)
            elapsed = time.perf_counter() - started
        for c in clients:
            c.close()
    total = Timed()
    for r in results:
        total.merge(r)
    return Outcome(kind, workers, total, sum(n[0] for n in counts), elapsed, rss.peak_kb / 1024)


def report(o: Outcome) -> None:
    everything = [v for values in o.timed.samples.values() for v in values]
    p95 = percentile(everything, 95)
    ok = p95 < TARGET_P95_MS and not o.timed.errors and o.peak_rss_mb < TARGET_RSS_MB
    print(f"\n[{o.kind}, {o.workers} worker(s)] {o.seconds:.0f} s, {THERAPISTS} therapists")
    print(
        f"requests {o.timed.requests}  ({o.timed.requests / o.seconds:.0f}/s)   "
        f"flows {o.flows}  ({o.flows / o.seconds * 60:.0f}/min)   errors {len(o.timed.errors)}   "
        f"peak RSS {o.peak_rss_mb:.0f} MB"
    )
    print(LATENCY_HEADER)
    print(latency_row("ALL REQUESTS", everything))
    for label, values in sorted(o.timed.samples.items()):
        print(latency_row(label, values))
    print(f"verdict: {'ok' if ok else 'MISSED'}")
    for error in o.timed.errors[:5]:
        print(f"  error: {error}")


def main() -> int:
    plans = [("sqlite", 1)]
    if pg_available():
        plans += [("postgresql", 1), ("postgresql", 2)]
    print(f"targets: p95 < {TARGET_P95_MS:.0f} ms, 0 errors, RSS < {TARGET_RSS_MB:.0f} MB")
    with tempfile.TemporaryDirectory(prefix="strigil-bench-") as tmp:
        for kind, workers in plans:
            report(run(kind, workers, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
