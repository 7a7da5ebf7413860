"""A paced clinic, then load past capacity: 10, 50 and 200 connections with no think time.

For SQLite and PostgreSQL (the server connected as the application's own login role), 50
simulated therapists each act every 2 s; then wrk drives three targets in turn — the visit
page, a visit API read and a discomfort reading write — while a prober times /healthz.

Targets (exit 1 when any is missed or cannot be measured):
- no errors but fast 503s beyond capacity (no other non-2xx, no socket errors or timeouts);
- /healthz p95 under 100 ms during the load, and healthy within 1 s after it;
- throughput at 200 connections at least 80 % of the throughput at 10 (each count run four
  times, 10-50-200-200-50-10 twice over, so drift weighs on every count alike, and the
  medians compared, so one run disturbed by the machine cannot decide);
- the visit page's throughput at least 1/3 of /healthz's, both at 10 connections: /healthz
  is measured just before and just after the visit page's runs, against the page's median;
- paced (50 therapists, an action every 2 s each): p95 <= 25 ms for the page and a reading.

BENCH_LOAD_SECONDS (default 6) sets each wrk run's length; BENCH_PACED_SECONDS (20) the
paced run's; BENCH_KINDS (``sqlite,postgresql``) which databases are measured.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _server import (
    PYTHON,
    ROOT,
    Timed,
    add_area,
    fresh_database,
    open_visit,
    percentile,
    pg_available,
    running_server,
    server_env,
)
from sqlalchemy import create_engine, text

CONNECTIONS = (10, 50, 200)
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "6"))
PACED_SECONDS = float(os.environ.get("BENCH_PACED_SECONDS", "20"))
THERAPISTS, PACE_SECONDS = 50, 2.0
HEALTH_P95_MS, RECOVERY_S, KEEP_AT_200, PAGE_VS_HEALTH, PACED_P95_MS = 100, 1.0, 0.8, 1 / 3, 25
LUA = Path(__file__).with_name("wrk_status.lua")
DEMO_EMAIL, DEMO_PASSWORD = "therapist1@northside.example", "strigil-demo-2026"


@dataclass
class Target:
    label: str
    path: str
    method: str = "GET"
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Load:
    target: str
    connections: int
    statuses: dict[int, int]
    socket_errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    health_ms: list[float]
    recovery_s: float

    @property
    def ok_rps(self) -> float:
        ok = sum(n for s, n in self.statuses.items() if 200 <= s < 300)
        return ok / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        bad = sum(n for s, n in self.statuses.items() if not (200 <= s < 300 or s == 503))
        return bad + self.socket_errors


def wrk(base: str, target: Target, connections: int, seconds: float) -> dict[str, float]:
    """Run wrk once; the status counts and figures its Lua script prints."""
    env = dict(os.environ, BENCH_METHOD=target.method, BENCH_BODY=target.body)
    env["BENCH_HEADERS"] = ";".join(f"{k}: {v}" for k, v in target.headers.items())
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "10s",
            "-s", str(LUA), base + target.path]  # fmt: skip
    out = subprocess.run(  # noqa: S603 - fixed argv
        argv, env=env, capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    figures: dict[str, float] = {}
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == "status":
            figures[f"status {parts[1]}"] = float(parts[2])
        elif len(parts) == 2 and parts[0] in ("socket_errors", "duration_us", "p50_us", "p99_us"):
            figures[parts[0]] = float(parts[1])
    if "duration_us" not in figures:
        raise RuntimeError(f"wrk printed no figures:\n{out}")
    return figures


def _probe(base: str, stop: threading.Event, out: list[float]) -> None:
    with httpx.Client(base_url=base, timeout=10) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                ok = client.get("/healthz").status_code == 200
            except httpx.HTTPError:
                ok = False
            out.append((time.perf_counter() - started) * 1000 if ok else float("inf"))
            stop.wait(0.05)


def recovery(base: str) -> float:
    """Seconds until /healthz answers 200 after the load (inf if not within 5 s)."""
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=1) as client:
        while time.perf_counter() - started < 5:
            try:
                if client.get("/healthz").status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
    return float("inf")


def drain(base: str, limit_s: float = 60.0) -> None:
    """Wait until requests queued by the previous run are served (a gated page answers fast),
    so one run's backlog is not counted against the next."""
    deadline = time.monotonic() + limit_s
    with httpx.Client(base_url=base, timeout=limit_s) as client:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            client.get("/login")
            if time.perf_counter() - started < 0.1:
                return
            time.sleep(0.2)


