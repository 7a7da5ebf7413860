"""The demo load: the same rows whatever the number of worker processes, notes sealed as
they are written, and every patient inside its own id block."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from strigil import demo
from strigil.demo import chunks
from strigil.demo.rows import Batch, Ids
from strigil.services import notes
from strigil.store.visits import Visit

ANCHOR = date(2026, 11, 2)
LOADER = importlib.import_module("strigil.demo.load")  # the module, not the function


def test_worker_processes_write_the_same_rows_as_one_process(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LOADER, "CHUNK", 5)  # three chunks, so order across workers counts
    alone = demo.load(session=session, patients=13, anchor=ANCHOR, hash_content=True, workers=0)
    session.rollback()
    shared = demo.load(session=session, patients=13, anchor=ANCHOR, hash_content=True, workers=2)
    assert shared.rows == alone.rows > 13
    assert shared.content_hash == alone.content_hash


def test_demo_notes_are_sealed_as_they_are_written(session: Session) -> None:
    demo.load(session=session, patients=30, anchor=ANCHOR)
    signed = session.scalar(select(func.count(Visit.id)).where(Visit.status == "signed"))
    result = notes.verify(session=session)
    assert signed and result.checked == signed
    assert result.changed == ()
    assert notes.seal_unsealed(session=session) == 0
    visit = session.scalars(select(Visit).where(Visit.status == "signed").limit(1)).one()
    assert visit.signer_name is not None and visit.signer_name.startswith("Therapist")
    assert visit.signer_role == "therapist" and visit.signer_credentials == "PT, DPT"


def test_a_patient_cannot_take_ids_beyond_its_block() -> None:
    ids = Ids.block({"visit": 100}, {"visit": 2}, index=3)
    assert [ids.take("visit"), ids.take("visit")] == [106, 107]
    with pytest.raises(OverflowError, match="visit"):
        ids.take("visit")


def test_copy_text_escapes_what_postgresql_reads_as_structure() -> None:
    when = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    row = {
        "id": 7,
        "external_id": UUID(int=1),
        "notes": "tab\there\nnew line \\ back\rslash",
        "birth_date": date(1990, 5, 17),
        "phone": None,
        "created_at": when,
    }
    (table,) = chunks.encode(_batch("patient", [row]), chunks.POSTGRESQL)
    assert table.columns == tuple(row)
    assert table.payload == (
        b"7\t00000000-0000-0000-0000-000000000001\t"
        b"tab\\there\\nnew line \\\\ back\\rslash\t1990-05-17\t\\N\t2026-11-02T08:30:00+00:00\n"
    )
    visit = {"id": 1, "techniques": ["iastm"], "reliability_check": True, "number": 2}
    (table,) = chunks.encode(_batch("visit", [visit]), chunks.POSTGRESQL)
    assert table.payload == b'1\t["iastm"]\tt\t2\n'


def test_rows_of_one_table_must_share_their_columns() -> None:
    rows = [{"id": 1, "notes": "a"}, {"id": 2}]
    with pytest.raises(ValueError, match="columns"):
        chunks.encode(_batch("patient", rows), chunks.POSTGRESQL)


def _batch(table: str, rows: list[dict[str, Any]]) -> Batch:
    batch = Batch()
    for row in rows:
        batch.add(table, row)
    return batch
