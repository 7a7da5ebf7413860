"""A device bridge streams JSON batches to the active area; the running dose is read back and
finishing stores it; other clinics, stopped areas and bad batches are refused, changing nothing."""

from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories import actor, login, make_clinic, make_user

from strigil.config import Settings
from strigil.sensors.dose import dose_from_strokes
from strigil.sensors.simulate import simulate
from strigil.sensors.strokes import segment
from strigil.services import treatment
from strigil.store.clinics import User
from strigil.store.sensors import SensorRecording

from .test_attach import _area

BATCH = 250


@pytest.fixture
def therapist(session: Session) -> User:
    return make_user(session, make_clinic(session))


def _batches(seed: int = 1) -> tuple[list[dict[str, list[float | None]]], int, int]:
    sim = simulate(seed, strokes=6, rate_hz=1.0, sample_hz=500.0, dropouts=5)
    out = []
    for i in range(0, sim.t_s.shape[0], BATCH):
        out.append(
            {
                "t_s": sim.t_s[i : i + BATCH].tolist(),
                "fz_n": [None if math.isnan(v) else v for v in sim.fz_n[i : i + BATCH].tolist()],
                "angle_deg": sim.angle_deg[i : i + BATCH].tolist(),
            }
        )
    truth = dose_from_strokes(segment(sim.t_s, sim.fz_n, sim.angle_deg))
    return out, int(sim.t_s.shape[0]), truth.strokes


def test_stream_running_dose_and_finish(
    session: Session, client: TestClient, therapist: User, settings: Settings
) -> None:
    area = _area(session, therapist)
    session.flush()
    login(client, therapist)
    url = f"/api/v1/areas/{area.external_id}/sensor-stream"
    batches, samples, strokes = _batches()
    for batch in batches:
        answer = client.post(url, json=batch)
        assert answer.status_code == 202, answer.text
    assert answer.json() == {"samples": samples}
    live = client.get(url)
    assert live.status_code == 200, live.text
    body = live.json()
    assert body["samples"] == samples and body["strokes"] == strokes == 6
    assert body["active"] and body["force_cap_n"] is None and not body["cap_exceeded"]
    assert 0 < len(body["trace"]) <= 250
    done = client.post(f"{url}/finish")
    assert done.status_code == 201, done.text
    stored = session.scalars(select(SensorRecording)).one()
    assert stored.source == "stream" and stored.samples == samples and stored.strokes == 6
    assert (settings.data_dir / stored.stored_path).is_file()
    assert client.post(f"{url}/finish").status_code == 409  # the buffer was stored


def test_refusals_change_nothing(session: Session, client: TestClient, therapist: User) -> None:
    area = _area(session, therapist)
    session.flush()
    url = f"/api/v1/areas/{area.external_id}/sensor-stream"
    stranger = make_user(session, make_clinic(session))
    login(client, stranger)
    assert client.post(url, json={"t_s": [0.0], "fz_n": [1.0]}).status_code == 404
    login(client, therapist)
    bad = client.post(url, json={"t_s": [0.0, 0.001], "fz_n": [1.0, 10000.0]})
    assert bad.status_code == 422 and bad.json()["field"] == "fz_n"
    assert client.post(url, json={"t_s": [0.0, 0.001], "fz_n": [1.0]}).status_code == 422
    assert client.post(url, json={"t_s": [1.0], "fz_n": [1.0]}).status_code == 202
    back = client.post(url, json={"t_s": [0.5], "fz_n": [1.0]})
    assert back.status_code == 422 and back.json()["code"] == "time_not_increasing"
    assert client.get(url).json()["samples"] == 1
    treatment.stop_area(session=session, actor=actor(therapist),
                        treated_area_id=area.external_id, reason="completed")  # fmt: skip
    session.flush()
    stopped = client.post(url, json={"t_s": [2.0], "fz_n": [1.0]})
    assert stopped.status_code == 409 and stopped.json()["code"] == "area_not_active"
    assert client.get(url).json()["samples"] == 1
    assert session.scalar(select(func.count()).select_from(SensorRecording)) == 0


def test_stopping_the_area_stores_the_stream(
    session: Session, client: TestClient, therapist: User
) -> None:
    area = _area(session, therapist)
    session.flush()
    login(client, therapist)
    url = f"/api/v1/areas/{area.external_id}/sensor-stream"
    batches, samples, _ = _batches(seed=2)
    for batch in batches:
        assert client.post(url, json=batch).status_code == 202
    stopped = client.post(f"/api/v1/areas/{area.external_id}/stop", json={"reason": "completed"})
    assert stopped.status_code == 200, stopped.text
    stored = session.scalars(select(SensorRecording)).one()
    assert stored.source == "stream" and stored.samples == samples
    assert client.get(url).json()["samples"] == 0  # the buffer was set aside once stored
