"""A measured dose exports as FHIR R4 Observations: figures as components, the force trace as
SampledData (period, factor, data) that decodes back to the recording."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fhir.resources.R4B.observation import Observation
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_user

from strigil.errors import Conflict, NotFound
from strigil.sensors.simulate import simulate, to_csv
from strigil.sensors.trace import sampled_data
from strigil.services import fhir_export
from strigil.store.clinics import User

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
