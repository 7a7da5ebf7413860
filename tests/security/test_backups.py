"""`strigil db backup` / `restore`: every backup is restored into a scratch database and
compared table by table; a copy that differs fails the command."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from tests.factories import make_clinic, make_patient, make_user
from typer.testing import CliRunner

from strigil.cli import app as cli
from strigil.services import backups
from strigil.store import migrate
from strigil.store.engine import make_engine, make_sessionmaker

runner = CliRunner()


def _seed(url: str, patients: int = 3) -> None:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        clinic = make_clinic(session)
        user = make_user(session, clinic)
        for _ in range(patients):
            make_patient(session, user)
        session.commit()
    engine.dispose()


def _count(url: str, table: str = "patient") -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        value = int(conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
    engine.dispose()
    return value


@pytest.fixture
def sqlite_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    migrate.upgrade(url)
    _seed(url)
    monkeypatch.setenv("STRIGIL_DATABASE_URL", url)
    monkeypatch.setenv("STRIGIL_DATA_DIR", str(tmp_path))
    return url


def test_backup_is_verified_and_restore_brings_it_back(sqlite_db: str, tmp_path: Path) -> None:
    out = tmp_path / "b.db"
    result = runner.invoke(cli, ["db", "backup", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "backup verified" in result.output and "patient" in result.output
    assert out.is_file()
    _seed(sqlite_db, patients=2)
    assert _count(sqlite_db) == 5
    restored = runner.invoke(cli, ["db", "restore", str(out), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert _count(sqlite_db) == 3
    assert _count(sqlite_db, "audit_event") > 0


def test_default_backup_path_is_in_the_data_dir(sqlite_db: str, tmp_path: Path) -> None:
    del sqlite_db
    result = runner.invoke(cli, ["db", "backup"])
    assert result.exit_code == 0, result.output
    assert list((tmp_path / "backups").glob("strigil-*.db"))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_backups_are_readable_by_their_owner_only(sqlite_db: str, tmp_path: Path) -> None:
    """A backup holds every record: 0600 files in 0700 folders, even under a lax umask."""
    del sqlite_db
    old = os.umask(0o022)
    try:
        assert runner.invoke(cli, ["db", "backup"]).exit_code == 0
        nested = tmp_path / "offsite" / "monthly" / "b.db"
        assert runner.invoke(cli, ["db", "backup", "-o", str(nested)]).exit_code == 0
    finally:
        os.umask(old)
    (written,) = (tmp_path / "backups").glob("strigil-*.db")
    assert _mode(written) == 0o600 and _mode(tmp_path / "backups") == 0o700
    assert _mode(nested) == 0o600
    assert _mode(nested.parent) == 0o700 and _mode(nested.parent.parent) == 0o700


def test_a_copy_that_differs_fails_the_backup(
    sqlite_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Simulate a damaged copy: the scratch restore loses a row, so verification must fail."""
    del sqlite_db
    real_copy = backups._copy_sqlite

    def lossy_copy(source: Path, target: Path) -> None:
        real_copy(source, target)
        if target.name == "restored.db":
            with sqlite3.connect(target) as conn:
                conn.execute("DELETE FROM patient WHERE id = (SELECT max(id) FROM patient)")
            conn.close()

    monkeypatch.setattr(backups, "_copy_sqlite", lossy_copy)
    result = runner.invoke(cli, ["db", "backup", "--output", str(tmp_path / "bad.db")])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "patient" in result.output


def test_restore_refuses_a_file_that_is_not_a_backup(sqlite_db: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    result = runner.invoke(cli, ["db", "restore", str(junk), "--yes"])
    assert result.exit_code == 2
    assert _count(sqlite_db) == 3


def test_restore_asks_before_replacing(sqlite_db: str, tmp_path: Path) -> None:
    out = tmp_path / "b.db"
    assert runner.invoke(cli, ["db", "backup", "-o", str(out)]).exit_code == 0
    _seed(sqlite_db, patients=1)
    answer = runner.invoke(cli, ["db", "restore", str(out)], input="n\n")
    assert answer.exit_code != 0
    assert _count(sqlite_db) == 4


def test_backup_will_not_overwrite_a_file(sqlite_db: str, tmp_path: Path) -> None:
    del sqlite_db
    out = tmp_path / "exists.db"
    out.write_text("keep me")
    result = runner.invoke(cli, ["db", "backup", "-o", str(out)])
    assert result.exit_code == 2 and "already exists" in result.output
    assert out.read_text() == "keep me"


def test_fingerprints_notice_a_changed_value() -> None:
    same = {"patient": (2, "a" * 64)}
    checks, problems = backups.compare(same, {"patient": (2, "b" * 64)})
    assert not checks[0].ok and problems == ["table patient differs after restore"]
    _, missing = backups.compare(same, {})
    assert missing == ["table patient is missing from the restored copy"]


def test_libpq_settings_keep_the_password_out_of_argv() -> None:
    env = backups.libpq_env("postgresql+psycopg://app:s3cret@db.invalid:5433/strigil")
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGDATABASE"]) == (
        "db.invalid",
        "5433",
        "app",
        "strigil",
    )
    assert env["PGPASSWORD"] == "s3cret"


@pytest.mark.postgres
def test_postgres_backup_and_restore(db_url: str, is_postgres: bool, tmp_path: Path) -> None:
    assert is_postgres, "deselected from the SQLite pass; must run against PostgreSQL"
    base = make_url(db_url)
    url = base.set(database=f"{base.database}_backup_src").render_as_string(hide_password=False)
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{make_url(url).database}"'))
    try:
        migrate.upgrade(url)
        _seed(url)
        report = backups.backup(url, tmp_path / "pg.dump")
        assert report.verified, report.problems
        assert _mode(tmp_path / "pg.dump") == 0o600
        assert {t.table for t in report.tables} >= {"patient", "audit_event", "alembic_version"}
        _seed(url, patients=2)
        tables = backups.restore(url, tmp_path / "pg.dump")
        assert tables["patient"][0] == 3
        assert _count(url) == 3
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        admin.dispose()
