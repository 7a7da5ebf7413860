"""The guided visit over the JSON API: the safety refusals answer 4xx and change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories import login, make_clinic, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, recheck_clear

from strigil.store.visits import DiscomfortReading, TreatedArea, Visit

AREA = {
    "body_site": "lateral_elbow",
    "side": "right",
    "instrument_type": "stainless_steel",
    "intensity": "gentle",
    "strokes": ["sweep"],
    "angle_deg": 45,
}


def _start(session: Session, client: TestClient, **present: tuple[str, ...]) -> dict[str, Any]:
    user = make_user(session, make_clinic(session))
    episode = make_episode(session, user, make_patient(session, user))
    ready_for_iastm(session, user, episode, **present)
    session.commit()
    login(client, user)
    in_force = {k: {"present": True, "regions": list(v)} for k, v in present.items()}
    response = client.post(
        f"/api/v1/episodes/{episode.external_id}/visits",
        json={"tolerance_limit": 6, "recheck": recheck_clear() | in_force},
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_recheck_no_against_the_screening_in_force_needs_the_lift(
    session: Session, client: TestClient
) -> None:
    user = make_user(session, make_clinic(session))
    episode = make_episode(session, user, make_patient(session, user))
    ready_for_iastm(session, user, episode, A5=("elbow_forearm",))
    session.commit()
    login(client, user)
    url = f"/api/v1/episodes/{episode.external_id}/visits"
    body = {"tolerance_limit": 6, "recheck": recheck_clear()}
    refused = client.post(url, json=body)
    assert refused.status_code == 422
    assert (refused.json()["code"], refused.json()["field"]) == ("lift_unconfirmed", "answers.A5")
    assert _count(session, Visit) == 0
    stray = client.post(url, json=body | {"lift": ["R1"]})
    assert (stray.status_code, stray.json()["field"]) == (422, "lift")
    high = body["recheck"] | {"A9": {"systolic": 120, "diastolic": 130}}
    bad = client.post(url, json=body | {"recheck": high, "lift": ["A5"]})
    assert (bad.status_code, bad.json()["field"]) == (422, "answers.A9.systolic")
    assert client.post(url, json=body | {"lift": ["A5"]}).status_code == 201


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_blocked_region_answers_422_with_the_reason(session: Session, client: TestClient) -> None:
    visit = _start(session, client, A5=("elbow_forearm",))
    response = client.post(f"/api/v1/visits/{visit['id']}/areas", json=AREA)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "region_blocked" and "elbow_forearm" in body["detail"]
    assert _count(session, TreatedArea) == 0


def test_unknown_body_site_names_the_field(session: Session, client: TestClient) -> None:
    visit = _start(session, client)
    response = client.post(
        f"/api/v1/visits/{visit['id']}/areas", json=AREA | {"body_site": "left_wing"}
    )
    assert response.status_code == 422 and response.json()["field"] == "body_site"


@pytest.mark.parametrize("value", [-1, 11])
def test_out_of_range_reading_is_refused(session: Session, client: TestClient, value: int) -> None:
    visit = _start(session, client)
    area = client.post(f"/api/v1/visits/{visit['id']}/areas", json=AREA).json()
    response = client.post(f"/api/v1/areas/{area['id']}/readings", json={"value": value})
    assert response.status_code == 422 and response.json()["field"] == "value"
    assert _count(session, DiscomfortReading) == 0


def test_reading_at_the_limit_stops_the_area(session: Session, client: TestClient) -> None:
    visit = _start(session, client)
    area = client.post(f"/api/v1/visits/{visit['id']}/areas", json=AREA).json()
    stopped = client.post(f"/api/v1/areas/{area['id']}/readings", json={"value": 6}).json()
    assert stopped["stopped"] and stopped["area"]["stop_reason"] == "tolerance_reached"
    again = client.post(f"/api/v1/areas/{area['id']}/readings", json={"value": 1})
    assert again.status_code == 409 and again.json()["code"] == "area_stopped"


def test_empty_stop_reason_is_refused(session: Session, client: TestClient) -> None:
    visit = _start(session, client)
    area = client.post(f"/api/v1/visits/{visit['id']}/areas", json=AREA).json()
    response = client.post(f"/api/v1/areas/{area['id']}/stop", json={"reason": ""})
    assert response.status_code == 422 and response.json()["field"] == "stop_reason"


def test_signed_note_answers_409_to_an_edit(session: Session, client: TestClient) -> None:
    visit = _start(session, client)
    url = f"/api/v1/visits/{visit['id']}"
    saved = client.put(
        f"{url}/note",
        json={"assessment": "Tolerated.", "plan": "Continue.", "version": visit["version"]},
    ).json()
    signed = client.post(f"{url}/sign", json={"version": saved["version"]})
    assert signed.status_code == 200, signed.text
    edit = client.put(f"{url}/note", json={"plan": "Changed.", "version": signed.json()["version"]})
    assert edit.status_code == 409 and edit.json()["code"] == "note_signed"
    assert client.get(url).json()["plan"] == "Continue."
    addendum = client.post(f"{url}/addenda", json={"text": "Phoned the patient."})
    assert addendum.status_code == 201


def test_billing_uses_the_eight_minute_rule(session: Session, client: TestClient) -> None:
    visit = _start(session, client)
    area = client.post(f"/api/v1/visits/{visit['id']}/areas", json=AREA | {"seconds": 480}).json()
    assert area["seconds"] == 480
    billing = client.get(f"/api/v1/visits/{visit['id']}/billing").json()
    [line] = billing["lines"]
    assert line["code"] == "97140" and line["minutes"] == 8 and line["units"] == 1
    assert billing["total_timed_minutes"] == 8 and billing["rule"] == "cms"
