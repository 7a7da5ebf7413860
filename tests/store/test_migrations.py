"""Migrations: down to base and back up on both databases, and no drift from the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from strigil.store import migrate
from strigil.store.engine import is_sqlite, make_engine
from strigil.store.models import Base


def _scratch_url(db_url: str, tmp_path: object) -> str:
    """A separate database, so the shared test database is never migrated down."""
    if is_sqlite(db_url):
        return f"sqlite:///{tmp_path}/scratch.db"
    url = make_url(db_url)
    scratch = url.set(database=f"{url.database}_scratch")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch.database}"'))
        conn.execute(text(f'CREATE DATABASE "{scratch.database}"'))
    admin.dispose()
    return scratch.render_as_string(hide_password=False)


def test_upgrade_downgrade_upgrade_round_trip(
    db_url: str, tmp_path: object, engine: Engine
) -> None:
    url = _scratch_url(db_url, tmp_path)
    migrate.upgrade(url, "head")
    migrate.downgrade(url, "base")
    scratch = make_engine(url)
    assert set(inspect(scratch).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(url, "head")
    tables = set(inspect(scratch).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert migrate.is_current(scratch)
    scratch.dispose()


def test_autogenerate_finds_no_difference(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
