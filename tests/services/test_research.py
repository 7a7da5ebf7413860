"""The de-identified research export: nothing identifying leaves, and the data still analyses.

The demo clinic is exported and every Parquet cell is scanned for what must not leave: patient
and staff names, emails, phones, record numbers, database ids and UUIDs, and real dates. A
shifted date may by chance equal some *other* patient's real date, so real dates are checked
patient by patient: the test passes its own salt so it can compute each patient's key and find
their rows (a real export draws a fresh secret salt and forgets it).
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from strigil import demo
from strigil.core import research as spec
from strigil.core.deidentify import Pseudonymizer
from strigil.errors import InvalidInput, NotFound
from strigil.services import research
from strigil.store.adverse_events import AdverseEvent
from strigil.store.clinics import Clinic, User
from strigil.store.episodes import Episode
from strigil.store.outcomes import OutcomeMeasurement
from strigil.store.patients import Patient
from strigil.store.visits import TreatedArea, Visit

ANCHOR = date(2026, 11, 2)
CLINIC = "Northside Physical Therapy"
SALT = b"test-salt-not-for-real-exports!!"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "research-export.md"


@pytest.fixture
def clinic(session: Session) -> Clinic:
    """The demo, with contact details and one patient over 89 added so the test can look for
    them (the demo has neither)."""
    demo.load(session=session, patients=24, anchor=ANCHOR)
    found = session.scalar(select(Clinic).where(Clinic.name == CLINIC))
    assert found is not None
    people = session.scalars(select(Patient).where(Patient.clinic_id == found.id)).all()
    for i, p in enumerate(people):
        p.phone, p.email = f"555-01{i:02d}", f"{p.given_name.lower()}{i}@mail.test"
    people[0].birth_date = date(1931, 3, 14)
    session.flush()
    return found


def _tables(out: Path) -> dict[str, list[dict[str, Any]]]:
    return {t.name: pq.read_table(out / f"{t.name}.parquet").to_pylist() for t in spec.TABLES}


def _cells(tables: dict[str, list[dict[str, Any]]]) -> list[Any]:
    values: list[Any] = []
    for rows in tables.values():
        for row in rows:
            for v in row.values():
                values += v if isinstance(v, list) else [v]
    return values


def _forbidden_text(session: Session, clinic: Clinic) -> set[str]:
    people = session.scalars(select(Patient).where(Patient.clinic_id == clinic.id)).all()
    staff = session.scalars(select(User).where(User.clinic_id == clinic.id)).all()
    words = {f"{p.given_name} {p.family_name}" for p in people}
    words |= {p.family_name for p in people} | {p.record_number for p in people}
    words |= {x for p in people for x in (p.phone, p.email) if x}
    words |= {u.display_name for u in staff} | {u.email for u in staff}
    for model in (Patient, Episode, Visit, TreatedArea, User):
        ids = session.execute(select(model.id, model.external_id)).all()  # type: ignore[attr-defined]
        words |= {str(u) for _, u in ids} | {u.hex for _, u in ids}
    return words


def test_export_scan_finds_no_identifier(session: Session, clinic: Clinic, tmp_path: Path) -> None:
    out = tmp_path / "export"
    summary = research.export(session=session, clinic=CLINIC, out=out, salt=SALT)
    tables = _tables(out)
    assert {k: len(v) for k, v in tables.items()} == summary.counts
    assert all(summary.counts[t] > 0 for t in ("episodes", "visits", "areas", "readings"))
    strings = [v for v in _cells(tables) if isinstance(v, str)]
    forbidden = _forbidden_text(session, clinic)
    leaks = {w for w in forbidden for s in strings if w in s}
    assert not leaks
    assert not [s for s in strings if re.search(r"\d{4}-\d{2}-\d{2}", s)]
    births = {p.birth_date for p in session.scalars(select(Patient))}
    assert not births & {v for v in _cells(tables) if isinstance(v, date)}
    keys = [r[c] for rows in tables.values() for r in rows for c in r if c.endswith("_key")]
    assert all(k is None or re.fullmatch(r"[0-9a-f]{16}", k) for k in keys)


def _real_dates(session: Session, clinic: Clinic) -> dict[str, tuple[object, set[date]]]:
    """Each patient's key (under the test's salt) → (patient uuid, the real dates the export
    carries shifted: episode start and end, visits, outcome measurements, adverse events)."""
    keys = Pseudonymizer(SALT)
    out: dict[str, tuple[object, set[date]]] = {}
    for p in session.scalars(select(Patient).where(Patient.clinic_id == clinic.id)):
        episodes = session.scalars(select(Episode).where(Episode.patient_id == p.id)).all()
        days = {d for e in episodes for d in (e.started_on, e.ended_on) if d}
        days |= {
            v.started_at.date()
            for v in session.scalars(select(Visit).where(Visit.patient_id == p.id))
        }
        days |= {
            m.measured_at.date()
            for m in session.scalars(
                select(OutcomeMeasurement).where(OutcomeMeasurement.patient_id == p.id)
            )
        }
        days |= {
            a.onset_at.date()
            for a in session.scalars(select(AdverseEvent).where(AdverseEvent.patient_id == p.id))
        }
        out[keys.key("patient", p.external_id)] = (p.external_id, days)
    return out


def test_dates_are_shifted_consistently_within_each_patient(
    session: Session, clinic: Clinic, tmp_path: Path
) -> None:
    """One non-zero shift per patient maps all of their exported dates exactly onto their real
    ones, so intervals are kept and no row carries its real date. (A shifted date can still
    land on a day that is real for another visit, e.g. a shift of 7 days on weekly visits:
    that is the nature of a date shift, and why this check is per patient.)"""
    research.export(session=session, clinic=CLINIC, out=tmp_path / "x", salt=SALT)
    tables = _tables(tmp_path / "x")
    real = _real_dates(session, clinic)
    exported: dict[str, set[date]] = defaultdict(set)
    for rows in tables.values():
        for row in rows:
            exported[row["patient_key"]] |= {v for v in row.values() if isinstance(v, date)}
    assert exported
    for key, days in exported.items():
        patient, truth = real[key]
        shift = timedelta(days=Pseudonymizer(SALT).shift_days(patient))
        assert shift and {d - shift for d in days} == truth
    starts = {r["episode_key"]: r["start_date"] for r in tables["episodes"]}
    for v in tables["visits"]:
        assert (v["visit_date"] - starts[v["episode_key"]]).days == v["day_of_episode"]
    for o in tables["outcomes"]:
        assert (o["measured_date"] - starts[o["episode_key"]]).days == o["day_of_episode"]


def test_real_intervals_survive_the_shift(session: Session, clinic: Clinic, tmp_path: Path) -> None:
    research.export(session=session, clinic=CLINIC, out=tmp_path / "x", salt=SALT)
    tables = _tables(tmp_path / "x")
    keys = Pseudonymizer(SALT)
    for e in session.scalars(select(Episode).where(Episode.clinic_id == clinic.id)):
        row = next(
            r for r in tables["episodes"] if r["episode_key"] == keys.key("episode", e.external_id)
        )
        shift = (row["start_date"] - e.started_on).days
        assert shift == keys.shift_days(e.patient.external_id) != 0
        for v in session.scalars(select(Visit).where(Visit.episode_id == e.id)):
            out = next(
                r for r in tables["visits"] if r["visit_key"] == keys.key("visit", v.external_id)
            )
            assert (out["visit_date"] - v.started_at.date()).days == shift


def test_ages_over_89_are_grouped(session: Session, clinic: Clinic, tmp_path: Path) -> None:
    research.export(session=session, clinic=CLINIC, out=tmp_path / "x", salt=SALT)
    ages = [r["age_at_start"] for r in _tables(tmp_path / "x")["episodes"]]
    assert "90+" in ages
    assert all(a == "90+" or 0 <= int(a) <= 89 for a in ages)


def test_two_exports_share_no_pseudonym(session: Session, clinic: Clinic, tmp_path: Path) -> None:
    first = research.export(session=session, clinic=CLINIC, out=tmp_path / "a")
    second = research.export(session=session, clinic=CLINIC, out=tmp_path / "b")
    assert first.export_id != second.export_id
    a = {r["patient_key"] for r in _tables(tmp_path / "a")["episodes"]}
    b = {r["patient_key"] for r in _tables(tmp_path / "b")["episodes"]}
    assert a and b and not a & b


def test_free_text_columns_are_not_exported(tmp_path: Path) -> None:
    names = {c for t in spec.TABLES for c in t.column_names}
    text = {"goals", "notes", "description", "follow_up", "stop_note", "subjective", "plan"}
    assert not names & text
    assert not {"birth_date", "record_number", "given_name", "email", "phone"} & names


def test_bad_input_writes_nothing(session: Session, clinic: Clinic, tmp_path: Path) -> None:
    with pytest.raises(NotFound) as missing:
        research.export(session=session, clinic="No Such Clinic", out=tmp_path / "new")
    assert missing.value.field == "clinic"
    assert not (tmp_path / "new").exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    with pytest.raises(InvalidInput) as full:
        research.export(session=session, clinic=CLINIC, out=busy)
    assert full.value.code == "out_not_empty"
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]


def test_export_accepts_the_clinic_slug_and_writes_dictionary(
    session: Session, clinic: Clinic, tmp_path: Path
) -> None:
    out = tmp_path / "slug"
    out.mkdir()
    summary = research.export(session=session, clinic="northside-physical-therapy", out=out)
    assert summary.clinic == CLINIC
    names = {p.name for p in out.iterdir()}
    assert {"dictionary.json", "dictionary.md", "README.md", "manifest.json"} <= names
    for table in spec.TABLES:
        schema = pq.read_schema(out / f"{table.name}.parquet")
        assert tuple(schema.names) == table.column_names
        assert all(f"| {c} |" in (out / "dictionary.md").read_text() for c in table.column_names)


def _doc_queries() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)


def test_the_documented_duckdb_queries_run(
    session: Session, clinic: Clinic, tmp_path: Path
) -> None:
    """The worked queries of docs/research-export.md, run as written, so the docs cannot drift."""
    out = tmp_path / "x"
    research.export(session=session, clinic=CLINIC, out=out)
    queries = _doc_queries()
    assert len(queries) >= 2
    con = duckdb.connect()
    con.execute(f"SET file_search_path = '{out}'")
    by_visit, by_region = (con.execute(sql).fetchall() for sql in queries[:2])
    first = {}
    for measure, visit, _n, change in by_visit:
        first.setdefault(measure, (visit, change))
    assert first and all(change == 0 for _, change in first.values())
    areas = pq.read_table(out / "areas.parquet").num_rows
    assert sum(row[1] for row in by_region) == areas
