"""A chunk of demo patients built and encoded for writing, in this process or a worker.

A chunk is described by plain data (``ChunkSpec``), so a worker process started with the
spawn method can build it: the patients' rows (``patients.Generator``), then those rows in the
form the database takes fastest, so the process that writes only streams them. PostgreSQL gets
the text of a ``COPY ... FROM STDIN`` per table; SQLite gets tuples converted by SQLAlchemy's
own bind processors for each column, for one ``executemany`` per table.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Table, TypeDecorator
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

from strigil.demo.patients import Generator
from strigil.demo.rows import Batch, Signer, Staff
from strigil.store.models import Base

POSTGRESQL = "postgresql"


@dataclass(frozen=True, slots=True)
class ChunkSpec:
    """Patients ``start`` to ``stop`` (exclusive) of a load, and what their rows depend on."""

    seed: int
    anchor: date
    base: tuple[tuple[str, int], ...]  # first free id per table
    staff: tuple[Staff, ...]
    signers: tuple[tuple[int, Signer], ...]
    start: int
    stop: int
    dialect: str
    hashing: bool


@dataclass(frozen=True, slots=True)
class Encoded:
    """One table's rows of a chunk, ready to write: COPY text (bytes) or parameter tuples."""

    table: str
    columns: tuple[str, ...]
    payload: bytes | list[tuple[Any, ...]]
    count: int


@dataclass(frozen=True, slots=True)
class Chunk:
    stop: int
    tables: tuple[Encoded, ...]
    digest: str  # of the chunk's rows when hashing, else ""


def build(spec: ChunkSpec) -> Chunk:
    """Build and encode one chunk; the entry point of a worker process."""
    gen = _generator(spec.seed, spec.anchor, spec.base, spec.signers)
    batch = Batch()
    enabled = gc.isenabled()
    gc.disable()  # many short-lived dicts and no cycles: collection passes only cost time
    try:
        for index in range(spec.start, spec.stop):
            gen.patient(batch, spec.staff[index % len(spec.staff)], index)
        return Chunk(spec.stop, encode(batch, spec.dialect), digest_of(batch, spec.hashing))
    finally:
        if enabled:
            gc.enable()


@functools.lru_cache(maxsize=1)
def _generator(
    seed: int,
    anchor: date,
    base: tuple[tuple[str, int], ...],
    signers: tuple[tuple[int, Signer], ...],
) -> Generator:
    return Generator(seed=seed, anchor=anchor, base=dict(base), signers=dict(signers))


def digest_of(batch: Batch, hashing: bool) -> str:
    """SHA-256 of every row in table order (salted password hashes differ by design, so they
    stay out), or "" when not hashing."""
    if not hashing:
        return ""
    digest = hashlib.sha256()
    for table in Base.metadata.sorted_tables:
        for row in batch.rows.get(table.name, ()):
            digest.update(repr(sorted(i for i in row.items() if i[0] != "password_hash")).encode())
    return digest.hexdigest()


def encode(batch: Batch, dialect: str) -> tuple[Encoded, ...]:
    """The batch's tables in dependency order, each encoded for ``dialect``."""
    out = []
    for table in Base.metadata.sorted_tables:
        rows = batch.rows.get(table.name)
        if not rows:
            continue
        columns = tuple(rows[0])
        payload = (
            _copy_text(table, columns, rows)
            if dialect == POSTGRESQL
            else _tuples(table, columns, rows)
        )
        out.append(Encoded(table.name, columns, payload, len(rows)))
    return tuple(out)


def _checked(columns: tuple[str, ...], row: dict[str, Any]) -> None:
    if len(row) != len(columns):
        raise ValueError(f"a row with columns {sorted(row)} among rows with {sorted(columns)}")


# ------------------------------------------------------------------------------ PostgreSQL

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_SPECIAL = re.compile(r"[\\\t\n\r]").search
NULL = "\\N"


def _string(value: str) -> str:
    """Text in COPY's text format (PostgreSQL documentation, "COPY", File Formats): a
    backslash, tab, newline or carriage return is escaped; most values have none."""
    return value.translate(_ESCAPES) if _SPECIAL(value) else str.__str__(value)


def _boolean(value: bool) -> str:
    return "t" if value else "f"


def _iso(value: date) -> str:
    return value.isoformat()


def _json(value: Any) -> str:
    return _string(json.dumps(value))


def _remembered(write: Callable[[Any], str]) -> Callable[[Any], str]:
    """``write``, once per object: rows share values (a re-check's result is the same object
    at every visit with the same answers; a row's created and updated stamps are one object),
    and the rows keep every object alive while the chunk is encoded, so an id names it."""
    written: dict[int, str] = {}

    def text(value: Any) -> str:
        known = written.get(id(value))
        if known is None:
            known = written[id(value)] = write(value)
        return known

    return text


def _formatter(column_type: Any) -> Callable[[Any], str]:
    """How one column's values are written, chosen once per column from its SQL type."""
    if isinstance(column_type, JSON):
        return _remembered(_json)
    if isinstance(column_type, TypeDecorator):  # UTCDateTime: a timestamp underneath
        column_type = column_type.impl_instance
    python_type = column_type.python_type
    if python_type is bool:
        return _boolean
    if python_type in (datetime, date):
        return _remembered(_iso)
    if python_type is str:
        return _string
    return str  # integers, floats, UUIDs


def _copy_text(table: Table, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> bytes:
    formats = [_formatter(table.c[c].type) for c in columns]
    values = operator.itemgetter(*columns)
    lines = []
    for row in rows:
        _checked(columns, row)
        lines.append(
            "\t".join(
                [NULL if v is None else f(v) for f, v in zip(formats, values(row), strict=True)]
            )
        )
    lines.append("")
    return "\n".join(lines).encode("utf-8")


# ---------------------------------------------------------------------------------- SQLite


@functools.cache
def _sqlite_processors(table_name: str, columns: tuple[str, ...]) -> tuple[Callable[..., Any], ...]:
    """What SQLAlchemy's SQLite dialect does to each column's value before binding it."""
    dialect = SQLiteDialect_pysqlite()
    table = Base.metadata.tables[table_name]
    out = []
    for name in columns:
        column_type = table.c[name].type
        process = column_type.dialect_impl(dialect).bind_processor(dialect)
        out.append(process or _same)
    return tuple(out)


def _same(value: Any) -> Any:
    return value


def _tuples(
    table: Table, columns: tuple[str, ...], rows: list[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    processors = _sqlite_processors(table.name, columns)
    out = []
    for row in rows:
        _checked(columns, row)
        out.append(tuple([p(row[c]) for p, c in zip(processors, columns, strict=True)]))
    return out
