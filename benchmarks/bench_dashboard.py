"""The dashboard page with today's appointments on a 10,000-patient demo clinic.

Loads the demo clinic (which books today's day book through the services), books two months
of further appointments for every therapist of the first clinic (so the appointment table is
not trivially small), analyzes the tables on PostgreSQL (as autovacuum does after a load),
starts a real server and times GET / as a signed-in therapist, two ways:

- "reload": the page opened again while nothing changed (the overview is reused);
- "after change": an appointment's status is changed through the API (untimed) before each
  timed load, so the clinic's data revision has moved and every list is computed afresh.

Target: median < 50 ms for both, on each database. Exits non-zero when a target is missed,
when the page does not list today's appointments, or when nothing could be measured.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from _server import (
    fresh_database,
    login_client,
    percentile,
    pg_available,
    running_server,
    server_env,
)
from sqlalchemy import select, text

from strigil.services import appointments, auth
from strigil.store.clinics import User
from strigil.store.engine import make_engine, make_sessionmaker
from strigil.store.episodes import Episode
from strigil.store.patients import Patient

PATIENTS = 10_000
DAYS = 30  # booked on each side of today
PER_DAY = 8
WARMUP = 5
SAMPLES = 60
TARGET_MS = 50.0
EMAIL = "therapist1@northside.example"
PG_NAME = "strigil_bench_dashboard"  # its own scratch database: other benchmarks may be running


def demo(url: str, workdir: Path) -> None:
    argv = [sys.executable, "-m", "strigil", "demo", "load", "--patients", str(PATIENTS), "--json"]
    env = server_env(url, workdir)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"demo load failed ({done.returncode}): {done.stderr[-2000:]}")


def book_months(url: str) -> int:
    """Book PER_DAY appointments a day for DAYS days either side of today (today itself is
    the demo's), per therapist of the first clinic, through the day book services."""
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            therapists = session.scalars(
                select(User).where(User.clinic_id == 1, User.role == "therapist").order_by(User.id)
            ).all()
            patients = session.execute(
                select(Patient.external_id, Episode.external_id)
                .join(Episode, Episode.patient_id == Patient.id)
                .where(Patient.clinic_id == 1)
                .order_by(Patient.id)
                .limit(500)
            ).all()
            today = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
            booked = 0
            for t_index, therapist in enumerate(therapists):
                actor = auth.actor_for(therapist)
                for day in [d for d in range(-DAYS, DAYS + 1) if d != 0]:
                    for slot in range(PER_DAY):
                        patient_id, episode_id = patients[(booked + t_index) % len(patients)]
                        appointments.book(
                            session=session,
                            actor=actor,
                            data=appointments.AppointmentInput(
                                patient_id=patient_id,
                                therapist_id=therapist.external_id,
                                starts_at=today + timedelta(days=day, hours=slot),
                                minutes=45,
                                episode_id=episode_id,
                            ),
                        )
                        booked += 1
            session.commit()
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("ANALYZE"))
                session.commit()
            return booked
    finally:
        engine.dispose()


def measure(url: str, workdir: Path) -> dict[str, tuple[list[float], int]]:
    """Milliseconds per GET /, and how many of today's appointment links the page showed,
    for plain reloads and for loads after a change."""
    out: dict[str, tuple[list[float], int]] = {}
    with running_server(url, workdir) as server:
        client = login_client(server.base_url, EMAIL)
        out["reload"] = _loads(client, change=None)
        since = datetime.now(UTC).date().isoformat()
        first = client.get("/api/v1/appointments", params={"since": since}).json()[0]
        out["after change"] = _loads(client, change=first["id"])
        client.close()
    return out


def _loads(client: httpx.Client, change: str | None) -> tuple[list[float], int]:
    timings: list[float] = []
    listed = 0
    for n in range(WARMUP + SAMPLES):
        if change is not None:
            _toggle(client, change, n)
        started = time.perf_counter()
        response = client.get("/", headers={"Accept": "text/html"})
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET / answered {response.status_code}")
        listed = response.text.count('href="/daybook/appointments/')
        if n >= WARMUP:
            timings.append(elapsed)
    return timings, listed


def _toggle(client: httpx.Client, appointment_id: str, n: int) -> None:
    """Mark the appointment no-show, then booked again, alternately (a real data change)."""
    current = client.get(f"/api/v1/appointments/{appointment_id}").json()
    status = "booked" if current["status"] == "no_show" else "no_show"
    body = {"status": status, "version": current["version"]}
    response = client.post(f"/api/v1/appointments/{appointment_id}/status", json=body)
    if response.status_code != 200:
        raise RuntimeError(f"change {n} answered {response.status_code}: {response.text[:200]}")


def main() -> int:
    kinds = ["sqlite"] + (["postgresql"] if pg_available() else [])
    kinds = [k for k in kinds if k in sys.argv[1:]] or kinds  # e.g. "postgresql" to run one
    print(
        f"GET / (dashboard with today's appointments) on a {PATIENTS}-patient demo clinic "
        f"(target: median < {TARGET_MS:.0f} ms)",
        flush=True,
    )
    head = f"{'database, load':<24} {'booked':>7} {'links':>6} {'median ms':>10} {'p95 ms':>8}"
    print(f"{head}  verdict")
    failed = False
    with tempfile.TemporaryDirectory(prefix="strigil-bench-") as tmp:
        for kind in kinds:
            url = fresh_database(kind, Path(tmp), pg_name=PG_NAME)
            demo(url, Path(tmp))
            extra = book_months(url)
            for label, (timings, listed) in measure(url, Path(tmp)).items():
                failed |= not report(f"{kind} {label}", extra, timings, listed)
    return 1 if failed or not kinds else 0


def report(kind: str, extra: int, timings: list[float], listed: int) -> bool:
    """Print one database's row; True when it met the target with appointments listed."""
    median = statistics.median(timings) if timings else float("inf")
    ok = bool(timings) and median < TARGET_MS and listed > 0
    p95 = percentile(timings, 95) if timings else float("inf")
    verdict = "ok" if ok else ("NO APPOINTMENTS LISTED" if not listed else "MISSED")
    print(f"{kind:<12} {extra:>7} {listed:>6} {median:>10.1f} {p95:>8.1f}  {verdict}", flush=True)
    return ok


if __name__ == "__main__":
    sys.exit(main())
