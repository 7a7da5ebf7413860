"""500 patients send their questionnaires at the same moment to one live server.

Seeds a clinic with patients, each with an episode and an open questionnaire link (QuickDASH
and the pain rating, 12 answers), on a fresh SQLite file and a fresh PostgreSQL database.
Starts ``strigil serve`` (one process) and has each patient send the last screen of their
questionnaire (every answer, ``go=send``): the submission that scores and stores both
measures and uses up the link. Two runs per database:

- **at once**: 500 patients released together. 500 simultaneous requests exceed the
  server's bounded queue, which by design answers 503 with Retry-After at once rather than
  let requests pile up; such a client waits as Retry-After says and sends again. Target: no
  errors (anything but 200 after retries, a dropped connection, or a score missing from the
  database). Its latencies are printed: "per attempt" is one request's time including its
  wait in the server's queue; "end to end" is from the common start to the stored answers,
  including Retry-After waits. With 500 writes arriving in the same instant they measure the
  queue, not a submission, so they are reported, not judged.
- **paced**: another 500 patients, arriving evenly over ``BENCH_PACED_SECONDS`` (default
  25 s, i.e. 20 submissions a second, each on its own connection). Target: p95 <= 100 ms per
  submission and no errors.

Exits non-zero on a miss, or when PostgreSQL is not running.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx
from _server import (
    LATENCY_HEADER,
    fresh_database,
    latency_row,
    percentile,
    pg_available,
    running_server,
)
from sqlalchemy import func, select

from strigil.services import auth, clinics, episodes, patient_forms, patients
from strigil.store.engine import make_engine, make_sessionmaker
from strigil.store.outcomes import OutcomeMeasurement

PATIENTS = 500
PACED_SECONDS = float(os.environ.get("BENCH_PACED_SECONDS", "25"))
TARGET_MS = 100.0
RETRIES = 20
QUICKDASH = ["2", "3", "2", "1", "1", "4", "2", "2", "3", "1", "2"]


def _answers() -> dict[str, str]:
    fields = {f"q{i}": v for i, v in enumerate(QUICKDASH)}
    return fields | {"q11": "6", "step": "11", "go": "send"}


def seed(url: str) -> list[str]:
    """A clinic, PATIENTS patients with an episode each, and one questionnaire link each."""
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            clinic = clinics.create_clinic(session=session, name="Bench Clinic")
            user = clinics.add_user(
                session=session,
                clinic=clinic,
                email="therapist@bench.example",
                display_name="Bench Therapist",
                role="therapist",
                password="bench-password-2026-long",  # noqa: S106 - synthetic
                password_hash=auth.hash_password("bench-password-2026-long", demo=True),
            )
            session.flush()
            actor = auth.actor_for(user)
            tokens = []
            for n in range(2 * PATIENTS):
                person = patients.PatientInput(
                    given_name="Bench",
                    family_name=f"Patient{n:04d}",
                    birth_date=date(1950, 1, 1) + timedelta(days=13 * n),
                    sex="female",
                )
                patient = patients.register(session=session, actor=actor, data=person)
                episode = episodes.open_episode(
                    session=session,
                    actor=actor,
                    patient_id=patient.external_id,
                    data=episodes.EpisodeInput(
                        condition_code="M77.11",
                        body_region="elbow_forearm",
                        side="right",
                        chronicity="chronic",
                        primary_measure="QUICKDASH",
                        goals="Lift a kettle",
                    ),
                )
                token, _ = patient_forms.issue(
                    session=session,
                    actor=actor,
                    episode_id=episode.external_id,
                    purpose="questionnaires",
                )
                tokens.append(token)
            session.commit()
            return tokens
    finally:
        engine.dispose()


@dataclass
class Result:
    attempts: list[float] = field(default_factory=list)  # accepted submissions, ms
    refused: list[float] = field(default_factory=list)  # fast 503s, ms
    end_to_end: list[float] = field(default_factory=list)
    retried: int = 0
    errors: list[str] = field(default_factory=list)


async def _patient(
    client: httpx.AsyncClient,
    token: str,
    start: asyncio.Event,
    t0: list[float],
    out: Result,
    delay: float = 0.0,
) -> None:
    await start.wait()
    if delay:
        await asyncio.sleep(delay)
    for _ in range(RETRIES):
        began = time.perf_counter()
        try:
            response = await client.post(f"/p/{token}", data=_answers())
        except httpx.HTTPError as error:
            out.errors.append(type(error).__name__)
            return
        took = (time.perf_counter() - began) * 1000
        if response.status_code == 503:
            out.refused.append(took)
            out.retried += 1
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
            continue
        if response.status_code != 200 or "questionnaire-thanks" not in response.text:
            out.errors.append(f"{response.status_code}")
            return
        out.attempts.append(took)
        out.end_to_end.append((time.perf_counter() - t0[0]) * 1000)
        return
    out.errors.append("gave up after retries")


async def _run(base_url: str, tokens: list[str], spread: float = 0.0) -> Result:
    """Every token's submission, released together (``spread`` 0) or evenly over ``spread``
    seconds. A patient's phone opens its own connection, so none is kept alive for reuse."""
    out = Result()
    limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
        start, t0 = asyncio.Event(), [0.0]
        step = spread / len(tokens)
        tasks = [
            asyncio.create_task(_patient(client, t, start, t0, out, n * step))
            for n, t in enumerate(tokens)
        ]
        await asyncio.sleep(0.5)  # every task is waiting on the start line
        t0[0] = time.perf_counter()
        start.set()
        await asyncio.gather(*tasks)
    return out


