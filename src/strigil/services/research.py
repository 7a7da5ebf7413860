"""The de-identified research export: one clinic's clinical tables as Parquet, with a dictionary.

The rules of what leaves and how it is disguised are in :mod:`strigil.core.deidentify` and
:mod:`strigil.core.research`; this module reads the rows through the store a batch at a time,
applies them, and writes each table with pyarrow's ParquetWriter (one row group per batch), so
memory stays flat however large the clinic. Everything is written into a hidden sibling folder
first and moved into place at the end: a failed export leaves nothing behind.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from strigil.core import research as spec
from strigil.core.deidentify import Pseudonymizer, age_group, new_salt
from strigil.errors import InvalidInput, NotFound
from strigil.services import audit
from strigil.store import research as store

__all__ = ["ExportSummary", "export"]

BATCH_ROWS = 2000
Row = Mapping[Any, Any]
Progress = Callable[[int], None]

_ARROW = {
    "string": pa.string(),
    "int32": pa.int32(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "list<string>": pa.list_(pa.string()),
}


@dataclass(frozen=True, slots=True)
class ExportSummary:
    export_id: str
    clinic: str
    out: Path
    counts: dict[str, int]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _clinic(session: Session, wanted: str) -> tuple[int, str]:
    """The clinic called ``wanted``, by name or by slug (``northside-physical-therapy``)."""
    for clinic_id, name in store.list_clinics(session):
        if wanted in (name, _slug(name)):
            return clinic_id, name
    raise NotFound(f"no clinic named {wanted!r}", field="clinic", code="clinic_not_found")


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"{out} is a file, not a folder", field="out", code="out_not_folder")
    if out.is_dir() and any(out.iterdir()):
        raise InvalidInput(
            f"{out} is not empty; choose a new or empty folder", field="out", code="out_not_empty"
        )
    if not out.parent.is_dir():
        raise InvalidInput(f"{out.parent} does not exist", field="out", code="out_no_parent")


def schema(table: spec.Table) -> pa.Schema:
    """The Parquet schema of one table, from the dictionary."""
    return pa.schema([pa.field(c.name, _ARROW[c.type], nullable=c.nullable) for c in table.columns])


# ------------------------------------------------------------------------- row mapping


class _Rows:
    """Turns store rows into export rows with one export's keys and date shifts."""

    def __init__(self, keys: Pseudonymizer) -> None:
        self.keys = keys
        self._area: object = None
        self._sequence = 0

    def _key(self, kind: str, value: object) -> str | None:
        return None if value is None else self.keys.key(kind, value)

    def _day(self, patient: object, when: datetime | date | None) -> date | None:
        day = when.date() if isinstance(when, datetime) else when
        return self.keys.shift(patient, day)

    @staticmethod
    def _days(start: date | None, end: datetime | date | None) -> int | None:
        if start is None or end is None:
            return None
        end_day = end.date() if isinstance(end, datetime) else end
        return (end_day - start).days

    def _common(self, r: Row) -> dict[str, Any]:
        return {
            "patient_key": self._key("patient", r["patient"]),
            "episode_key": self._key("episode", r["episode"]),
        }

    def episodes(self, r: Row) -> dict[str, Any]:
        onset = self._days(r["onset_on"], r["started_on"])
        return self._common(r) | {
            "therapist_key": self._key("user", r["therapist"]),
            "sex": r["sex"],
            "age_at_start": age_group(r["birth_date"], r["started_on"]),
            **{k: r[k] for k in ("condition_code", "condition_title", "condition_group")},
            **{k: r[k] for k in ("body_region", "side", "chronicity", "primary_measure")},
            "approach": r["approach"],
            "status": r["status"],
            "start_date": self._day(r["patient"], r["started_on"]),
            "end_date": self._day(r["patient"], r["ended_on"]),
            "onset_days_before_start": onset,
            "length_days": self._days(r["started_on"], r["ended_on"]),
        }

    def visits(self, r: Row) -> dict[str, Any]:
        ended, started = r["ended_at"], r["started_at"]
        minutes = (ended - started).total_seconds() / 60 if ended else None
        return self._common(r) | {
            "visit_key": self._key("visit", r["visit"]),
            "therapist_key": self._key("user", r["therapist"]),
            "visit_number": r["number"],
            "visit_date": self._day(r["patient"], started),
            "day_of_episode": self._days(r["started_on"], started),
            "duration_minutes": minutes,
            "status": r["status"],
            "tolerance_limit": r["tolerance_limit"],
            "techniques": list(r["techniques"] or []),
            "reliability_check": bool(r["reliability_check"]),
        }

    def _visit_area(self, r: Row) -> dict[str, Any]:
        return self._common(r) | {
            "visit_key": self._key("visit", r["visit"]),
            "area_key": self._key("area", r["area"]),
        }

    def areas(self, r: Row) -> dict[str, Any]:
        names = ("body_site", "body_region", "side", "instrument_type", "angle_deg")
        return (
            self._visit_area(r)
            | {k: r[k] for k in names}
            | {
                "strokes": list(r["strokes"] or []),
                "intensity": r["intensity"],
                "seconds": r["seconds"],
                "status": r["status"],
                "stop_reason": r["stop_reason"],
                "warning_count": len(r["warnings"] or []),
            }
        )

    def findings(self, r: Row) -> dict[str, Any]:
        names = ("chart_view", "x", "y", "body_site", "side", "texture", "severity")
        return self._visit_area(r) | {k: r[k] for k in names}

    def readings(self, r: Row) -> dict[str, Any]:
        """Readings arrive ordered by area and time, so the sequence restarts at each area."""
        self._sequence = self._sequence + 1 if r["area"] == self._area else 1
        self._area = r["area"]
        return self._visit_area(r) | {
            "sequence": self._sequence,
            "value": r["value"],
            "patient_asked_to_stop": bool(r["patient_asked_to_stop"]),
        }

    def outcomes(self, r: Row) -> dict[str, Any]:
        return self._common(r) | {
            "visit_key": self._key("visit", r["visit"]),
            "measure": r["measure"],
            "registry_version": r["registry_version"],
            "score": float(r["score"]),
            "measured_date": self._day(r["patient"], r["measured_at"]),
            "day_of_episode": self._days(r["started_on"], r["measured_at"]),
            "visit_number": r["visit_number"],
        }

    def adverse_events(self, r: Row) -> dict[str, Any]:
        onset = r["onset_at"]
        return self._visit_area(r) | {
            "category": r["category"],
            "severity": r["severity"],
            "referral_made": bool(r["referral_made"]),
            "status": r["status"],
            "onset_date": self._day(r["patient"], onset),
            "days_to_resolution": self._days(onset.date(), r["resolved_at"]),
        }


