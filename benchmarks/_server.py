"""Shared benchmark and fault-test plumbing: scratch databases, a real server, a visit flow.

Everything binds to 127.0.0.1 and every wait has a deadline, so a broken server makes a
benchmark fail fast instead of hanging ``make bench``.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# The live-server helpers are shared with the fault tests (tests/liveserver.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests import liveserver  # noqa: E402
from tests.liveserver import LOOPBACK, Server  # noqa: E402

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEMO_PASSWORD = "strigil-demo-2026"  # noqa: S105 - synthetic demo accounts only
ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


# ----------------------------------------------------------------------------- databases


def pg_url(database: str, port: int = 5432) -> str:
    """A loopback PostgreSQL URL for ``database``."""
    return f"postgresql+psycopg://postgres@{LOOPBACK}:{port}/{database}"


def recreate_pg_database(url: str) -> None:
    """Drop and create the database named in ``url`` (scratch databases only)."""
    name = make_url(url).database
    if not name or not name.startswith("strigil_"):
        raise ValueError(f"refusing to recreate {name!r}: not a strigil scratch database")
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def pg_available(timeout: float = 2.0) -> bool:
    """Whether the loopback PostgreSQL answers a connection."""
    try:
        with socket.create_connection((LOOPBACK, 5432), timeout=timeout):
            return True
    except OSError:
        return False


def fresh_database(kind: str, workdir: Path, pg_name: str | None = None) -> str:
    """A migrated empty database: a new SQLite file in ``workdir`` or a recreated PG db.

    Each benchmark gets its own PostgreSQL database by default (named for its script), so two
    benchmarks run side by side never drop each other's data mid-run.
    """
    from strigil.store import migrate

    pg_name = pg_name or "strigil_bench_" + Path(sys.argv[0]).stem.removeprefix("bench_")

    if kind == "sqlite":
        path = workdir / "strigil.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        url = pg_url(pg_name)
        recreate_pg_database(url)
    migrate.upgrade(url, "head")
    return url


def server_env(url: str, data_dir: Path) -> dict[str, str]:
    """Environment for a ``strigil`` subprocess pointed at ``url``."""
    env = dict(os.environ)
    env.update(
        STRIGIL_DATABASE_URL=liveserver.app_login_url(url),
        STRIGIL_ADMIN_DATABASE_URL=url,
        STRIGIL_DATA_DIR=str(data_dir),
        STRIGIL_LOG_LEVEL="WARNING",
        STRIGIL_LOGIN_MAX_FAILURES="1000",
        STRIGIL_LOGIN_RATE_LIMIT="100000",  # 50 therapists sign in from one address
    )
    return env


# ----------------------------------------------------------------------------- the server


def start_server(url: str, data_dir: Path, *, workers: int = 1, timeout: float = 30.0) -> Server:
    """Start ``python -m strigil serve`` against ``url`` and wait for /healthz."""
    return liveserver.start_server(
        server_env(url, data_dir), data_dir, workers=workers, timeout=timeout
    )


def stop_server(server: Server, *, hard: bool = False, timeout: float = 15.0) -> None:
    """SIGTERM (or SIGKILL when ``hard``) the server's process group and reap it."""
    server.kill(signal.SIGKILL if hard else signal.SIGTERM, timeout)


@contextmanager
def running_server(url: str, data_dir: Path, *, workers: int = 1) -> Iterator[Server]:
    """A warmed-up server for the length of a ``with`` block."""
    server = start_server(url, data_dir, workers=workers)
    try:
        settled(server.base_url)
        yield server
    finally:
        stop_server(server)


def settled(base: str, limit_s: float = 120.0, in_a_row: int = 4) -> None:
    """Wait for the start-up warm-up (the diagnosis word index, several CPU-seconds) to end,
    so the runs measure the server as it serves a clinic, not as it starts. Several answers
    in a row must say so, since with several workers each warms up on its own."""
    deadline = time.monotonic() + limit_s
    ready = 0
    with httpx.Client(base_url=base, timeout=10) as client:
        while time.monotonic() < deadline:
            if client.get("/healthz").json().get("search_index") == "ready":
                ready += 1
                if ready >= in_a_row:
                    return
                continue
            ready = 0
            time.sleep(0.5)
    raise RuntimeError("the server did not finish warming up")


