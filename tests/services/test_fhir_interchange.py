"""FHIR export and import on the demo clinic: valid, exact round trip, all or nothing."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories import actor

from strigil import demo
from strigil.errors import InvalidInput, NotFound
from strigil.services import clinics, fhir_export, fhir_import, notes, visits
from strigil.store import revisions
from strigil.store.audit import AuditEvent
from strigil.store.clinics import Clinic, Instrument, User
from strigil.store.outcomes import OutcomeMeasurement
from strigil.store.patients import Patient
from strigil.store.visits import TreatedArea, Visit, VisitMeasurement

ANCHOR = date(2026, 11, 2)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
EXPECTED_TYPES = {
    "Organization",
    "Practitioner",
    "Patient",
    "Condition",
    "Consent",
    "Encounter",
    "Procedure",
    "Observation",
    "QuestionnaireResponse",
    "CarePlan",
    "AdverseEvent",
    "DocumentReference",
}


@pytest.fixture
def northside(session: Session) -> Clinic:
    demo.load(session=session, patients=24, anchor=ANCHOR)
    clinic = session.scalar(select(Clinic).where(Clinic.name == "Northside Physical Therapy"))
    assert clinic is not None
    _add_instrument_and_test(session, clinic)
    notes.seal_unsealed(session=session)
    return clinic


def _add_instrument_and_test(session: Session, clinic: Clinic) -> None:
    """The demo records neither instruments nor pre/post tests: give one visit both."""
    area = session.scalar(
        select(TreatedArea).where(TreatedArea.clinic_id == clinic.id).order_by(TreatedArea.id)
    )
    assert area is not None
    blade = Instrument(clinic_id=clinic.id, label="Blade 1", type_code=area.instrument_type)
    session.add(blade)
    session.flush()
    area.instrument_id = blade.id
    test = VisitMeasurement(
        clinic_id=clinic.id,
        visit_id=area.visit_id,
        recorded_by_id=_therapist(session, clinic),
        kind="ppt",
        name="Pressure pain threshold",
        unit="kPa",
        higher_is_better=True,
        pre_value=310.0,
        post_value=355.5,
    )
    session.add(test)
    session.flush()


def _therapist(session: Session, clinic: Clinic) -> int:
    found = session.scalar(
        select(User.id).where(User.clinic_id == clinic.id, User.role == "therapist").limit(1)
    )
    assert found is not None
    return int(found)


def _export(session: Session, clinic: Clinic, out: Path, **filters: Any) -> dict[str, int]:
    return fhir_export.write_clinic(
        session=session, clinic=clinic, directory=out, filters=fhir_export.parse_filter(**filters)
    )


def _lines(folder: Path) -> list[dict[str, Any]]:
    """Every exported resource, in type order, ids replaced by their order of appearance and
    the note digest (which covers the visit's own id) left out: content, ids aside."""
    text = "\n".join(
        (folder / f"{kind}.ndjson").read_text()
        for kind in sorted(EXPECTED_TYPES | {"Device"})
        if (folder / f"{kind}.ndjson").exists()
    )
    seen: dict[str, str] = {}
    text = UUID.sub(lambda m: seen.setdefault(m.group(0), f"id-{len(seen)}"), text)
    out = [json.loads(line) for line in text.splitlines() if line]
    for resource in out:
        if resource["resourceType"] == "DocumentReference":
            resource.pop("extension")
    return out


def test_every_exported_resource_of_the_demo_clinic_validates(
    session: Session, northside: Clinic, tmp_path: Path
) -> None:
    counts = _export(session, northside, tmp_path)
    assert set(counts) == EXPECTED_TYPES | {"Device"}
    checked = fhir_import.validate_source(fhir_import.Source(tmp_path))
    assert checked.total_errors == 0, checked.errors
    assert checked.counts == counts
    patients = session.scalar(
        select(func.count(Patient.id)).where(Patient.clinic_id == northside.id)
    )
    assert counts["Patient"] == patients


def test_a_patient_bundle_carries_the_note_pdf_and_validates(
    session: Session, northside: Clinic, tmp_path: Path
) -> None:
    visit = session.scalar(
        select(Visit).where(Visit.clinic_id == northside.id, Visit.status == "signed").limit(1)
    )
    assert visit is not None
    bundle = fhir_export.patient_bundle_for_operator(
        session=session, patient_id=visit.episode.patient.external_id
    )
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    checked = fhir_import.validate_source(fhir_import.Source(path))
    assert checked.total_errors == 0, checked.errors
    notes_ = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DocumentReference"
    ]
    kinds = [c["attachment"]["contentType"] for c in notes_[0]["content"]]
    assert kinds == ["application/pdf", "application/json"]
    assert bundle["meta"]["tag"][0]["code"] == "4.0.1"