def stored(url: str) -> int:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            query = select(func.count()).where(OutcomeMeasurement.source == "patient")
            return int(session.scalar(query.select_from(OutcomeMeasurement)) or 0)
    finally:
        engine.dispose()


def main() -> int:
    missed = False
    print(f"{PATIENTS} patients send a questionnaire at once (target p95 <= {TARGET_MS:.0f} ms)")
    if not pg_available():
        print("PostgreSQL is not running on 127.0.0.1:5432: this benchmark needs it")
        missed = True
    kinds = ["sqlite"] + (["postgresql"] if pg_available() else [])
    with tempfile.TemporaryDirectory(prefix="strigil-bench-") as tmp:
        for kind in kinds:
            url = fresh_database(kind, Path(tmp), pg_name="strigil_bench_patient_forms")
            tokens = seed(url)
            with running_server(url, Path(tmp)) as server:
                burst = asyncio.run(_run(server.base_url, tokens[:PATIENTS]))
                paced = asyncio.run(_run(server.base_url, tokens[PATIENTS:], PACED_SECONDS))
            rows = stored(url)
            p95 = percentile(paced.attempts, 95)
            ok = not burst.errors and not paced.errors and rows == 4 * PATIENTS
            ok = ok and p95 <= TARGET_MS
            missed |= not ok
            print(f"\n{kind}: {rows} scores stored for {2 * PATIENTS} submissions")
            for name, result in (("at once", burst), ("paced", paced)):
                print(f"{name}: {len(result.attempts)} accepted, {result.retried} fast 503s "
                      f"honoured via Retry-After, {len(result.errors)} errors "
                      f"{sorted(set(result.errors))[:5]}")  # fmt: skip
            print(LATENCY_HEADER)
            print(latency_row("at once: per attempt", burst.attempts))
            print(latency_row("at once: 503 + Retry-After", burst.refused))
            print(latency_row("at once: end to end", burst.end_to_end))
            print(latency_row("paced: per submission", paced.attempts))
            median = statistics.median(paced.attempts) if paced.attempts else float("nan")
            verdict = "ok" if ok else "MISSED"
            print(f"{kind}: paced median {median:.1f} ms, p95 {p95:.1f} ms per submission; "
                  f"at once {len(burst.attempts)}/{PATIENTS} stored, "
                  f"{len(burst.errors)} errors  {verdict}")  # fmt: skip
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