def rss_kb(pid: int) -> int:
    """Resident set size of ``pid`` in KiB, 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return 0


def tree_rss_kb(pid: int) -> int:
    """RSS of ``pid`` plus its direct children (uvicorn workers), in KiB."""
    total = rss_kb(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return total
    return total + sum(rss_kb(int(c)) for c in children)


class RssSampler:
    """Samples a process tree's RSS in a background thread; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid, self.interval, self.peak_kb = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_kb = max(self.peak_kb, tree_rss_kb(self.pid))

    def __enter__(self) -> RssSampler:
        self.peak_kb = tree_rss_kb(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


# ----------------------------------------------------------------------------- set-up data


def make_clinic_users(url: str, count: int, *, clinic: str = "Bench Clinic") -> list[str]:
    """A clinic with ``count`` therapists (password DEMO_PASSWORD); returns their emails."""
    from strigil.services import auth, clinics
    from strigil.store.engine import make_engine, make_sessionmaker

    engine = make_engine(url)
    session = make_sessionmaker(engine)()
    digest = auth.hash_password(DEMO_PASSWORD, demo=True)
    try:
        row = clinics.create_clinic(session=session, name=clinic)
        emails = [f"therapist{i}@bench.example" for i in range(count)]
        for i, email in enumerate(emails):
            clinics.add_user(
                session=session,
                clinic=row,
                email=email,
                display_name=f"Bench Therapist {i}",
                role="therapist",
                password=DEMO_PASSWORD,
                password_hash=digest,
            )
        session.commit()
        return emails
    finally:
        session.close()
        engine.dispose()


def login_client(base_url: str, email: str, timeout: float = 30.0) -> httpx.Client:
    """An httpx client signed in as ``email`` carrying the CSRF header."""
    client = httpx.Client(base_url=base_url, timeout=timeout)
    response = client.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD})
    response.raise_for_status()
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


# ----------------------------------------------------------------------------- the visit flow

PATIENT = {
    "given_name": "Bench",
    "family_name": "Person",
    "birth_date": "1980-05-17",
    "sex": "female",
}
EPISODE = {
    "condition_code": "M77.11",
    "body_region": "elbow_forearm",
    "side": "right",
    "chronicity": "chronic",
    "primary_measure": "PRTEE",
    "goals": "Lift a kettle",
}
AREA = {
    "body_site": "lateral_elbow",
    "side": "right",
    "instrument_type": "stainless_steel",
    "intensity": "gentle",
    "strokes": ["sweep"],
    "seconds": 60,
}
FINDING = {
    "chart_view": "back",
    "x": 0.3,
    "y": 0.4,
    "body_site": "lateral_elbow",
    "texture": "gravelly",
    "severity": 2,
}


def screening_answers() -> dict[str, Any]:
    """Every screening rule answered "absent"."""
    from strigil.core import catalog

    return {"answers": {r.id: {"present": False} for r in catalog.screening_rules()}}


def recheck_answers() -> dict[str, Any]:
    """Every per-visit re-check rule (medication, skin) answered "absent"; blood pressure as a
    normal reading."""
    from strigil.core import screening

    answers: dict[str, Any] = {r.id: {"present": False} for r in screening.visit_recheck_rules()}
    bp = {"systolic": 124, "diastolic": 78}
    return answers | {r.id: bp for r in screening.visit_recheck_rules() if r.reading}


