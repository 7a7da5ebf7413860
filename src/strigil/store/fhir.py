"""Queries of the FHIR interchange: a batch of patients' whole records, and bulk writes.

Why batches: a bulk export of a large clinic reads the record of a few hundred patients at a
time, one query per table for the whole batch (never one per patient), so memory stays flat
and the number of queries grows with the batches, not the patients. Rows entered in error,
and rows under a parent entered in error, are never read.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import JSON, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from strigil.store import revisions
from strigil.store.adverse_events import AdverseEvent
from strigil.store.clinics import Clinic, Instrument
from strigil.store.episodes import Consent, Episode
from strigil.store.outcomes import OutcomeMeasurement
from strigil.store.patients import Patient
from strigil.store.visits import (
    DiscomfortReading,
    ExercisePrescription,
    RestrictionFinding,
    SkinResponse,
    TreatedArea,
    Visit,
    VisitMeasurement,
)

M = TypeVar("M")


@dataclass(frozen=True, slots=True)
class RecordRows:
    """The live rows of a batch of patients, each list in the order recorded.

    Rows are plain column rows (read with the attribute names of the model's columns), not
    ORM objects: an export reads a million of them and never changes one, and skipping the
    identity map makes it several times faster and keeps memory flat.
    """

    patients: Sequence[Patient]
    episodes: Sequence[Episode]
    consents: Sequence[Consent]
    visits: Sequence[Visit]
    areas: Sequence[TreatedArea]
    readings: Sequence[DiscomfortReading]
    skin: Sequence[SkinResponse]
    findings: Sequence[RestrictionFinding]
    prescriptions: Sequence[ExercisePrescription]
    measurements: Sequence[VisitMeasurement]
    outcomes: Sequence[OutcomeMeasurement]
    adverse_events: Sequence[AdverseEvent]


def list_patients_after(
    session: Session,
    clinic_id: int,
    *,
    after_id: int,
    limit: int,
    keys: Sequence[uuid.UUID] | None = None,
) -> Sequence[Patient]:
    """The next ``limit`` live patients of the clinic with a row id above ``after_id`` (keyset
    paging, so a page costs the same at the end of a large clinic as at its start), only those
    with a public id in ``keys`` when given."""
    table: Any = Patient.__table__
    query = select(table).where(
        table.c.clinic_id == clinic_id, table.c.entered_in_error_at.is_(None), table.c.id > after_id
    )
    if keys is not None:
        query = query.where(table.c.external_id.in_(keys))
    rows = session.execute(query.order_by(table.c.id).limit(limit)).all()
    return cast(Sequence[Patient], rows)


def find_patient(session: Session, clinic_id: int, key: uuid.UUID) -> Patient | None:
    """The clinic's live patient with public id ``key``, if any."""
    return session.scalar(
        select(Patient).where(
            Patient.external_id == key,
            Patient.clinic_id == clinic_id,
            Patient.entered_in_error_at.is_(None),
        )
    )


def find_patient_anywhere(session: Session, key: uuid.UUID) -> Patient | None:
    """The live patient with public id ``key`` in whichever clinic holds it (operator CLI)."""
    return session.scalar(
        select(Patient).where(Patient.external_id == key, Patient.entered_in_error_at.is_(None))
    )


def count_patients(
    session: Session, clinic_id: int, keys: Sequence[uuid.UUID] | None = None
) -> int:
    """The clinic's live patients, only those with a public id in ``keys`` when given."""
    query = select(func.count(Patient.id)).where(
        Patient.clinic_id == clinic_id, Patient.entered_in_error_at.is_(None)
    )
    if keys is not None:
        query = query.where(Patient.external_id.in_(keys))
    return int(session.scalar(query) or 0)


def _live(
    session: Session, model: type[M], clinic_id: int, parent: Any, ids: Sequence[int]
) -> Sequence[M]:
    """Rows of ``model`` of the clinic under the parents ``ids`` that are not entered in error."""
    if not ids:
        return []
    table: Any = model.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        select(table)
        .where(
            parent.in_(ids), table.c.clinic_id == clinic_id, table.c.entered_in_error_at.is_(None)
        )
        .order_by(table.c.id)
    ).all()
    return cast(Sequence[M], rows)


def load_records(session: Session, clinic_id: int, patients: Sequence[Patient]) -> RecordRows:
    """Everything recorded for ``patients`` (one query per table), without rows entered in
    error or rows whose episode, visit or treated area was entered in error."""
    pids = [p.id for p in patients]
    episodes = _live(session, Episode, clinic_id, Episode.patient_id, pids)
    eids = [e.id for e in episodes]
    visits = _live(session, Visit, clinic_id, Visit.episode_id, eids)
    vids = [v.id for v in visits]
    areas = _live(session, TreatedArea, clinic_id, TreatedArea.visit_id, vids)
    aids = [a.id for a in areas]
    outcomes = [
        o
        for o in _live(session, OutcomeMeasurement, clinic_id, OutcomeMeasurement.episode_id, eids)
        if o.visit_id is None or o.visit_id in set(vids)
    ]
    return RecordRows(
        patients=patients,
        episodes=episodes,
        consents=_live(session, Consent, clinic_id, Consent.episode_id, eids),
        visits=visits,
        areas=areas,
        readings=_live(
            session, DiscomfortReading, clinic_id, DiscomfortReading.treated_area_id, aids
        ),
        skin=_live(session, SkinResponse, clinic_id, SkinResponse.treated_area_id, aids),
        findings=_live(session, RestrictionFinding, clinic_id, RestrictionFinding.visit_id, vids),
        prescriptions=_live(
            session, ExercisePrescription, clinic_id, ExercisePrescription.visit_id, vids
        ),
        measurements=_live(session, VisitMeasurement, clinic_id, VisitMeasurement.visit_id, vids),
        outcomes=outcomes,
        adverse_events=_adverse_events(session, clinic_id, pids, set(vids)),
    )


