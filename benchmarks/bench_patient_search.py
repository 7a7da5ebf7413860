"""Patient search and the duplicate check on a 10,000-patient clinic.

Seeds 10,000 synthetic patients (names, birth dates, phones, emails, with their match keys)
into one clinic of a fresh database, then times ``patients.search`` for each kind of term
(name part, ISO and day-first birth dates, phone digits, record number) and
``patients.possible_duplicates`` (the check every registration runs), in-process, per
database. Target: p95 < 50 ms per call. Exits non-zero on a miss.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from _server import fresh_database, percentile, pg_available
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from strigil.services import auth, clinics, patients
from strigil.services.actors import Actor
from strigil.store.engine import make_engine, make_sessionmaker
from strigil.store.patients import Patient, match_keys

PATIENTS = 10_000
RUNS = 30
WARMUP = 3
TARGET_MS = 50.0
GIVEN = ("Ada", "Bea", "Cai", "Dara", "Eli", "Fen", "Gus", "Hana", "Ines", "José", "Kofi", "Lea")
FAMILY = ("Ash", "Birch", "Cedar", "Dunn", "Elm", "Fir", "Gale", "Hart", "Núñez", "Oak", "Pine")


def _rows(clinic_id: int, rng: random.Random) -> list[dict[str, object]]:
    rows = []
    for n in range(PATIENTS):
        row: dict[str, object] = {
            "clinic_id": clinic_id,
            "record_number": f"P-{n:06d}",
            "given_name": rng.choice(GIVEN),
            "family_name": f"{rng.choice(FAMILY)}{n % 97}",
            "birth_date": date(1940, 1, 1) + timedelta(days=rng.randint(0, 30_000)),
            "sex": "unknown",
            "phone": f"+1 555 {rng.randint(0, 9_999_999):07d}",
            "email": f"person{n}@example.org",
            "notes": "Synthetic benchmark patient.",
        }
        rows.append(row | match_keys(row))
    return rows


def seed(url: str) -> tuple[Actor, dict[str, object]]:
    """A clinic with PATIENTS patients; the actor and one patient's row to search for."""
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            clinic = clinics.create_clinic(session=session, name="Benchmark Clinic")
            user = clinics.add_user(
                session=session,
                clinic=clinic,
                email="bench@clinic.test",
                display_name="Bench Therapist",
                role="therapist",
                password="synthetic-pass-123",
            )
            rows = _rows(clinic.id, random.Random(14))
            session.execute(insert(Patient), rows)
            session.commit()
            return auth.actor_for(user), rows[PATIENTS // 2]
    finally:
        engine.dispose()


def _calls(target: dict[str, object]) -> dict[str, Callable[[Session, Actor], object]]:
    born = target["birth_date"]
    assert isinstance(born, date)
    phone = str(target["phone"])

    def search(q: str) -> Callable[[Session, Actor], object]:
        return lambda s, a: patients.search(session=s, actor=a, text=q)

    data = patients.PatientInput(
        given_name=str(target["given_name"]),
        family_name=str(target["family_name"]),
        birth_date=born,
        sex="unknown",
        phone=phone,
        email=str(target["email"]),
    )
    return {
        "name part": search(str(target["family_name"])[:4].lower()),
        "birth date ISO": search(born.isoformat()),
        "birth date D.M.YYYY": search(f"{born.day}.{born.month}.{born.year}"),
        "phone digits": search(phone[-7:]),
        "record number": search(str(target["record_number"])),
        "duplicate check": lambda s, a: patients.possible_duplicates(session=s, actor=a, data=data),
    }


def measure(url: str, actor: Actor, call: Callable[[Session, Actor], object]) -> list[float]:
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    timings = []
    try:
        for n in range(RUNS + WARMUP):
            with factory() as session:
                if session.get_bind().dialect.name == "postgresql":
                    session.execute(
                        text("SELECT set_config('strigil.clinic_id', :c, true)"),
                        {"c": str(actor.clinic_id)},
                    )
                started = time.perf_counter()
                call(session, actor)
                elapsed = (time.perf_counter() - started) * 1000
                session.rollback()
            if n >= WARMUP:
                timings.append(elapsed)
        return timings
    finally:
        engine.dispose()


def main() -> int:
    kinds = ["sqlite"] + (["postgresql"] if pg_available() else [])
    missed = False
    print(f"patient search on a {PATIENTS}-patient clinic (target p95 < {TARGET_MS:.0f} ms)")
    print(f"{'database':<11} {'query':<20} {'median ms':>10} {'p95 ms':>8}  verdict")
    with tempfile.TemporaryDirectory(prefix="strigil-bench-") as tmp:
        for kind in kinds:
            url = fresh_database(kind, Path(tmp), pg_name="strigil_bench_search")
            actor, target = seed(url)
            for name, call in _calls(target).items():
                t = measure(url, actor, call)
                p95 = percentile(t, 95)
                missed |= p95 >= TARGET_MS
                verdict = "ok" if p95 < TARGET_MS else "MISSED"
                print(f"{kind:<11} {name:<20} {statistics.median(t):>10.1f} {p95:>8.1f}  {verdict}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
