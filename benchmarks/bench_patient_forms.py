"""500 patients send their questionnaires at once to one live server.

Seeds a clinic with patients, each with an episode and an open questionnaire link (QuickDASH
and the pain rating, 12 answers), on a fresh SQLite file and a fresh PostgreSQL database.
Starts ``strigil serve``, one process (``BENCH_PG_WORKERS`` gives PostgreSQL more; with
phones that keep their connections, the kernel hands most of them to one worker, so more
workers made the tail worse here, not better). Three runs per database, 500 patients each:

- **filling in at once** (the target): 500 patients open their links within 30 s and fill
  the questionnaire in on their phones, one screen at a time, as the page asks, so that all
  500 are filling in at the same moment (checked): each screen's answer is a submission
  (``go=next``), and the last one (``go=send``) scores and stores both measures and uses up
  the link. A patient answers a screen every 3 to 7 s (``BENCH_THINK_SECONDS``, default 5,
  the mean), faster than people read and tap, so about 100 submissions a second reach the
  server while all 500 are at it. Target: no errors and p95 <= 100 ms per submission, for
  every screen and for the final sends alone.
- **paced**: 500 final sends arriving evenly over ``BENCH_PACED_SECONDS`` (default 25 s, 20
  a second, each on its own connection). Target: p95 <= 100 ms and no errors.
- **same instant**: 500 final sends released together. They exceed the server's bounded
  queue, which by design answers 503 with Retry-After at once rather than let requests pile
  up; such a client waits as Retry-After says and sends again. Target: no errors (anything
  but 200 after retries, a dropped connection, or a score missing from the database). Its
  latencies measure the queue, not a submission (500 writes of about 10 ms of server time
  each cannot all end within 100 ms on one process), so they are reported, not judged.

Exits non-zero on a miss, or when PostgreSQL is not running.
"""

from __future__ import annotations

import asyncio
import os
import random
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
THINK_SECONDS = float(os.environ.get("BENCH_THINK_SECONDS", "5"))
# Patients open their links over the first 30 s; filling in takes each about 65 s, so all 500
# are at it at the same time (the run checks that they were), without a flash crowd of 100
# opened links a second that no clinic's sending produces.
ARRIVAL_SECONDS = 30.0
WORKERS = {"sqlite": 1, "postgresql": int(os.environ.get("BENCH_PG_WORKERS", "1"))}
RUNS = 3  # filling in, paced, same instant: PATIENTS patients each
TARGET_MS = 100.0
RETRIES = 20
QUICKDASH = ["2", "3", "2", "1", "1", "4", "2", "2", "3", "1", "2"]


def _answers() -> dict[str, str]:
    fields = {f"q{i}": v for i, v in enumerate(QUICKDASH)}
    return fields | {"q11": "6", "step": "11", "go": "send"}


def _screen(step: int) -> dict[str, str]:
    """The form a phone sends from screen ``step``: the answers so far (they travel in the
    form until Send) and the button pressed."""
    answers = {k: v for k, v in _answers().items() if k.startswith("q")}
    so_far = {f"q{i}": answers[f"q{i}"] for i in range(step + 1)}
    last = step == len(answers) - 1
    return so_far | {"step": str(step), "go": "send" if last else "next"}


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
            for n in range(RUNS * PATIENTS):
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
    sends: list[float] = field(default_factory=list)  # the final, scoring ones, ms
    refused: list[float] = field(default_factory=list)  # fast 503s, ms
    end_to_end: list[float] = field(default_factory=list)
    retried: int = 0
    when: list[tuple[float, float]] = field(default_factory=list)
    sessions: list[tuple[float, float]] = field(default_factory=list)  # link opened, sent

    def most_at_once(self) -> int:
        """The largest number of patients who had opened their link and not yet sent it."""
        edges = sorted([(a, 1) for a, _ in self.sessions] + [(b, -1) for _, b in self.sessions])
        level = peak = 0
        for _, step in edges:
            level += step
            peak = max(peak, level)
        return peak

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


async def _post(client: httpx.AsyncClient, token: str, form: dict[str, str], out: Result) -> bool:
    """One screen's submission; False (and an error noted) unless the next screen came back."""
    began = time.perf_counter()
    try:
        response = await client.post(f"/p/{token}", data=form)
    except httpx.HTTPError as error:
        out.errors.append(type(error).__name__)
        return False
    took = (time.perf_counter() - began) * 1000
    expected = "questionnaire-thanks" if form["go"] == "send" else 'name="step"'
    if response.status_code != 200 or expected not in response.text:
        out.errors.append(f"{response.status_code} on {form['go']}")
        return False
    out.attempts.append(took)
    out.when.append((began, took))
    if form["go"] == "send":
        out.sends.append(took)
    return True


