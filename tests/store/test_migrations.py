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


def test_one_chart_migration_fills_the_match_keys_of_existing_patients(
    db_url: str, tmp_path: object, engine: Engine
) -> None:
    url = _scratch_url(db_url, tmp_path)
    migrate.upgrade(url, "9c4d1e7a2b60")
    scratch = make_engine(url)
    with scratch.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO clinic (external_id, created_at, name, timezone) "
                "VALUES (:u, :t, 'C', 'UTC')"
            ),
            {"u": "0" * 32, "t": "2026-01-01 00:00:00+00:00"},
        )
        clinic_id = conn.scalar(text("SELECT id FROM clinic"))
        conn.execute(
            text(
                "INSERT INTO patient (external_id, created_at, clinic_id, version, updated_at, "
                "record_number, given_name, family_name, birth_date, sex, phone, email) VALUES "
                "(:u, :t, :c, 1, :t, 'P-1', ' José ', 'NÚÑEZ', '1975-03-09', 'male', "
                "'+1 (555) 010-2000', ' Jose@Example.ORG ')"
            ),
            {"u": "1" * 32, "t": "2026-01-01 00:00:00+00:00", "c": clinic_id},
        )
    scratch.dispose()
    migrate.upgrade(url, "head")
    scratch = make_engine(url)
    with scratch.connect() as conn:
        row = conn.execute(text("SELECT name_key, phone_digits, email_key FROM patient")).one()
    scratch.dispose()
    assert tuple(row) == ("jose|nunez", "15550102000", "jose@example.org")