def test_round_trip_into_an_empty_clinic_is_exact_and_a_second_import_adds_nobody(
    session: Session, northside: Clinic, tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    answered = session.scalars(
        select(OutcomeMeasurement).where(OutcomeMeasurement.clinic_id == northside.id).limit(1)
    ).one()
    answered.administration = {"language": "es", "wording": "translation", "translation": "T, 1"}
    session.flush()
    counts = _export(session, northside, first)
    assert "answered-in" in (first / "Observation.ndjson").read_text()
    target = clinics.create_clinic(session=session, name=northside.name)
    target.address, target.phone = northside.address, northside.phone
    session.commit()
    before = revisions.current(session, target.id)
    result = fhir_import.import_path(session=session, clinic=str(target.external_id), path=first)
    session.commit()
    assert revisions.current(session, target.id) > before  # cached pages of it are not reused
    assert result.counts["Patient"] == counts["Patient"]
    assert _export(session, target, second) == counts
    assert _lines(second) == _lines(first)
    assert notes.verify(session=session, clinic_name=None).changed == ()

    again = fhir_import.import_path(session=session, clinic=str(target.external_id), path=first)
    assert again.counts.get("Patient", 0) == 0 and again.skipped["Patient"] == counts["Patient"]
    patients = session.scalar(select(func.count(Patient.id)).where(Patient.clinic_id == target.id))
    assert patients == counts["Patient"]


def test_an_invalid_file_is_refused_whole_and_writes_nothing(
    session: Session, northside: Clinic, tmp_path: Path
) -> None:
    _export(session, northside, tmp_path)
    observations = tmp_path / "Observation.ndjson"
    lines = observations.read_text().splitlines()
    broken = json.loads(lines[3])
    broken.pop("valueInteger", None)
    broken["valueInteger"] = "six"
    lines[3] = json.dumps(broken)
    observations.write_text("\n".join(lines) + "\n")
    target = clinics.create_clinic(session=session, name="Empty clinic")
    audit_before = session.scalar(select(func.count(AuditEvent.id)))
    users_before = session.scalar(select(func.count(User.id)))
    with pytest.raises(InvalidInput) as refused:
        fhir_import.import_path(session=session, clinic="Empty clinic", path=tmp_path)
    errors = refused.value.extra["errors"]
    assert len(errors) == 1
    assert errors[0].startswith(f"Observation.ndjson line 4 Observation/{broken['id']}: ")
    assert "valueInteger" in errors[0]
    assert session.scalar(select(func.count(Patient.id)).where(Patient.clinic_id == target.id)) == 0
    assert session.scalar(select(func.count(AuditEvent.id))) == audit_before
    assert session.scalar(select(func.count(User.id))) == users_before


def test_a_bundle_of_another_fhir_version_is_refused(session: Session, tmp_path: Path) -> None:
    clinics.create_clinic(session=session, name="Receiving clinic")
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
    with pytest.raises(InvalidInput) as refused:
        fhir_import.import_path(session=session, clinic="Receiving clinic", path=r5)
    assert refused.value.code == "wrong_fhir_version"
    # R5's Encounter.class is a list of concepts; R4's is one Coding: named, not imported
    untagged = tmp_path / "untagged.json"
    encounter = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "completed",
        "class": [{"coding": [{"code": "AMB"}]}],
    }
    untagged.write_text(
        json.dumps(
            {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": encounter}]}
        )
    )
    with pytest.raises(InvalidInput) as invalid:
        fhir_import.import_path(session=session, clinic="Receiving clinic", path=untagged)
    assert any("entry[0] Encounter/e1" in e for e in invalid.value.extra["errors"])


def test_unknown_clinic_and_another_clinics_patient_are_not_found(
    session: Session, northside: Clinic, tmp_path: Path
) -> None:
    with pytest.raises(NotFound):
        fhir_import.import_path(session=session, clinic="No such clinic", path=tmp_path)
    other = session.scalar(select(Patient).where(Patient.clinic_id != northside.id).limit(1))
    assert other is not None
    with pytest.raises(NotFound):
        fhir_export.patient_bundle_for_operator(
            session=session, patient_id=other.external_id, clinic=northside.name
        )


def test_entered_in_error_rows_are_left_out(
    session: Session, northside: Clinic, tmp_path: Path
) -> None:
    visit = session.scalar(select(Visit).where(Visit.clinic_id == northside.id).limit(1))
    assert visit is not None
    visit.entered_in_error_at = datetime.now(UTC)
    session.flush()
    _export(session, northside, tmp_path)
    text = "".join(p.read_text() for p in tmp_path.glob("*.ndjson"))
    assert str(visit.external_id) not in text


def test_since_type_and_patient_filters(
    session: Session, northside: Clinic, tmp_path: Path
) -> None:
    only = _export(session, northside, tmp_path / "types", types="Patient,Condition")
    assert set(only) == {"Patient", "Condition"}
    later = _export(session, northside, tmp_path / "since", since="2999-01-01T00:00:00Z")
    assert later == {}
    nobody = _export(session, northside, tmp_path / "nobody", patients=[])
    assert nobody == {"Organization": 1}
    with pytest.raises(InvalidInput):
        fhir_export.parse_filter(types="Patient,Spaceship")


def test_the_actor_must_be_a_clinician(session: Session, northside: Clinic) -> None:
    researcher = session.scalar(
        select(User).where(User.clinic_id == northside.id, User.role == "researcher")
    )
    patient = session.scalar(select(Patient).where(Patient.clinic_id == northside.id).limit(1))
    assert researcher is not None and patient is not None
    from strigil.errors import NotPermitted

    with pytest.raises(NotPermitted):
        fhir_export.patient_bundle(
            session=session, actor=actor(researcher), patient_id=patient.external_id
        )
    assert visits is not None
