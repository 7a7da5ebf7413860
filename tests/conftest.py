"""Database fixtures: one migrated database per run, one rolled-back transaction per test.

The suite runs on SQLite by default and on PostgreSQL when STRIGIL_TEST_DATABASE_URL names
one. A PostgreSQL that cannot be reached fails the run: a skip is indistinguishable from a
pass in a job log.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from strigil.config import Settings
from strigil.store import migrate
from strigil.store.engine import make_engine
from strigil.web.app import create_app

PG_ENV = "STRIGIL_TEST_DATABASE_URL"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL-only tests are deselected from the SQLite pass (they run in the PostgreSQL
    pass of `make test`), so neither pass reports a skip."""
    if os.environ.get(PG_ENV):
        return
    keep = [item for item in items if item.get_closest_marker("postgres") is None]
    dropped = [item for item in items if item.get_closest_marker("postgres") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def _ensure_pg_database(url: str) -> None:
    """Create the test database if the server lacks it; fail loudly if there is no server."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
            )
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.exit(f"PostgreSQL named by {PG_ENV} is not reachable: {exc}", returncode=3)
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get(PG_ENV)
    if url:
        _ensure_pg_database(url)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'strigil-test.db'}"


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    """A database migrated from empty to head for this run."""
    migrate.downgrade(db_url, "base") if _has_schema(db_url) else None
    migrate.upgrade(db_url, "head")
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _has_schema(url: str) -> bool:
    probe = make_engine(url)
    try:
        with probe.connect() as conn:
            return bool(probe.dialect.has_table(conn, "alembic_version"))
    finally:
        probe.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    """Sessions that commit into savepoints of the test's outer transaction."""
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    s = session_factory()
    yield s
    s.close()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, data_dir=tmp_path)


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker[Session]) -> FastAPI:
    application = create_app(settings)
    application.state.sessionmaker = session_factory
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def is_postgres(db_url: str) -> bool:
    return db_url.startswith("postgresql")


@pytest.fixture(autouse=True)
def _computations_finish_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests read finished results; the pending path has its own tests."""
    from strigil.services import computations

    monkeypatch.setattr(computations, "WAIT_SECONDS", 120.0)