async def _filler(client: httpx.AsyncClient, token: str, out: Result, seed: int) -> None:
    """One patient: arrives, opens the link, answers every screen after a moment's thought."""
    pace = random.Random(seed)  # noqa: S311 - think times, not secrets
    await asyncio.sleep(pace.uniform(0, ARRIVAL_SECONDS))
    began = time.perf_counter()
    try:
        opened = await client.get(f"/p/{token}")
    except httpx.HTTPError as error:
        out.errors.append(type(error).__name__)
        return
    if opened.status_code != 200:
        out.errors.append(f"{opened.status_code} on open")
        return
    for step in range(len(QUICKDASH) + 1):
        await asyncio.sleep(pace.uniform(THINK_SECONDS * 0.6, THINK_SECONDS * 1.4))
        if not await _post(client, token, _screen(step), out):
            return
    out.sessions.append((began, time.perf_counter()))


async def _filling_in(base_url: str, tokens: list[str]) -> Result:
    """Every patient filling in at once; each phone keeps its connection between screens."""
    out = Result()
    limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=len(tokens))
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
        await asyncio.gather(*(_filler(client, t, out, n) for n, t in enumerate(tokens)))
    if os.environ.get("BENCH_DEBUG"):
        _over_time(out)
    return out


def _over_time(out: Result) -> None:
    """Latency in 5 s windows from the first submission (BENCH_DEBUG=1): where a tail is."""
    t0 = min(began for began, _ in out.when)
    for w in range(0, 120, 5):
        xs = [took for began, took in out.when if w <= began - t0 < w + 5]
        if xs:
            print(f"  t={w:3d}s n={len(xs):4d} p50 {percentile(xs, 50):7.1f} "
                  f"p95 {percentile(xs, 95):7.1f}")  # fmt: skip


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
    print(f"{PATIENTS} patients send questionnaires at once (target p95 <= {TARGET_MS:.0f} ms)")
    if not pg_available():
        print("PostgreSQL is not running on 127.0.0.1:5432: this benchmark needs it")
        missed = True
    kinds = ["sqlite"] + (["postgresql"] if pg_available() else [])
    kinds = os.environ.get("BENCH_KINDS", ",".join(kinds)).split(",")
    with tempfile.TemporaryDirectory(prefix="strigil-bench-") as tmp:
        for kind in kinds:
            url = fresh_database(kind, Path(tmp), pg_name="strigil_bench_patient_forms")
            tokens = seed(url)
            groups = [tokens[n * PATIENTS : (n + 1) * PATIENTS] for n in range(RUNS)]
            with running_server(url, Path(tmp), workers=WORKERS[kind]) as server:
                filling = asyncio.run(_filling_in(server.base_url, groups[0]))
                paced = asyncio.run(_run(server.base_url, groups[1], PACED_SECONDS))
                burst = asyncio.run(_run(server.base_url, groups[2]))
            missed |= not _report(kind, stored(url), filling, paced, burst)
    return 1 if missed else 0


def _report(kind: str, rows: int, filling: Result, paced: Result, burst: Result) -> bool:
    """Print one database's figures; whether its targets were met."""
    judged = {
        "filling in: every screen": filling.attempts,
        "filling in: final sends": filling.sends,
        "paced: per submission": paced.attempts,
    }
    ok = rows == 2 * RUNS * PATIENTS and not (filling.errors or paced.errors or burst.errors)
    ok = ok and all(v and percentile(v, 95) <= TARGET_MS for v in judged.values())
    ok = ok and len(filling.sends) == PATIENTS and filling.most_at_once() == PATIENTS
    print(f"\n{kind}: {rows} scores stored for {RUNS * PATIENTS} questionnaires")
    print(f"filling in: {filling.most_at_once()} patients were filling in at the same moment")
    for name, result in (("filling in", filling), ("paced", paced), ("same instant", burst)):
        print(f"{name}: {len(result.attempts)} accepted, {result.retried} fast 503s "
              f"honoured via Retry-After, {len(result.errors)} errors "
              f"{sorted(set(result.errors))[:5]}")  # fmt: skip
    print(LATENCY_HEADER)
    for label, values in judged.items():
        print(latency_row(label, values))
    print(latency_row("same instant: per attempt", burst.attempts))
    print(latency_row("same instant: 503 + retry", burst.refused))
    print(latency_row("same instant: end to end", burst.end_to_end))
    summary = ", ".join(f"{k} p95 {percentile(v, 95):.1f} ms" for k, v in judged.items() if v)
    print(f"{kind}: {summary}  {'ok' if ok else 'MISSED'}")
    return ok


if __name__ == "__main__":
    sys.exit(main())
