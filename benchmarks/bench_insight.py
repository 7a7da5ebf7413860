"""Clinic insight on a demo clinic: the risk-model fit time, and the insight pages' p50/p95.

Loads a demo network (PATIENTS patients over two clinics), then:

- fit: in this process, the first clinic's most used measure is prepared from the database and
  the risk-adjustment model fitted FITS times (median);
- pages: a real server, signed in as the first clinic's admin; the outcome page is opened once
  and polled until the model is fitted (cold: the time until the figures show), then
  /insight/outcomes, /insight/safety and the outcome API are each timed SAMPLES times with the
  data unchanged (the fit comes from the cache keyed by the clinic's data version).

Targets: fit median < 10 s; every page and the API p95 < 1000 ms (issue 16: every insight page
within 1 s). Exits non-zero when a target is missed or nothing could be measured. Pass
"postgresql" to run on PostgreSQL instead of SQLite.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
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
from sqlalchemy import select

from strigil.core import measures
from strigil.evidence import risk_model
from strigil.services import auth, insight
from strigil.store.clinics import User
from strigil.store.engine import make_engine, make_sessionmaker

PATIENTS = 3_000
FITS = 3
WARMUP = 3
SAMPLES = 30
FIT_TARGET_S = 10.0
PAGE_TARGET_MS = 1000.0
ADMIN = "admin@northside.example"
PG_NAME = "strigil_bench_insight"


def demo(url: str, workdir: Path) -> None:
    argv = [sys.executable, "-m", "strigil", "demo", "load", "--patients", str(PATIENTS), "--json"]
    env = server_env(url, workdir)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"demo load failed ({done.returncode}): {done.stderr[-2000:]}")


def fit_times(url: str) -> tuple[str, int, list[float]]:
    """The most used measure, its episodes in the model, and seconds per fit."""
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            admin = session.scalars(select(User).where(User.email == ADMIN)).one()
            actor = auth.actor_for(admin)
            code = insight.measure_options(session=session, actor=actor)[0][0]
            today = datetime.now(UTC).date()
            prepared = insight._prepare(session, actor.clinic_id, measures.get_measure(code), today)
            seconds = []
            for _ in range(FITS):
                started = time.perf_counter()
                result = risk_model.fit(prepared.outcomes)
                seconds.append(time.perf_counter() - started)
            return code, result.n, seconds
    finally:
        engine.dispose()


def page_times(url: str, workdir: Path, measure: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    with running_server(url, workdir) as server:
        client = login_client(server.base_url, ADMIN, timeout=120)
        out["outcomes page, first (cold fit)"] = [_cold(client, measure)]
        paths = {
            "/insight/outcomes": {"measure": measure},
            "/insight/safety": {},
            "/api/v1/insight/outcomes": {"measure": measure},
            "/api/v1/insight/safety": {},
        }
        for path, params in paths.items():
            out[path] = _timed(client, path, params)
        client.close()
    return out


def _cold(client: httpx.Client, measure: str) -> float:
    started = time.perf_counter()
    for _ in range(600):
        response = client.get("/api/v1/insight/outcomes", params={"measure": measure})
        if response.status_code == 200:
            if response.json()["fit"] is None:
                raise RuntimeError(f"no fit: {response.json()['message']}")
            return (time.perf_counter() - started) * 1000
        if response.status_code != 202:
            raise RuntimeError(f"outcomes answered {response.status_code}")
        time.sleep(0.1)
    raise RuntimeError("the model was not fitted within a minute")


def _timed(client: httpx.Client, path: str, params: dict[str, str]) -> list[float]:
    timings = []
    for n in range(WARMUP + SAMPLES):
        started = time.perf_counter()
        response = client.get(path, params=params)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
        if n >= WARMUP:
            timings.append(elapsed)
    return timings


def main() -> int:
    kind = "postgresql" if "postgresql" in sys.argv[1:] else "sqlite"
    if kind == "postgresql" and not pg_available():
        print("PostgreSQL is not reachable: nothing measured")
        return 1
    print(f"Clinic insight on a {PATIENTS}-patient demo network ({kind})", flush=True)
    failed = False
    with tempfile.TemporaryDirectory(prefix="strigil-bench-") as tmp:
        url = fresh_database(kind, Path(tmp), pg_name=PG_NAME)
        demo(url, Path(tmp))
        measure, n, seconds = fit_times(url)
        fit_median = statistics.median(seconds)
        ok = fit_median < FIT_TARGET_S
        failed |= not ok
        print(f"fit, {measure} (n = {n} episodes): median {fit_median:.2f} s over {FITS} "
              f"(target < {FIT_TARGET_S:.0f} s)  {'ok' if ok else 'MISSED'}")  # fmt: skip
        print(f"{'request':<36} {'n':>4} {'p50 ms':>8} {'p95 ms':>8}  verdict")
        for label, timings in page_times(url, Path(tmp), measure).items():
            p50, p95 = statistics.median(timings), percentile(timings, 95)
            ok = label.endswith("(cold fit)") or p95 < PAGE_TARGET_MS
            failed |= not ok
            print(f"{label:<36} {len(timings):>4} {p50:>8.1f} {p95:>8.1f}  "
                  f"{'ok' if ok else 'MISSED'}")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
