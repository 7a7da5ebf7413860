"""Clinic insight at scale: a 100,000-patient network on PostgreSQL.

1. Loads the demo network (`strigil demo load --patients 100000`, about a million visits)
   into its own scratch database and quotes the wall time and the loader's peak memory.
2. Gives one demo patient 500 more visits (copies of their own signed visits, written in one
   statement; the chart reads them like any other).
3. Starts a real server and times, as a signed-in therapist, the dashboard (after a data
   change each time, so it is computed afresh, and on a plain reload), every clinic-wide page
   (day book, patient list, the clinic's own comparison, finding reliability, and the insight
   pages where this build has them) and the 500-visit patient chart.

Targets: load <= 300 s; dashboard median <= 100 ms; every page's p95 <= 1 s; the 500-visit
chart p95 <= 25 ms. Exits non-zero when a target is missed or a page fails.

STRIGIL_BENCH_SCALE_PATIENTS sets a smaller network for a quick look (the targets are the
100,000-patient ones either way, and the figures say which size was measured).
STRIGIL_BENCH_SCALE_PAGES_ONLY=1 times the pages again on the network an earlier run left in
its scratch database (migrated to this build first: `strigil db upgrade`), without reloading.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from _server import (
    fresh_database,
    login_client,
    percentile,
    pg_available,
    pg_url,
    running_server,
    server_env,
)
from sqlalchemy import create_engine, text

PATIENTS = int(os.environ.get("STRIGIL_BENCH_SCALE_PATIENTS", "100000"))
PAGES_ONLY = os.environ.get("STRIGIL_BENCH_SCALE_PAGES_ONLY") == "1"
PG_NAME = "strigil_bench_scale"
EMAIL = "therapist1@northside.example"
LOAD_TARGET_S, DASHBOARD_TARGET_MS, PAGE_TARGET_MS, CHART_TARGET_MS = 300.0, 100.0, 1000.0, 25.0
CHART_VISITS = 500
WARMUP, SAMPLES = 3, 40
PAGES = ("/daybook", "/patients", "/evidence/clinic", "/evidence/reliability")
OPTIONAL_PAGES = ("/insight/outcomes", "/insight/safety", "/doses")  # where this build has them
FIT_LIMIT_S = 600.0


def load(url: str, workdir: Path) -> tuple[float, float]:
    """Run the loader once: wall seconds and peak resident memory in MB (GNU time)."""
    argv = [sys.executable, "-m", "strigil", "demo", "load", "--patients", str(PATIENTS), "--json"]
    argv = ["/usr/bin/time", "-f", "MAXRSS_KB=%M", *argv]
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603
        argv, env=server_env(url, workdir), capture_output=True, text=True, timeout=7200,
        check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"demo load failed:\n{done.stderr[-3000:]}")
    peak = re.search(r"MAXRSS_KB=(\d+)", done.stderr)
    return wall, (int(peak.group(1)) / 1024 if peak else float("nan"))


def long_chart(url: str) -> str:
    """Give the northside patient with the most visits 500 more (copies of their own signed
    visits, one a day further back); returns the patient's public id."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            patient_id, external_id = conn.execute(
                text(
                    "SELECT p.id, p.external_id FROM patient p JOIN visit v ON v.patient_id = p.id"
                    " WHERE p.clinic_id = 1 GROUP BY p.id ORDER BY count(*) DESC, p.id LIMIT 1"
                )
            ).one()
            conn.execute(text(_COPY_VISITS), {"patient": patient_id, "n": CHART_VISITS})
            conn.execute(text("ANALYZE visit"))
        return str(external_id)
    finally:
        engine.dispose()


_COPY_VISITS = """
INSERT INTO visit (external_id, created_at, clinic_id, version, updated_at, episode_id,
    patient_id, therapist_id, number, started_at, ended_at, status, phase, tolerance_limit,
    reliability_check, techniques, pre_test, post_test, subjective, objective, assessment,
    plan, signed_at, signed_by_id, signer_name, signer_credentials, signer_role, note_digest,
    cosign_required)
SELECT gen_random_uuid(), v.created_at - g * interval '1 day', v.clinic_id, 1,
    v.updated_at - g * interval '1 day', v.episode_id, v.patient_id, v.therapist_id,
    1000 + g, v.started_at - g * interval '1 day', v.ended_at - g * interval '1 day',
    v.status, v.phase, v.tolerance_limit, false, v.techniques, v.pre_test, v.post_test,
    v.subjective, v.objective, v.assessment, v.plan, v.signed_at - g * interval '1 day',
    v.signed_by_id, v.signer_name, v.signer_credentials, v.signer_role, NULL,
    v.cosign_required
FROM generate_series(1, :n) AS g
CROSS JOIN LATERAL (
    SELECT * FROM visit WHERE patient_id = :patient AND status = 'signed' ORDER BY id LIMIT 1
) AS v
"""


