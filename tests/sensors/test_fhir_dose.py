"""A measured dose exports as FHIR R4 Observations: figures as components, the force trace as
SampledData (period, factor, data) that decodes back to the recording."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fhir.resources.R4B.observation import Observation
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_user

from strigil.errors import Conflict, NotFound
from strigil.sensors.simulate import simulate, to_csv
from strigil.sensors.trace import sampled_data
from strigil.services import clinics, fhir_export, fhir_import
from strigil.store.clinics import Clinic, User
from strigil.store.sensors import SensorRecording
from strigil.store.visits import Visit

from .test_attach import _area, _attach


@pytest.fixture
def therapist(session: Session) -> User:
    return make_user(session, make_clinic(session))


def test_dose_exports_as_valid_observations(
    session: Session, therapist: User, tmp_path: Path
) -> None:
    area = _area(session, therapist)
    sim = simulate(5, strokes=4, sample_hz=100.0, dropouts=0)
    row = _attach(session, therapist, area, to_csv(sim).encode(), tmp_path)
    figures, trace = fhir_export.dose_observations(
        session=session, actor=actor(therapist), recording_id=row.external_id, data_dir=tmp_path
    )
    for resource in (figures, trace):
        Observation.model_validate(resource)
    values = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in figures["component"]}
    assert values["sensor-strokes"]["value"] == 4
    assert values["sensor-peak-force"] == {
        "value": row.peak_force_n, "unit": "N", "system": "http://unitsofmeasure.org", "code": "N"
    }  # fmt: skip
    sampled = trace["valueSampledData"]
    assert sampled["period"] == pytest.approx(10.0)
    assert sampled["factor"] == 0.01
    decoded = np.array([int(v) for v in sampled["data"].split()]) * sampled["factor"]
    recorded = np.round(sim.fz_n, 4)
    assert decoded.shape == recorded.shape
    assert np.abs(decoded - recorded).max() <= 0.005 + 1e-9
    assert trace["partOf"] == figures["partOf"] == [{"reference": f"Procedure/{area.external_id}"}]


def test_trace_marks_long_gaps_and_bridges_short_ones() -> None:
    t = np.arange(0, 0.3, 0.01)
    f = np.full(t.size, 2.0)
    f[5:7] = np.nan  # 0.03 s between valid samples: interpolated
    f[15:25] = np.nan  # 0.11 s: no value
    period, data = sampled_data(t, f)
    cells = data.split()
    assert period == pytest.approx(10.0)
    assert cells[5:7] == ["200", "200"]
    assert set(cells[15:25]) == {"E"}


def test_a_changed_file_or_another_clinic_is_refused(
    session: Session, therapist: User, tmp_path: Path
) -> None:
    area = _area(session, therapist)
    row = _attach(session, therapist, area, to_csv(simulate(6, strokes=2)).encode(), tmp_path)
    stranger = make_user(session, make_clinic(session))
    with pytest.raises(NotFound):
        fhir_export.dose_observations(session=session, actor=actor(stranger),
                                      recording_id=row.external_id, data_dir=tmp_path)  # fmt: skip
    (tmp_path / row.stored_path).write_text("t_s,fz_n\n0,1\n", encoding="utf-8")
    with pytest.raises(Conflict) as caught:
        fhir_export.dose_observations(session=session, actor=actor(therapist),
                                      recording_id=row.external_id, data_dir=tmp_path)  # fmt: skip
    assert caught.value.code == "recording_file_changed"


def _doses(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        r
        for r in resources
        if r["resourceType"] == "Observation"
        and r["code"]["coding"][0]["code"] in ("sensor-dose", "sensor-force-trace")
    ]


def test_doses_go_with_the_patient_bundle_and_the_bulk_export_and_import_skips_them(
    session: Session, therapist: User, tmp_path: Path
) -> None:
    area = _area(session, therapist)
    data = tmp_path / "data"
    first = _attach(
        session, therapist, area, to_csv(simulate(5, strokes=4, sample_hz=100.0)).encode(), data
    )
    _attach(
        session, therapist, area, to_csv(simulate(6, strokes=5, sample_hz=100.0)).encode(), data
    )
    visit = session.get_one(Visit, area.visit_id)
    patient_id = visit.episode.patient.external_id
    bundle = fhir_export.patient_bundle(
        session=session, actor=actor(therapist), patient_id=patient_id, data_dir=data
    )
    in_bundle = _doses([e["resource"] for e in bundle["entry"]])
    assert len(in_bundle) == 4  # figures and force trace of both recordings
    assert str(first.external_id) in {r["id"] for r in in_bundle}
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    checked = fhir_import.validate_source(fhir_import.Source(path))
    assert checked.total_errors == 0, checked.errors

    bulk = tmp_path / "bulk"
    clinic = session.get_one(Clinic, therapist.clinic_id)
    counts = fhir_export.write_clinic(
        session=session, clinic=clinic, directory=bulk, filters=fhir_export.parse_filter(),
        data_dir=data,
    )  # fmt: skip
    lines = [json.loads(x) for x in (bulk / "Observation.ndjson").read_text().splitlines()]
    assert len(_doses(lines)) == 4 and counts["Observation"] == len(lines)
    assert fhir_import.validate_source(fhir_import.Source(bulk)).total_errors == 0

    target = clinics.create_clinic(session=session, name="Import target")
    result = fhir_import.import_path(session=session, clinic=str(target.external_id), path=bulk)
    assert result.skipped.get("Observation", 0) >= 4  # measured doses are not imported
    assert (
        session.scalars(
            select(SensorRecording).where(SensorRecording.clinic_id == target.id)
        ).first()
        is None
    )


def test_without_the_kept_file_the_figures_go_out_alone(
    session: Session, therapist: User, tmp_path: Path
) -> None:
    area = _area(session, therapist)
    row = _attach(
        session, therapist, area, to_csv(simulate(5, strokes=4, sample_hz=100.0)).encode(), tmp_path
    )
    (tmp_path / row.stored_path).write_text("t_s,fz_n\n0,1\n")  # changed after it was stored
    visit = session.get_one(Visit, area.visit_id)
    bundle = fhir_export.patient_bundle(
        session=session, actor=actor(therapist), patient_id=visit.episode.patient.external_id,
        data_dir=tmp_path,
    )  # fmt: skip
    found = _doses([e["resource"] for e in bundle["entry"]])
    assert [r["code"]["coding"][0]["code"] for r in found] == ["sensor-dose"]
