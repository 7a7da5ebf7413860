"""The demo's instrumented areas: stored through the attach service, re-analysable from the file."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from strigil import demo
from strigil.sensors import analyze, parse_csv, parse_sidecar
from strigil.services import notes, sensors
from strigil.store.sensors import IntendedDose, SensorRecording
from strigil.store.visits import TreatedArea, Visit

ANCHOR = date(2026, 11, 2)


def test_demo_has_instrumented_areas_whose_dose_matches_the_kept_file(
    session: Session, tmp_path: Path
) -> None:
    demo.load(session=session, anchor=ANCHOR, data_dir=tmp_path)
    rows = session.scalars(select(SensorRecording)).all()
    assert 5 <= len(rows) <= 36
    therapists = Counter(
        session.scalar(
            select(Visit.therapist_id)
            .join(TreatedArea, TreatedArea.visit_id == Visit.id)
            .where(TreatedArea.id == row.treated_area_id)
        )
        for row in rows
    )
    assert len(therapists) == 1
    for row in rows:
        content = (tmp_path / row.stored_path).read_bytes()
        assert hashlib.sha256(content).hexdigest() == row.file_digest
        sidecar = parse_sidecar((tmp_path / row.stored_path).with_suffix(".json").read_text())
        dose = analyze(parse_csv(content.decode(), sidecar))
        assert row.strokes == dose.strokes > 0
        assert row.mean_force_n == dose.mean_force_n
        assert row.peak_force_n == dose.peak_force_n
        assert row.time_under_load_s == dose.time_under_load_s
        assert row.impulse_ns == dose.impulse_ns
        area = session.get(TreatedArea, row.treated_area_id)
        assert area is not None and area.status == "stopped"
        exceeded = row.force_cap_n is not None and (row.peak_force_n or 0) > row.force_cap_n
        assert row.cap_exceeded == exceeded


def test_demo_compares_some_doses_with_an_intended_dose(session: Session, tmp_path: Path) -> None:
    demo.load(session=session, anchor=ANCHOR, data_dir=tmp_path)
    intended = session.scalars(select(IntendedDose)).all()
    recorded = {r.treated_area_id for r in session.scalars(select(SensorRecording))}
    assert intended and {i.treated_area_id for i in intended} < recorded


def test_demo_holds_only_the_treating_pass_against_the_intended_dose(
    session: Session, tmp_path: Path
) -> None:
    demo.load(session=session, anchor=ANCHOR, data_dir=tmp_path)
    rows = session.scalars(select(SensorRecording).order_by(SensorRecording.id)).all()
    phases: dict[int, list[str]] = {}
    for row in rows:
        phases.setdefault(row.treated_area_id, []).append(row.phase)
    assert set(map(tuple, phases.values())) == {("exploring", "treating")}
    intended = {i.treated_area_id: notes.intended_fact(i)
                for i in session.scalars(select(IntendedDose))}  # fmt: skip
    verdicts = sensors.dose_comparisons(rows, intended)
    assert set(verdicts) == set(intended)
    for area_id, wanted in intended.items():
        (treating,) = [r for r in rows if r.treated_area_id == area_id and r.phase == "treating"]
        expected = wanted.deviations(notes.measured_fact(treating))
        assert verdicts[area_id] == ("; ".join(expected) or "as intended")
    # the short, light exploring pass would read "below the intended stroke count" everywhere
    exploring = {r.treated_area_id: wanted.deviations(notes.measured_fact(r))
                 for r in rows if r.phase == "exploring"
                 for wanted in [intended.get(r.treated_area_id)] if wanted}  # fmt: skip
    assert all("below the intended stroke count" in d for d in exploring.values())
    assert any(verdicts[a] != "; ".join(d) for a, d in exploring.items())


def test_demo_without_a_data_folder_has_no_recordings(session: Session) -> None:
    demo.load(session=session, patients=12, anchor=ANCHOR)
    assert session.scalars(select(SensorRecording)).first() is None