def timed(client: httpx.Client, path: str, before: Callable[[int], None] | None) -> list[float]:
    """Milliseconds per GET of ``path`` (HTML), after ``before(n)`` when given (untimed)."""
    out = []
    for n in range(WARMUP + SAMPLES):
        if before is not None:
            before(n)
        started = time.perf_counter()
        response = client.get(path, headers={"Accept": "text/html"})
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
        if n >= WARMUP:
            out.append(elapsed)
    return out


def _fitted(client: httpx.Client, path: str) -> None:
    """Wait while the page says its model is being fitted in the background (the first
    request after a data change starts the fit); print how long that took."""
    started = time.perf_counter()
    while 'data-testid="pending"' in client.get(path, headers={"Accept": "text/html"}).text:
        if time.perf_counter() - started > FIT_LIMIT_S:
            raise RuntimeError(f"{path}: still fitting after {FIT_LIMIT_S:.0f} s")
        time.sleep(1)
    if (waited := time.perf_counter() - started) > 1:
        print(f"  {path}: the background fit took {waited:.0f} s (once per data change)")


def change(client: httpx.Client) -> Callable[[int], None]:
    """A real data change before each load: today's first appointment marked no-show, then
    booked again, so the clinic's revision moves and the dashboard is computed afresh."""
    since = time.strftime("%Y-%m-%d", time.gmtime())
    first = client.get("/api/v1/appointments", params={"since": since}).json()[0]["id"]

    def toggle(n: int) -> None:
        current = client.get(f"/api/v1/appointments/{first}").json()
        status = "booked" if current["status"] == "no_show" else "no_show"
        body = {"status": status, "version": current["version"]}
        response = client.post(f"/api/v1/appointments/{first}/status", json=body)
        if response.status_code != 200:
            raise RuntimeError(f"change {n} answered {response.status_code}")

    return toggle


def measure(url: str, workdir: Path, chart: str) -> list[tuple[str, list[float], float, str]]:
    """(label, timings, target, which statistic the target bounds) per page."""
    rows: list[tuple[str, list[float], float, str]] = []
    with running_server(url, workdir) as server:
        client = login_client(server.base_url, EMAIL)
        rows.append(("dashboard after a change", timed(client, "/", change(client)),
                     DASHBOARD_TARGET_MS, "p50"))  # fmt: skip
        rows.append(("dashboard reload", timed(client, "/", None), DASHBOARD_TARGET_MS, "p50"))
        for path in PAGES:
            rows.append((path, timed(client, path, None), PAGE_TARGET_MS, "p95"))
        for path in OPTIONAL_PAGES:
            if client.get(path, headers={"Accept": "text/html"}).status_code == 200:
                _fitted(client, path)
                rows.append((path, timed(client, path, None), PAGE_TARGET_MS, "p95"))
        label = f"chart, {CHART_VISITS}+ visits"
        rows.append((label, timed(client, f"/patients/{chart}", None), CHART_TARGET_MS, "p95"))
        client.close()
    return rows


def main() -> int:
    if not pg_available():
        print("PostgreSQL on 127.0.0.1:5432 is not reachable: nothing measured")
        return 1
    print(f"scale benchmark: {PATIENTS} demo patients on PostgreSQL", flush=True)
    failed = False
    with tempfile.TemporaryDirectory(prefix="strigil-bench-") as tmp:
        if PAGES_ONLY:
            url = pg_url(PG_NAME)
            chart = _longest_chart(url)
            print(f"pages only, on the network already loaded: {_count(url, 'patient')} "
                  f"patients, {_count(url, 'visit')} visits (the load is not timed)")  # fmt: skip
        else:
            url = fresh_database("postgresql", Path(tmp), pg_name=PG_NAME)
            failed |= not _timed_load(url, Path(tmp))
            chart = long_chart(url)
        print(f"{'page':<28} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'target':>14}  verdict")
        for label, values, target, stat in measure(url, Path(tmp), chart):
            p50, p95 = statistics.median(values), percentile(values, 95)
            ok = (p50 if stat == "p50" else p95) <= target
            failed |= not ok
            goal = f"{stat} <= {target:.0f}"
            print(f"{label:<28} {len(values):>4} {p50:>8.1f} {p95:>8.1f} {goal:>14}  "
                  f"{'ok' if ok else 'MISSED'}", flush=True)  # fmt: skip
    return 1 if failed else 0


def _timed_load(url: str, workdir: Path) -> bool:
    """Load the network, print the figures; whether the load met its target."""
    wall, peak_mb = load(url, workdir)
    ok = wall <= LOAD_TARGET_S
    print(
        f"load: {wall:.0f} s, peak {peak_mb:.0f} MB, {_count(url, 'visit')} visits "
        f"(target <= {LOAD_TARGET_S:.0f} s)  {'ok' if ok else 'MISSED'}",
        flush=True,
    )
    return ok


def _longest_chart(url: str) -> str:
    """The public id of the patient with the most visits (the long chart of an earlier run)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return str(
                conn.execute(
                    text(
                        "SELECT p.external_id FROM patient p JOIN visit v ON v.patient_id = p.id"
                        " WHERE p.clinic_id = 1 GROUP BY p.id ORDER BY count(*) DESC LIMIT 1"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _count(url: str, table: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
