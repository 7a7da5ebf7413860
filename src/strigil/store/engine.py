"""Engine and session factory for SQLite (default) and PostgreSQL.

SQLite gets WAL (readers do not block the writer), foreign keys on (off by default in
SQLite) and a busy timeout (concurrent writers wait instead of failing at once).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so SAVEPOINTs
    # nest properly (the pysqlite workaround in SQLAlchemy's SQLite dialect documentation).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # Every request writes (the audit trail does), so take the write lock up front: a
    # deferred transaction that upgrades to a writer fails at once instead of waiting.
    # Sent straight to the driver: it runs on every request, and SQLAlchemy's statement
    # machinery cost more than the statement itself.
    try:
        connection.connection.driver_connection.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as error:  # still busy after the timeout, or the file is gone
        raise DBAPIError.instance("BEGIN IMMEDIATE", None, error, sqlite3.Error) from error


def is_sqlite(url: str) -> bool:
    """Whether a database URL names SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite files get their folder created and their pragmas set."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # No pre-ping round trip per request: a connection lost with the server raises a
    # disconnect error, SQLAlchemy invalidates the pool, and the next request reconnects.
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory; objects stay usable after commit so adapters can render them."""
    return sessionmaker(bind=engine, expire_on_commit=False)