def _adverse_events(
    session: Session, clinic_id: int, pids: Sequence[int], vids: set[int]
) -> list[AdverseEvent]:
    rows = _live(session, AdverseEvent, clinic_id, AdverseEvent.patient_id, pids)
    return [e for e in rows if e.visit_id is None or e.visit_id in vids]


def list_instruments_by_id(session: Session, clinic_id: int) -> dict[int, Instrument]:
    """Instrument id → instrument for the clinic (retired ones included: old visits used them)."""
    rows = session.scalars(select(Instrument).where(Instrument.clinic_id == clinic_id))
    return {i.id: i for i in rows}


# ------------------------------------------------------------------ import


def find_clinic(session: Session, name_or_key: str) -> Clinic | None:
    """The clinic called ``name_or_key``, or with that public id (operator commands)."""
    try:
        key = uuid.UUID(name_or_key)
    except ValueError:
        return session.scalar(select(Clinic).where(Clinic.name == name_or_key))
    return session.scalar(select(Clinic).where(Clinic.external_id == key))


def record_numbers(session: Session, clinic_id: int, numbers: Sequence[str]) -> dict[str, int]:
    """Record number → patient row id for those of ``numbers`` the clinic already holds
    (entered-in-error patients included: their number is taken)."""
    if not numbers:
        return {}
    rows = session.execute(
        select(Patient.record_number, Patient.id).where(
            Patient.clinic_id == clinic_id, Patient.record_number.in_(numbers)
        )
    )
    return {str(number): int(pid) for number, pid in rows}


def insert_rows(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` of ``model``; their new row ids, in the same order.

    A Core insert on the table, not the ORM's bulk insert: the ORM groups rows by which of
    their values are None and splices each group's RETURNING rows onto all those before, which
    grows with the square of the rows. The new ids are matched to the rows by public id, not
    by RETURNING order, because asking for that order makes SQLite insert one row at a time.
    """
    if not rows:
        return []
    table = cast(Table, model.__table__)
    keyed = [r if "external_id" in r else {**r, "external_id": uuid.uuid4()} for r in rows]
    if session.get_bind().dialect.name == "postgresql":
        found = _insert_unnest(session, table, keyed)
    else:
        statement = insert(table).returning(table.c.external_id, table.c.id)
        found = {key: int(row_id) for key, row_id in session.execute(statement, keyed)}
    return [found[r["external_id"]] for r in keyed]


def _insert_unnest(
    session: Session, table: Table, rows: Sequence[dict[str, Any]]
) -> dict[uuid.UUID, int]:
    """One ``INSERT ... SELECT FROM unnest(arrays)`` for all ``rows`` on PostgreSQL.

    Why: a multi-row VALUES statement carries one parameter per cell, so psycopg parses its
    text again on every execute (it caches only statements of at most 50 parameters) and
    sends a page of rows per round trip; one array per column keeps the statement short,
    cached and prepared, and sends the whole chunk at once. Column defaults set in Python
    (version, timestamps) are applied here, as a Core insert would.
    """
    dialect = session.get_bind().dialect
    columns = [c for c in table.columns if c.key in rows[0] or _python_default(c)]
    arrays: dict[str, list[Any]] = {}
    for column in columns:
        process = _json_text(column) if isinstance(column.type, JSON) else None
        process = process or column.type.bind_processor(dialect)
        if column.key in rows[0]:
            values = [row[column.key] for row in rows]
        else:
            values = [_default(column.default) for _ in rows]
        arrays[column.key] = [process(v) for v in values] if process else values
    names = ", ".join(dialect.identifier_preparer.quote(c.name) for c in columns)
    casts = ", ".join(f"%({c.key})s::{_array_type(c, dialect)}[]" for c in columns)
    sql = (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) "
        f"SELECT * FROM unnest({casts}) RETURNING external_id, id"
    )
    result = session.connection().exec_driver_sql(sql, arrays)
    revisions.note_bulk_write(session)  # below the ORM: no flush or statement event sees it
    return {key: int(row_id) for key, row_id in result}


def _json_text(column: Any) -> Callable[[Any], str | None]:
    """JSON values as text (the array cast parses it), None as JSON null as a Core insert
    would store it unless the column keeps None as SQL NULL."""
    as_null = bool(column.type.none_as_null)

    def dump(value: Any) -> str | None:
        return None if value is None and as_null else json.dumps(value)

    return dump


def _python_default(column: Any) -> bool:
    default = column.default
    return default is not None and (default.is_scalar or default.is_callable)


def _default(default: Any) -> Any:
    """A column default's value: SQLAlchemy wraps a callable default to take a context."""
    arg = default.arg
    return arg(None) if callable(arg) else arg


def _array_type(column: Any, dialect: Any) -> str:
    """The column's SQL type for the array cast (JSON travels as text, which casts to it)."""
    return str(column.type.compile(dialect=dialect))


def update_visits(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Write each row's fields into the visit with row id ``id`` (one statement per chunk)."""
    table = cast(Table, Visit.__table__)
    for start in range(0, len(rows), 1000):
        chunk = [
            {"row_id": r["id"], **{k: v for k, v in r.items() if k != "id"}}
            for r in rows[start : start + 1000]
        ]
        session.execute(update(table).where(table.c.id == bindparam("row_id")), chunk)