@dataclass
class Timed:
    """Latencies (ms) by label and the errors seen, from one client thread."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    think: float = 0.0  # mean pause before each request, seconds (a person between actions)

    def pause(self) -> None:
        """Wait like a therapist between two entries: uniform 0.5-1.5 x the mean think time."""
        if self.think > 0:
            time.sleep(self.think * random.uniform(0.5, 1.5))  # noqa: S311 - pacing, not crypto

    def call(self, client: httpx.Client, label: str, method: str, path: str, **kw: Any) -> Any:
        """Send one request; time it; note a non-2xx as an error; return its JSON or None."""
        self.pause()
        started = time.perf_counter()
        try:
            response = client.request(method, path, **kw)
        except httpx.HTTPError as exc:
            self.errors.append(f"{label}: {type(exc).__name__}")
            return None
        elapsed = (time.perf_counter() - started) * 1000
        self.requests += 1
        self.samples.setdefault(label, []).append(elapsed)
        if response.status_code >= 300:
            self.errors.append(f"{label}: {response.status_code} {response.text[:200]}")
            return None
        return response.json() if response.content else {}

    def call_text(self, client: httpx.Client, label: str, path: str) -> str | None:
        """GET an HTML page; time it; a non-2xx is an error."""
        self.pause()
        started = time.perf_counter()
        try:
            response = client.get(path, headers={"Accept": "text/html"})
        except httpx.HTTPError as exc:
            self.errors.append(f"{label}: {type(exc).__name__}")
            return None
        self.requests += 1
        self.samples.setdefault(label, []).append((time.perf_counter() - started) * 1000)
        if response.status_code >= 300:
            self.errors.append(f"{label}: {response.status_code}")
            return None
        return response.text

    def merge(self, other: Timed) -> None:
        for label, values in other.samples.items():
            self.samples.setdefault(label, []).extend(values)
        self.errors.extend(other.errors)
        self.requests += other.requests


def open_visit(client: httpx.Client, timed: Timed, tolerance: int = 8) -> dict[str, Any] | None:
    """Patient → episode → screening → consent → visit; the visit's JSON or None on error."""
    # A new person per flow: the same name and birth date again would be held as a duplicate.
    person = PATIENT | {"family_name": f"Person{os.urandom(5).hex()}"}
    patient = timed.call(client, "create patient", "POST", "/api/v1/patients", json=person)
    if patient is None:
        return None
    episode = timed.call(
        client, "open episode", "POST", f"/api/v1/patients/{patient['id']}/episodes", json=EPISODE
    )
    if episode is None:
        return None
    eid = episode["id"]
    if (
        timed.call(
            client,
            "screening",
            "POST",
            f"/api/v1/episodes/{eid}/screenings",
            json=screening_answers(),
        )
        is None
    ):
        return None
    consent = timed.call(client, "consent text", "GET", f"/api/v1/episodes/{eid}/consent-text")
    if consent is None:
        return None
    body = {"decision": "granted", "shown_sha256": consent["sha256"]}
    if timed.call(client, "consent", "POST", f"/api/v1/episodes/{eid}/consents", json=body) is None:
        return None
    visit = timed.call(
        client, "start visit", "POST", f"/api/v1/episodes/{eid}/visits",
        json={"tolerance_limit": tolerance, "recheck": recheck_answers()},
    )  # fmt: skip
    return visit  # type: ignore[no-any-return]


def add_area(client: httpx.Client, timed: Timed, visit_id: str) -> str | None:
    """One treated area on the visit; its id or None."""
    area = timed.call(client, "add area", "POST", f"/api/v1/visits/{visit_id}/areas", json=AREA)
    return None if area is None else str(area["id"])


# A therapist enters something every few seconds at most; 1 s on average is deliberately brisk.
THINK_SECONDS = float(os.environ.get("BENCH_THINK_SECONDS", "1.0"))


def full_flow(client: httpx.Client, timed: Timed) -> bool:
    """A whole realistic visit, signed at the end; True when every step succeeded."""
    visit = open_visit(client, timed)
    if visit is None:
        return False
    vid = visit["id"]
    for _ in range(2):
        area = add_area(client, timed, vid)
        if area is None:
            return False
        for value in (2, 3, 4):
            path = f"/api/v1/areas/{area}/readings"
            if timed.call(client, "reading", "POST", path, json={"value": value}) is None:
                return False
        skin = {"grade": "erythema"}
        if timed.call(client, "skin", "POST", f"/api/v1/areas/{area}/skin", json=skin) is None:
            return False
        stop = {"reason": "completed"}
        if timed.call(client, "stop area", "POST", f"/api/v1/areas/{area}/stop", json=stop) is None:
            return False
    path = f"/api/v1/visits/{vid}/findings"
    if timed.call(client, "finding", "POST", path, json=FINDING) is None:
        return False
    note = {
        "subjective": "Elbow pain when lifting.",
        "objective": "Gravelly texture over the lateral elbow.",
        "assessment": "Tolerated IASTM well.",
        "plan": "Continue twice weekly.",
        "version": visit["version"],
    }
    saved = timed.call(client, "save note", "PUT", f"/api/v1/visits/{vid}/note", json=note)
    if saved is None:
        return False
    body = {"version": saved["version"]}
    return timed.call(client, "sign", "POST", f"/api/v1/visits/{vid}/sign", json=body) is not None


# ----------------------------------------------------------------------------- reporting


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def latency_row(label: str, values: list[float]) -> str:
    """A table row: count, median, p95, p99, max in ms."""
    if not values:
        return f"{label:<28} {0:>7}"
    return (
        f"{label:<28} {len(values):>7} {statistics.median(values):>8.1f} "
        f"{percentile(values, 95):>8.1f} {percentile(values, 99):>8.1f} {max(values):>8.1f}"
    )


LATENCY_HEADER = (
    f"{'operation':<28} {'n':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
)
