"""Backups that are proven restorable: every backup is restored into a scratch database and
compared table by table (row count and a checksum of the rows in id order) with the source.

Why: an unverified backup is a hope, not a backup. SQLite uses the online backup API (safe
while the app runs); PostgreSQL uses ``pg_dump -Fc`` inside an exported snapshot, so the
checksums taken from the source describe exactly what the dump holds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

from strigil.errors import InvalidInput, StrigilError, Unavailable


@dataclass(frozen=True, slots=True)
class TableCheck:
    table: str
    source_rows: int
    restored_rows: int
    source_sha256: str
    restored_sha256: str

    @property
    def ok(self) -> bool:
        same_count = self.source_rows == self.restored_rows
        return same_count and self.source_sha256 == self.restored_sha256


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    size_bytes: int
    tables: list[TableCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.problems and all(t.ok for t in self.tables)


Fingerprint = dict[str, tuple[int, str]]


# --- fingerprints ---------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value) if value is not None else None


def fingerprint(conn: Connection) -> Fingerprint:
    """Per table: (row count, SHA-256 of its rows in primary-key order)."""
    out: Fingerprint = {}
    inspector = inspect(conn)
    for table in sorted(inspector.get_table_names()):
        columns = [c["name"] for c in inspector.get_columns(table)]
        keys = inspector.get_pk_constraint(table).get("constrained_columns") or columns
        quote = conn.dialect.identifier_preparer.quote
        order = ", ".join(quote(k) for k in keys)
        digest = hashlib.sha256()
        count = 0
        select_list = ", ".join(quote(c) for c in columns)
        result = conn.execution_options(stream_results=True, yield_per=1000).execute(
            text(f"SELECT {select_list} FROM {quote(table)} ORDER BY {order}")
        )
        for row in result:
            digest.update(json.dumps([_cell(v) for v in row]).encode())
            digest.update(b"\n")
            count += 1
        out[table] = (count, digest.hexdigest())
    return out


def compare(source: Fingerprint, restored: Fingerprint) -> tuple[list[TableCheck], list[str]]:
    """Table-by-table comparison, plus problems such as a table missing from the restore."""
    problems = [f"table {t} is missing from the restored copy" for t in source if t not in restored]
    problems += [f"table {t} appeared in the restored copy" for t in restored if t not in source]
    checks = [
        TableCheck(t, source[t][0], restored[t][0], source[t][1], restored[t][1])
        for t in sorted(source)
        if t in restored
    ]
    problems += [f"table {c.table} differs after restore" for c in checks if not c.ok]
    return checks, problems


def default_path(data_dir: Path, url: str) -> Path:
    """``<data_dir>/backups/strigil-<UTC time>.<db|dump>``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = "db" if _is_sqlite(url) else "dump"
    return data_dir / "backups" / f"strigil-{stamp}.{suffix}"


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def backup(url: str, output: Path) -> BackupReport:
    """Back up the database at ``url`` to ``output`` and verify the copy by restoring it.

    A backup holds every health record, so it is readable by its owner only: the file is
    created 0600 before a byte is written, and folders this creates are 0700.
    """
    if output.exists():
        raise InvalidInput(f"{output} already exists; choose another path", field="output")
    _private_folder(output.parent)
    if _is_sqlite(url):
        report = _sqlite_backup(url, output)
    else:
        _private_file(output)
        report = _pg_backup(url, output)
    output.chmod(PRIVATE_FILE)  # whatever the writer did, the copy stays private
    return report


PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def _private_folder(folder: Path) -> None:
    """Create ``folder`` and any missing parents as 0700 (the umask cannot widen them);
    folders that already exist are the operator's and keep their mode."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for path in reversed(missing):
        path.mkdir(mode=PRIVATE_FOLDER, exist_ok=True)
        path.chmod(PRIVATE_FOLDER)


def _private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600, so no other user can open it even while it fills."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    os.close(descriptor)
    path.chmod(PRIVATE_FILE)


def restore(url: str, path: Path) -> Fingerprint:
    """Replace the database at ``url`` with the backup at ``path``; returns what it now holds.

    The backup is checked to be readable before anything is overwritten.
    """
    if not path.is_file():
        raise InvalidInput(f"no backup file at {path}", field="path", code="not_found")
    if _is_sqlite(url):
        return _sqlite_restore(url, path)
    return _pg_restore(url, path)


# --- SQLite -------------------------------------------------------------------------------


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise InvalidInput("an in-memory SQLite database cannot be backed up", field="url")
    return Path(database)


def _fingerprint_sqlite(path: Path) -> Fingerprint:
    engine = create_engine(f"sqlite:///{path.as_posix()}")
    try:
        with engine.connect() as conn:
            return fingerprint(conn)
    finally:
        engine.dispose()


def _copy_sqlite(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _sqlite_backup(url: str, output: Path, attempts: int = 3) -> BackupReport:
    source = _sqlite_file(url)
    if not source.is_file():
        raise InvalidInput(f"no SQLite database at {source}", field="url", code="not_found")
    for _ in range(attempts):
        before = _fingerprint_sqlite(source)
        output.unlink(missing_ok=True)
        _private_file(output)
        _copy_sqlite(source, output)
        if _fingerprint_sqlite(source) == before:
            return _verify_sqlite(output, before)
    raise Unavailable("the database kept changing during the backup; try again when quieter")


def _verify_sqlite(output: Path, source: Fingerprint) -> BackupReport:
    with tempfile.TemporaryDirectory(prefix="strigil-verify-") as scratch:
        restored_path = Path(scratch) / "restored.db"
        _copy_sqlite(output, restored_path)
        checks, problems = compare(source, _fingerprint_sqlite(restored_path))
    return BackupReport(output, output.stat().st_size, checks, problems)


def _check_sqlite_backup(path: Path) -> None:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            ok = conn.execute("PRAGMA integrity_check").fetchone()
            has_schema = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'"
            ).fetchone()
        conn.close()
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"{path} is not a SQLite backup ({exc})", field="path") from None
    if not ok or ok[0] != "ok" or not has_schema:
        raise InvalidInput(f"{path} is not a readable Strigil backup", field="path")


def _sqlite_restore(url: str, path: Path) -> Fingerprint:
    _check_sqlite_backup(path)
    target = _sqlite_file(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    _copy_sqlite(path, target)
    return _fingerprint_sqlite(target)


# --- PostgreSQL ---------------------------------------------------------------------------


def libpq_env(url: str | URL) -> dict[str, str]:
    """Connection settings for pg_dump/pg_restore as environment variables (a password stays
    out of the process list)."""
    parsed = make_url(url)
    env = dict(os.environ)
    pairs = {
        "PGHOST": parsed.host,
        "PGPORT": str(parsed.port) if parsed.port else None,
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": parsed.database,
    }
    env.update({k: str(v) for k, v in pairs.items() if v})
    return env


def _run(args: list[str], env: dict[str, str]) -> None:
    tool = shutil.which(args[0])
    if tool is None:
        raise Unavailable(f"{args[0]} is not installed", code="tool_missing")
    # The arguments are built here from a parsed URL and a path, never from a shell string.
    done = subprocess.run(  # noqa: S603
        [tool, *args[1:]], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise StrigilError(f"{args[0]} failed: {done.stderr.strip()[:500]}", code="backup_failed")


def _pg_backup(url: str, output: Path) -> BackupReport:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
            snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
            source = fingerprint(conn)
            _run(
                ["pg_dump", "-Fc", f"--snapshot={snapshot}", "-f", str(output)],
                libpq_env(url),
            )
            conn.rollback()
    finally:
        engine.dispose()
    with _scratch_database(url) as scratch:
        _run(
            ["pg_restore", "--no-owner", "-d", scratch.database or "", str(output)],
            libpq_env(scratch),
        )
        restored = _pg_fingerprint(scratch)
    checks, problems = compare(source, restored)
    return BackupReport(output, output.stat().st_size, checks, problems)


def _pg_fingerprint(url: str | URL) -> Fingerprint:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return fingerprint(conn)
    finally:
        engine.dispose()


@contextmanager
def _scratch_database(url: str) -> Iterator[URL]:
    """A fresh ``<db>_verify`` database on the same server, dropped afterwards."""
    parsed = make_url(url)
    scratch = parsed.set(database=f"{parsed.database}_verify")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch.database}"'))
            conn.execute(text(f'CREATE DATABASE "{scratch.database}"'))
        yield scratch
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
        admin.dispose()


def _pg_restore(url: str, path: Path) -> Fingerprint:
    _run(["pg_restore", "--list", str(path)], libpq_env(url))
    _run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "-d",
            make_url(url).database or "",
            str(path),
        ],
        libpq_env(url),
    )
    return _pg_fingerprint(url)
