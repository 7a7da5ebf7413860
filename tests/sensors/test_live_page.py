"""The visit page's running dose: the area card loads it, it shows the streamed dose and warns
above the precaution cap, and stops polling once the area has ended."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.factories import actor, login, make_clinic, make_user

from strigil.services import treatment
from strigil.store.clinics import User
from strigil.store.visits import Visit

from .test_attach import _area
from .test_stream_api import _batches


def test_running_dose_on_the_visit_page(session: Session, client: TestClient) -> None:
    therapist: User = make_user(session, make_clinic(session))
    area = _area(session, therapist, R1=())  # anticoagulant: force capped at 4 N
    session.flush()
    login(client, therapist)
    visit = session.get(Visit, area.visit_id)
    assert visit is not None
    visit_page = client.get(f"/visits/{visit.external_id}")
    assert visit_page.status_code == 200
    assert f'hx-get="/areas/{area.external_id}/sensor-live"' in visit_page.text
    live = f"/areas/{area.external_id}/sensor-live"
    idle = client.get(live, headers={"HX-Request": "true"})
    assert "No instrumented tool is streaming" in idle.text and "every 5s" in idle.text
    for batch in _batches()[0]:
        posted = client.post(f"/api/v1/areas/{area.external_id}/sensor-stream", json=batch)
        assert posted.status_code == 202
    busy = client.get(live, headers={"HX-Request": "true"})
    assert "6 strokes, mean " in busy.text and "every 1s" in busy.text
    assert "above the precaution force cap of 4 N" in busy.text
    assert "<polyline" in busy.text
    treatment.stop_area(session=session, actor=actor(therapist),
                        treated_area_id=area.external_id, reason="completed")  # fmt: skip
    session.flush()
    ended = client.get(live, headers={"HX-Request": "true"})
    assert "hx-trigger" not in ended.text and "6 strokes" in ended.text
