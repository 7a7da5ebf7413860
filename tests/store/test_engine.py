"""SQLite transactions take the write lock at BEGIN, and a lock still held when the busy
timeout ends is SQLAlchemy's OperationalError (which the request lifecycle answers with 503),
not a bare driver error."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from strigil.store import engine as engine_module
from strigil.store.engine import make_engine


def test_a_second_writer_waits_then_fails_as_sqlalchemy_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 50)
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    try:
        with engine.begin() as first:
            first.execute(text("CREATE TABLE t (x INTEGER)"))
        with engine.connect() as holder, engine.connect() as waiter:
            holder.begin()
            holder.execute(text("INSERT INTO t VALUES (1)"))
            with pytest.raises(OperationalError, match="locked"):
                waiter.begin()
            holder.commit()
            with waiter.begin():  # the lock is free again: BEGIN IMMEDIATE succeeds
                assert waiter.scalar(text("SELECT count(*) FROM t")) == 1
    finally:
        engine.dispose()
