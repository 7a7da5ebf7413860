"""Fault-injection plumbing: a scratch database, a real server subprocess, a bearer token.

These tests kill processes and cut sockets, so they never touch the shared test database:
SQLite gets a fresh file per test; PostgreSQL (when STRIGIL_TEST_DATABASE_URL is set, and
always for the outage test) gets its own scratch database ``<db>_fault``.
Everything binds to 127.0.0.1 and every wait has a deadline.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from tests import liveserver
from tests.factories import seed_clinic_with_therapist
from tests.liveserver import LOOPBACK, Server

from strigil.store import migrate

PG_ENV = "STRIGIL_TEST_DATABASE_URL"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/strigil_test"
PASSWORD = "synthetic-fault-pass-123"  # noqa: S105 - synthetic test account
EMAIL = "fault.therapist@fault.test"


def scratch_pg_url() -> str:
    """``<db>_fault`` on the server named by STRIGIL_TEST_DATABASE_URL (or the default)."""
    url = make_url(os.environ.get(PG_ENV) or PG_DEFAULT)
    return url.set(database=f"{url.database}_fault").render_as_string(hide_password=False)


def pg_reachable(url: str, timeout: float = 2.0) -> bool:
    parsed = make_url(url)
    try:
        with socket.create_connection((parsed.host or LOOPBACK, parsed.port or 5432), timeout):
            return True
    except OSError:
        return False


def require_pg(url: str) -> None:
    """A missing PostgreSQL fails the test: `make test` needs the server on loopback."""
    if pg_reachable(url):
        return
    pytest.fail(f"PostgreSQL at {make_url(url).host}:{make_url(url).port} is unreachable")


def recreate_pg(url: str) -> None:
    """Drop and create the scratch database (never anything but ``*_fault``)."""
    name = make_url(url).database or ""
    assert name.endswith("_fault"), name
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def seed_clinic(url: str) -> None:
    """One clinic with one therapist (EMAIL / PASSWORD)."""
    seed_clinic_with_therapist(url, clinic="Fault Clinic", email=EMAIL, password=PASSWORD)


@pytest.fixture
def fault_db_url(tmp_path: Path) -> str:
    """A freshly migrated database with a clinic and a therapist: SQLite or ``<db>_fault``."""
    if os.environ.get(PG_ENV):
        url = scratch_pg_url()
        require_pg(url)
        recreate_pg(url)
    else:
        url = f"sqlite:///{tmp_path / 'fault.db'}"
    migrate.upgrade(url, "head")
    seed_clinic(url)
    return url


def server_env(url: str, data_dir: Path) -> dict[str, str]:
    """Environment for a server or command on ``url``: the app as its login role."""
    env = dict(os.environ)
    env.update(
        STRIGIL_DATABASE_URL=liveserver.app_login_url(url),
        STRIGIL_ADMIN_DATABASE_URL=url,
        STRIGIL_DATA_DIR=str(data_dir),
        STRIGIL_LOG_LEVEL="WARNING",
    )
    return env


def start_server(url: str, data_dir: Path, timeout: float = 30.0) -> Server:
    """Start the real server against ``url``; return once /healthz says 200."""
    return liveserver.start_server(server_env(url, data_dir), data_dir, timeout=timeout)


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[list[Server]]:
    """Servers started by a test; every one is killed at teardown, whatever happened."""
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


def bearer_token(base_url: str) -> str:
    """Sign in as the seeded therapist and issue an API token (no CSRF needed with it)."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        login = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
        assert login.status_code == 200, login.text
        client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        issued = client.post("/api/v1/auth/tokens", json={"name": "fault-test"})
        assert issued.status_code == 201, issued.text
        return str(issued.json()["token"])