def measure(base: str, target: Target, connections: int) -> Load:
    drain(base)
    health: list[float] = []
    stop = threading.Event()
    prober = threading.Thread(target=_probe, args=(base, stop, health), daemon=True)
    prober.start()
    try:
        figures = wrk(base, target, connections, SECONDS)
    finally:
        stop.set()
        prober.join(15)
    statuses = {int(k.split()[1]): int(v) for k, v in figures.items() if k.startswith("status")}
    return Load(
        target.label, connections, statuses, int(figures.get("socket_errors", 0)),
        figures["duration_us"] / 1e6, figures.get("p50_us", 0) / 1000,
        figures.get("p99_us", 0) / 1000, health, recovery(base),
    )  # fmt: skip


def _abba(base: str, target: Target) -> list[Load]:
    """Each connection count four times, in the order 10, 50, 200, 200, 50, 10, twice over: a
    server that warms up or tires over the runs then weighs on every count alike, instead of
    flattering whichever count happened to run last."""
    order = (list(CONNECTIONS) + list(reversed(CONNECTIONS))) * 2
    return [measure(base, target, c) for c in order]


def _rate(loads: list[Load], connections: int) -> float:
    """The median 2xx throughput of the runs at ``connections``: on a shared machine one run
    in four can lose a fifth of its speed to a neighbour, and a mean would count it."""
    return statistics.median(load.ok_rps for load in loads if load.connections == connections)


# ----------------------------------------------------------------------------- set-up


def _demo_visit(url: str, data_dir: Path) -> str:
    subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [PYTHON, "-m", "strigil", "demo", "load", "--patients", "40"],
        env=server_env(url, data_dir), check=True, capture_output=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            visit = conn.scalar(
                text(
                    "SELECT v.external_id FROM visit v JOIN app_user u ON u.clinic_id = v.clinic_id"
                    " WHERE u.email = :e ORDER BY v.id DESC LIMIT 1"
                ),
                {"e": DEMO_EMAIL},
            )
    finally:
        engine.dispose()
    return str(uuid.UUID(str(visit)))


