"""Alembic environment: migrates the URL the caller sets (CLI, tests) or STRIGIL_DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from strigil.store.engine import is_sqlite, make_engine
from strigil.store.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("STRIGIL_DATABASE_URL")
    if not url:
        raise RuntimeError("no database URL: set STRIGIL_DATABASE_URL or sqlalchemy.url")
    return url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=is_sqlite(_url()),
        compare_type=True,
    )


def run_migrations_online() -> None:
    """Run against a live connection; an existing one (tests) is reused when given."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
