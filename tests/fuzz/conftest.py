"""A fuzzing target: the app on a scratch database of its own, signed in, with real records.

The fuzzers change state freely (they sign visits, withdraw consent, mark patients in error),
so they get a database of their own rather than the shared per-test transaction: a SQLite
file by default, or a fresh ``<name>_fuzz`` database beside the PostgreSQL one named by
``STRIGIL_FUZZ_DATABASE_URL``. Real ids of every kind are seeded so that generated requests
reach the handlers, not only the 404s. The number of generated cases is printed in the
terminal summary.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from tests.factories import seed_clinic_with_therapist
from tests.flow import recheck_clear

from strigil.config import Settings
from strigil.core import catalog
from strigil.store import migrate
from strigil.web.app import create_app

EMAIL = "fuzz.therapist@fuzz.test"
PASSWORD = "synthetic-fuzz-pass-123"  # noqa: S105 - synthetic test account
COUNTS = pytest.StashKey[dict[str, int]]()


@dataclass
class FuzzTarget:
    """The app under fuzzing, the auth header to send, and real ids per path parameter."""

    app: FastAPI
    headers: dict[str, str]
    ids: dict[str, list[str]] = field(default_factory=dict)


def _seed_user(url: str) -> None:
    seed_clinic_with_therapist(url, clinic="Fuzz Clinic", email=EMAIL, password=PASSWORD)


def _created(client: TestClient, path: str, body: dict[str, Any]) -> str:
    response = client.post(path, json=body)
    assert response.status_code == 201, f"{path}: {response.text}"
    return str(response.json()["id"])


def _seed_records(client: TestClient) -> dict[str, list[str]]:
    """Two patients, each with an episode, a started visit, an area and an adverse event."""
    ids: dict[str, list[str]] = {k: [] for k in ("patient_id", "episode_id", "visit_id")}
    ids |= {"area_id": [], "event_id": []}
    answers = {r.id: {"present": False} for r in catalog.screening_rules()}
    for n in range(2):
        pid = _created(
            client,
            "/api/v1/patients",
            {"given_name": "Fuzz", "family_name": f"Seed{n}", "birth_date": "1975-02-03",
             "sex": "female"},
        )  # fmt: skip
        eid = _created(
            client,
            f"/api/v1/patients/{pid}/episodes",
            {"condition_code": "M77.11", "body_region": "elbow_forearm", "side": "right",
             "chronicity": "chronic", "primary_measure": "PRTEE"},
        )  # fmt: skip
        _created(client, f"/api/v1/episodes/{eid}/screenings", {"answers": answers})
        sha = client.get(f"/api/v1/episodes/{eid}/consent-text").json()["sha256"]
        _created(
            client, f"/api/v1/episodes/{eid}/consents", {"decision": "granted", "shown_sha256": sha}
        )
        recheck = recheck_clear()
        vid = _created(
            client, f"/api/v1/episodes/{eid}/visits", {"tolerance_limit": 8, "recheck": recheck}
        )
        aid = _created(
            client,
            f"/api/v1/visits/{vid}/areas",
            {"body_site": "lateral_elbow", "side": "right", "instrument_type": "stainless_steel",
             "strokes": ["sweep"]},
        )  # fmt: skip
        ev = _created(
            client,
            f"/api/v1/patients/{pid}/adverse-events",
            {"category": "bruise", "severity": "mild", "description": "Seeded event"},
        )
        for key, value in zip(ids, (pid, eid, vid, aid, ev), strict=True):
            ids[key].append(value)
    return ids


PG_ENV = "STRIGIL_FUZZ_DATABASE_URL"


def _fresh_postgres(url: str) -> str:
    """An empty ``<name>_fuzz`` database on the server ``url`` names."""
    parsed = make_url(url)
    scratch = parsed.set(database=f"{parsed.database}_fuzz")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{scratch.database}"'))
    finally:
        admin.dispose()
    return scratch.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    pg = os.environ.get(PG_ENV)
    url = _fresh_postgres(pg) if pg else f"sqlite:///{data_dir / 'fuzz.db'}"
    migrate.upgrade(url, "head")
    _seed_user(url)
    settings = Settings(database_url=url, data_dir=data_dir, login_max_failures=10_000)
    app = create_app(settings)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        login = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
        assert login.status_code == 200, login.text
        client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        token = client.post("/api/v1/auth/tokens", json={"name": "fuzz"}).json()["token"]
        ids = _seed_records(client)
    yield FuzzTarget(app=app, headers={"Authorization": f"Bearer {token}"}, ids=ids)
    app.state.engine.dispose()


@pytest.fixture(scope="session")
def fuzz_counts(request: pytest.FixtureRequest) -> dict[str, int]:
    """Cases run per fuzzer; shown in the terminal summary for the release notes."""
    return request.config.stash.setdefault(COUNTS, {})


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    counts = config.stash.get(COUNTS, {})
    if counts:
        terminalreporter.section("fuzzing")
        for name, n in sorted(counts.items()):
            terminalreporter.write_line(f"{name}: {n} cases")
        total = sum(n for name, n in counts.items() if "known" not in name)
        terminalreporter.write_line(f"total: {total} generated cases")