def _targets(base: str, visit: str) -> tuple[list[Target], httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=30)
    login = client.post("/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    login.raise_for_status()
    client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    token = client.post("/api/v1/auth/tokens", json={"name": "bench"}).json()["token"]
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    timed = Timed()
    opened = open_visit(client, timed, tolerance=10)
    area = add_area(client, timed, opened["id"]) if opened else None
    if area is None:
        raise RuntimeError(f"could not open a visit for the reading target: {timed.errors[:3]}")
    bearer = {"Authorization": f"Bearer {token}"}
    reading = f"/api/v1/areas/{area}/readings"
    targets = [
        Target("visit page", f"/visits/{visit}", headers={"Cookie": cookie}),
        Target("visit API read", f"/api/v1/visits/{visit}", headers=bearer),
        Target("reading write", reading, "POST", '{"value": 0}',
               bearer | {"Content-Type": "application/json"}),
    ]  # fmt: skip
    return targets, client, reading


# ----------------------------------------------------------------------------- paced


def _therapist(base: str, cookie: str, csrf: str, paths: tuple[str, str], out: Timed) -> None:
    page, reading = paths
    deadline = time.monotonic() + PACED_SECONDS
    headers = {"Cookie": cookie, "X-CSRF-Token": csrf}
    time.sleep(random.uniform(0, PACE_SECONDS))  # noqa: S311 - spread the starts
    with httpx.Client(base_url=base, timeout=30, headers=headers) as client:
        while time.monotonic() < deadline:
            started = time.monotonic()
            out.call_text(client, "visit page", page)
            time.sleep(max(0.0, PACE_SECONDS - (time.monotonic() - started)))
            started = time.monotonic()
            out.call(client, "reading write", "POST", reading, json={"value": 0})
            time.sleep(max(0.0, PACE_SECONDS - (time.monotonic() - started)))


def paced(base: str, client: httpx.Client, page: str, reading: str) -> Timed:
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    csrf = client.headers["X-CSRF-Token"]
    results = [Timed() for _ in range(THERAPISTS)]
    threads = [
        threading.Thread(target=_therapist, args=(base, cookie, csrf, (page, reading), r))
        for r in results
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(PACED_SECONDS + 60)
    total = Timed()
    for r in results:
        total.merge(r)
    return total


# ----------------------------------------------------------------------------- report


def run(kind: str, workdir: Path) -> list[str]:
    """Every measurement for one database; the targets it missed."""
    url = fresh_database(kind, workdir)
    visit = _demo_visit(url, workdir)
    missed: list[str] = []
    with running_server(url, workdir) as server:
        base = server.base_url
        targets, client, reading = _targets(base, visit)
        # The clinic at its daily pace first, then past capacity: a flood leaves autovacuum,
        # checkpoints and the page cache's refills behind it, which are the flood's cost,
        # not the pace's.
        timed = paced(base, client, targets[0].path, reading)
        print(f"\n[{kind}]")
        print(f"{'target':<16}{'conns':>6}{'2xx/s':>8}{'503':>7}{'errors':>7}{'p50 ms':>8}"
              f"{'p99 ms':>9}{'health p95':>11}{'max':>7}{'recover s':>10}")  # fmt: skip
        for target in targets:
            health = _health(base) if target.label == "visit page" else 0.0
            loads = _abba(base, target)
            for load in loads:
                _row(load)
                missed += _misses(kind, load)
            kept = _rate(loads, CONNECTIONS[-1]) / max(_rate(loads, CONNECTIONS[0]), 1e-9)
            print(f"  {target.label}: 200 connections keep {kept:.0%} of 10's throughput")
            if kept < KEEP_AT_200:
                missed.append(f"{kind} {target.label}: 200 connections keep {kept:.0%} of 10's")
            if target.label == "visit page":
                health = (health + _health(base)) / 2
                ratio = _rate(loads, CONNECTIONS[0]) / max(health, 1e-9)
                print(f"  /healthz alone, 10 connections, before and after: {health:.0f}/s")
                print(f"  visit page / healthz throughput: {ratio:.2f} (target >= 0.33)")
                if ratio < PAGE_VS_HEALTH:
                    missed.append(f"{kind} visit page is {ratio:.2f} of /healthz throughput")
        client.close()
    print(f"  paced: {THERAPISTS} therapists, an action every {PACE_SECONDS:.0f} s, "
          f"{PACED_SECONDS:.0f} s, errors {len(timed.errors)}")  # fmt: skip
    for label in ("visit page", "reading write"):
        values = timed.samples.get(label, [])
        p95 = percentile(values, 95) if values else float("inf")
        med = statistics.median(values) if values else float("inf")
        print(f"    {label:<14} n={len(values):<5} median {med:6.1f} ms  p95 {p95:6.1f} ms")
        if p95 > PACED_P95_MS:
            missed.append(f"{kind} paced {label} p95 {p95:.1f} ms > {PACED_P95_MS} ms")
    if timed.errors:
        missed.append(f"{kind} paced errors: {timed.errors[:3]}")
    return missed


def _health(base: str) -> float:
    """/healthz's throughput alone at 10 connections, the visit page's yardstick."""
    return measure(base, Target("/healthz", "/healthz"), CONNECTIONS[0]).ok_rps


def _row(load: Load) -> None:
    finite = [h for h in load.health_ms if h != float("inf")]
    p95 = percentile(load.health_ms, 95) if load.health_ms else float("inf")
    print(f"{load.target:<16}{load.connections:>6}{load.ok_rps:>8.0f}{load.statuses.get(503, 0):>7}"
          f"{load.errors:>7}{load.p50_ms:>8.1f}{load.p99_ms:>9.1f}{p95:>11.1f}"
          f"{max(finite, default=float('inf')):>7.0f}{load.recovery_s:>10.2f}")  # fmt: skip


def _misses(kind: str, load: Load) -> list[str]:
    where = f"{kind} {load.target} at {load.connections}"
    missed = []
    if load.errors:
        missed.append(f"{where}: {load.errors} errors (statuses {load.statuses})")
    if not load.health_ms or percentile(load.health_ms, 95) > HEALTH_P95_MS:
        missed.append(f"{where}: /healthz p95 over {HEALTH_P95_MS} ms or unmeasured")
    if load.recovery_s > RECOVERY_S:
        missed.append(f"{where}: healthy only after {load.recovery_s:.2f} s")
    if load.ok_rps <= 0:
        missed.append(f"{where}: no successful requests")
    return missed


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr] # progress as it comes
    if shutil.which("wrk") is None:
        print("wrk is not installed (`make bench` installs it)")
        return 1
    if not pg_available():
        print("PostgreSQL is not reachable on 127.0.0.1:5432")
        return 1
    missed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="strigil-load-") as tmp:
        for kind in os.environ.get("BENCH_KINDS", "sqlite,postgresql").split(","):
            workdir = Path(tmp) / kind
            workdir.mkdir()
            missed += run(kind, workdir)
    print("\nverdict:", "ok" if not missed else "MISSED")
    for line in missed:
        print("  missed:", line)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