# ------------------------------------------------------------------------- writing


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_table(
    path: Path, table: spec.Table, rows: Iterable[dict[str, Any]], tick: Progress
) -> int:
    """Write one table, one row group per batch; returns the number of rows."""
    table_schema = schema(table)
    written = 0
    with pq.ParquetWriter(path, table_schema, compression="zstd") as writer:
        for batch in _batches(rows, BATCH_ROWS):
            writer.write_batch(pa.RecordBatch.from_pylist(batch, schema=table_schema))
            written += len(batch)
            tick(len(batch))
    return written


def _manifest(export_id: str, counts: dict[str, int]) -> str:
    lines = [
        "# Strigil research export",
        "",
        f"Export id: `{export_id}`",
        "",
        "De-identified after HIPAA Safe Harbor (45 CFR 164.514(b)(2)); see `dictionary.md` for",
        "every column. Keys are valid only within this export: each export draws a new secret",
        "salt, which is not stored anywhere, so exports cannot be joined to each other or traced",
        "back to a record.",
        "",
        "| table | file | rows |",
        "| --- | --- | --- |",
        *(f"| {name} | {name}.parquet | {n} |" for name, n in counts.items()),
        "",
        "## Removed",
        "",
        *(f"- {item}" for item in spec.REMOVED),
        "",
    ]
    return "\n".join(lines)


def _write_all(
    session: Session, work: Path, clinic_id: int, keys: Pseudonymizer, tick: Progress
) -> dict[str, int]:
    mapper = _Rows(keys)
    counts = {}
    for table in spec.TABLES:
        convert: Callable[[Row], dict[str, Any]] = getattr(mapper, table.name)
        rows = (convert(r) for r in store.stream_rows(session, table.name, clinic_id))
        counts[table.name] = _write_table(work / f"{table.name}.parquet", table, rows, tick)
    return counts


def count(*, session: Session, clinic: str) -> dict[str, int]:
    """How many rows each table of ``clinic``'s export will hold (for a progress bar's total)."""
    clinic_id, _ = _clinic(session, clinic)
    return store.count_rows(session, clinic_id)


def export(
    *,
    session: Session,
    clinic: str,
    out: Path,
    progress: Progress | None = None,
    salt: bytes | None = None,
) -> ExportSummary:
    """Export ``clinic`` (by name or slug) de-identified into the new or empty folder ``out``.

    ``salt`` is for tests that need to link rows back; by default a fresh one is drawn.

    Raises:
        NotFound: no such clinic.
        InvalidInput: ``out`` is a file, is not empty, or its parent folder does not exist.
    """
    clinic_id, name = _clinic(session, clinic)
    out = out.resolve()
    _check_out(out)
    export_id = str(uuid.uuid4())
    work = out.parent / f".{out.name}.partial-{export_id}"
    work.mkdir()
    try:
        tick = progress or (lambda _n: None)
        counts = _write_all(session, work, clinic_id, Pseudonymizer(salt or new_salt()), tick)
        (work / "dictionary.json").write_text(spec.dictionary_json())
        (work / "dictionary.md").write_text(spec.dictionary_markdown())
        (work / "manifest.json").write_text(
            json.dumps(
                {"export_id": export_id, "counts": counts, "removed": spec.REMOVED}, indent=2
            )
        )
        (work / "README.md").write_text(_manifest(export_id, counts))
        if out.exists():
            out.rmdir()
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    audit.record(
        session=session,
        actor=None,
        clinic_id=clinic_id,
        action="export",
        entity_type="research_export",
        entity_id=export_id,
        detail={"counts": counts},
    )
    return ExportSummary(export_id, name, out, counts)
