"""The progress-plus-expected-course query for one episode on a 10,000-patient demo clinic.

Calls ``outcomes.progress`` (change from baseline, responder class, reconsider prompt and
the expected course from similar episodes) in-process for ~50 episodes, per database.
Target: < 200 ms per episode. The demo clinic is loaded fresh by the CLI first.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _server import fresh_database, percentile, pg_available, server_env
from sqlalchemy import func, select, text

from strigil.services import auth, outcomes
from strigil.store.clinics import Clinic, User
from strigil.store.engine import make_engine, make_sessionmaker
from strigil.store.episodes import Episode
from strigil.store.outcomes import OutcomeMeasurement

PATIENTS = 10_000
EPISODES = 50
WARMUP = 3
TARGET_MS = 200.0


def demo(url: str, workdir: Path) -> None:
    argv = [sys.executable, "-m", "strigil", "demo", "load", "--patients", str(PATIENTS), "--json"]
    subprocess.run(argv, env=server_env(url, workdir), capture_output=True, timeout=900, check=True)  # noqa: S603


def measure(url: str) -> list[float]:
    """Milliseconds per progress() call over EPISODES measured episodes of one clinic."""
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    try:
        with factory() as session:
            user = session.scalars(
                select(User).join(Clinic).where(User.role == "therapist").order_by(User.id)
            ).first()
            assert user is not None
            episode_ids = session.scalars(
                select(Episode.external_id)
                .join(OutcomeMeasurement, OutcomeMeasurement.episode_id == Episode.id)
                .where(Episode.clinic_id == user.clinic_id)
                .group_by(Episode.id, Episode.external_id)
                .having(func.count(OutcomeMeasurement.id) >= 2)
                .order_by(Episode.id)
                .limit(EPISODES + WARMUP)
            ).all()
            actor = auth.actor_for(user)
        timings = []
        for n, episode_id in enumerate(episode_ids):
            with factory() as session:
                if session.get_bind().dialect.name == "postgresql":
                    session.execute(
                        text("SELECT set_config('strigil.clinic_id', :c, true)"),
                        {"c": str(actor.clinic_id)},
                    )
                started = time.perf_counter()
                outcomes.progress(session=session, actor=actor, episode_id=episode_id)
                elapsed = (time.perf_counter() - started) * 1000
                session.rollback()
            if n >= WARMUP:
                timings.append(elapsed)
        return timings
    finally:
        engine.dispose()


def main() -> int:
    kinds = ["sqlite"] + (["postgresql"] if pg_available() else [])
    rows = []
    with tempfile.TemporaryDirectory(prefix="strigil-bench-") as tmp:
        for kind in kinds:
            url = fresh_database(kind, Path(tmp))
            demo(url, Path(tmp))
            rows.append((kind, measure(url)))
    print(f"outcomes.progress on a {PATIENTS}-patient demo clinic (target < {TARGET_MS:.0f} ms)")
    print(
        f"{'database':<12} {'episodes':>8} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}  verdict"
    )
    for kind, t in rows:
        p95 = percentile(t, 95)
        print(
            f"{kind:<12} {len(t):>8} {statistics.median(t):>10.1f} {p95:>8.1f} {max(t):>8.1f}  "
            f"{'ok' if p95 < TARGET_MS else 'MISSED'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
