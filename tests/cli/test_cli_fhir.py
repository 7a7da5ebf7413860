"""`strigil export fhir` and `strigil import fhir`: counts per type, clear errors, no partial
writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from strigil.cli import app
from strigil.store.clinics import Clinic
from strigil.store.patients import Patient

runner = CliRunner()
NORTHSIDE, RIVERSIDE = "Northside Physical Therapy", "Riverside Sports Rehab"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("STRIGIL_DATABASE_URL", url)
    monkeypatch.setenv("STRIGIL_DATA_DIR", str(tmp_path))
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["demo", "load", "--patients", "6", "--json"]).exit_code == 0
    return url


def _patients(url: str, clinic: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Patient.external_id).join(Clinic).where(Clinic.name == clinic)
            )
            return [str(r[0]) for r in rows]
    finally:
        engine.dispose()


def _count(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count(Patient.id))) or 0)
    finally:
        engine.dispose()


def _add_user_and_clinic(name: str) -> None:
    added = runner.invoke(
        app,
        [
            "user",
            "add",
            "--email",
            "it@copy.example",
            "--name",
            "IT",
            "--clinic",
            name,
            "--create-clinic",
            "--role",
            "admin",
            "--password",
            "long-enough-pass-1",
        ],
    )
    assert added.exit_code == 0, added.output


def test_export_a_patient_and_a_clinic_then_import_into_another_clinic(
    db: str, tmp_path: Path
) -> None:
    patient = _patients(db, NORTHSIDE)[0]
    out = tmp_path / "patient.json"
    one = runner.invoke(app, ["export", "fhir", "--patient", patient, "--out", str(out)])
    assert one.exit_code == 0, one.output
    assert "Patient" in one.output and json.loads(out.read_text())["resourceType"] == "Bundle"

    folder = tmp_path / "ndjson"
    bulk = runner.invoke(app, ["export", "fhir", "--clinic", NORTHSIDE, "--ndjson", str(folder)])
    assert bulk.exit_code == 0, bulk.output
    assert (folder / "Patient.ndjson").exists() and "Encounter" in bulk.output

    _add_user_and_clinic("Copy")
    imported = runner.invoke(app, ["import", "fhir", str(folder), "--clinic", "Copy"])
    assert imported.exit_code == 0, imported.output
    assert len(_patients(db, "Copy")) == len(_patients(db, NORTHSIDE))
    again = runner.invoke(app, ["import", "fhir", str(folder), "--clinic", "Copy"])
    assert again.exit_code == 0 and "skipped" in again.output
    assert len(_patients(db, "Copy")) == len(_patients(db, NORTHSIDE))


def test_bad_input_is_named_and_changes_nothing(db: str, tmp_path: Path) -> None:
    before = _count(db)
    folder = tmp_path / "ndjson"
    runner.invoke(app, ["export", "fhir", "--clinic", NORTHSIDE, "--ndjson", str(folder)])

    unknown = runner.invoke(app, ["import", "fhir", str(folder), "--clinic", "Nowhere"])
    assert unknown.exit_code == 2 and "no clinic called 'Nowhere'" in unknown.output

    r5 = tmp_path / "r5.json"
    r5.write_text(
        json.dumps(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "meta": {"tag": [{"system": "http://hl7.org/fhir/FHIR-version", "code": "5.0.0"}]},
            }
        )
    )
    wrong = runner.invoke(app, ["import", "fhir", str(r5), "--clinic", RIVERSIDE])
    assert wrong.exit_code == 2 and "wrong_fhir_version" in wrong.output

    theirs = _patients(db, RIVERSIDE)[0]
    out = tmp_path / "x.json"
    foreign = runner.invoke(
        app, ["export", "fhir", "--patient", theirs, "--clinic", NORTHSIDE, "--out", str(out)]
    )
    assert foreign.exit_code == 2 and "patient_not_found" in foreign.output
    assert not out.exists()

    lines = (folder / "Patient.ndjson").read_text().splitlines()
    broken = json.loads(lines[0])
    broken["birthDate"] = "1980-13-45"
    (folder / "Patient.ndjson").write_text("\n".join([json.dumps(broken), *lines[1:]]) + "\n")
    invalid = runner.invoke(app, ["import", "fhir", str(folder), "--clinic", RIVERSIDE])
    assert invalid.exit_code == 2
    assert f"Patient.ndjson line 1 Patient/{broken['id']}: birthDate" in invalid.output
    assert _count(db) == before
