"""Server latency of opening a visit and recording a discomfort reading, 20 therapists at once.

Each simulated therapist signs in, sets up its own patient, visit and treated areas through
the API, then alternates "open the visit" (GET /api/v1/visits/{id}, and the HTML visit page
when the app has one) and "record a reading" (POST /api/v1/areas/{id}/readings). Readings
stay below the tolerance limit (values 1-4, limit 8) so areas are not stopped.
Target: p95 < 50 ms and no errors, on SQLite and PostgreSQL.
Each simulated therapist pauses between entries (BENCH_THINK_SECONDS, mean 1 s, uniform
0.5-1.5x) as a person at a tablet does; BENCH_THINK_SECONDS=0 measures saturation instead.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from _server import (
    LATENCY_HEADER,
    THINK_SECONDS,
    Timed,
    add_area,
    fresh_database,
    latency_row,
    login_client,
    make_clinic_users,
    open_visit,
    percentile,
    pg_available,
    running_server,
)

THERAPISTS = 20
AREAS_PER_VISIT = 4
ITERATIONS = 60
SECONDS = 45.0
TARGET_P95_MS = 50.0
LABELS = ("GET visit (API)", "GET visit page (HTML)", "POST reading")


def _setup(client: httpx.Client) -> tuple[str, list[str]]:
    timed = Timed()
    visit = open_visit(client, timed)
    if visit is None:
        raise RuntimeError(f"set-up failed: {timed.errors[:3]}")
    areas = [add_area(client, timed, visit["id"]) for _ in range(AREAS_PER_VISIT)]
    if None in areas or timed.errors:
        raise RuntimeError(f"set-up failed: {timed.errors[:3]}")
    return str(visit["id"]), [a for a in areas if a]


def _therapist(client: httpx.Client, visit: str, areas: list[str], html: bool,
               start: threading.Barrier, out: Timed) -> None:  # fmt: skip
    start.wait(60)
    deadline = time.monotonic() + SECONDS
    for n in range(ITERATIONS):
        if time.monotonic() > deadline:
            break
        out.call(client, LABELS[0], "GET", f"/api/v1/visits/{visit}")
        if html:
            page = out.call_text(client, LABELS[1], f"/visits/{visit}")
            del page
        area = areas[n % len(areas)]
        out.call(client, LABELS[2], "POST", f"/api/v1/areas/{area}/readings",
                 json={"value": 1 + n % 4})  # fmt: skip


def run(kind: str, workdir: Path, workers: int = 1) -> tuple[Timed, bool]:
    url = fresh_database(kind, workdir)
    emails = make_clinic_users(url, THERAPISTS)
    with running_server(url, workdir, workers=workers) as server:
        clients = [login_client(server.base_url, e) for e in emails]
        try:
            setups = [_setup(c) for c in clients]
            probe = clients[0].get(f"/visits/{setups[0][0]}", headers={"Accept": "text/html"})
            html = probe.status_code == 200
            barrier = threading.Barrier(THERAPISTS)
            results = [Timed(think=THINK_SECONDS) for _ in clients]
            threads = [
                threading.Thread(target=_therapist, args=(c, v, a, html, barrier, r))
                for c, (v, a), r in zip(clients, setups, results, strict=True)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(SECONDS + 120)
        finally:
            for c in clients:
                c.close()
    total = Timed()
    for r in results:
        total.merge(r)
    return total, html


def main() -> int:
    # SQLite serialises writers in one process, so it runs 1 worker; PostgreSQL is shown with
    # 1 and with 2 workers (one per core), the deployment choice a clinic on PostgreSQL makes.
    plans = [("sqlite", 1)] + ([("postgresql", 1), ("postgresql", 2)] if pg_available() else [])
    print(
        f"{THERAPISTS} concurrent therapists, loopback "
        f"(target p95 < {TARGET_P95_MS:.0f} ms, 0 errors)"
    )
    with tempfile.TemporaryDirectory(prefix="strigil-bench-") as tmp:
        for kind, workers in plans:
            total, html = run(kind, Path(tmp), workers)
            print(f"\n[{kind}, {workers} worker(s)]  errors: {len(total.errors)}")
            print(LATENCY_HEADER)
            for label in LABELS:
                if label in total.samples:
                    print(latency_row(label, total.samples[label]))
            if not html:
                print("(no HTML visit page at /visits/{id} in this build: not measured)")
            worst = max(percentile(v, 95) for v in total.samples.values())
            verdict = "ok" if worst < TARGET_P95_MS and not total.errors else "MISSED"
            print(f"worst p95 {worst:.1f} ms: {verdict}")
            for error in total.errors[:5]:
                print(f"  error: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
