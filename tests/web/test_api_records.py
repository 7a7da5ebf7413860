"""The records API: bad input gets a clear 4xx naming the field and rule, and writes nothing."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories import login, make_clinic, make_episode, make_patient, make_user

from strigil.store.episodes import Episode
from strigil.store.patients import Patient

PATIENT = {
    "given_name": "Ada",
    "family_name": "Testperson",
    "birth_date": "1980-01-02",
    "sex": "female",
}
EPISODE = {
    "condition_code": "M77.11",
    "body_region": "elbow_forearm",
    "side": "right",
    "chronicity": "chronic",
    "primary_measure": "PRTEE",
}


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def therapist(session: Session, client: TestClient) -> object:
    user = make_user(session, make_clinic(session))
    session.commit()
    login(client, user)
    return user


def test_healthz_answers_ok(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body == {
        "status": "ok",
        "version": body["version"],
        "database": "ok",
        "search_index": body["search_index"],
    }
    assert body["search_index"] in {"ready", "building"}


def test_api_requires_login(client: TestClient) -> None:
    response = client.get("/api/v1/patients")
    assert response.status_code == 401
    assert response.json()["code"] == "not_signed_in"


def test_pages_redirect_to_login(client: TestClient) -> None:
    response = client.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_openapi_document_is_served(client: TestClient) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/patients" in doc["paths"]


def test_create_and_read_patient(client: TestClient, therapist: object) -> None:
    created = client.post("/api/v1/patients", json=PATIENT)
    assert created.status_code == 201, created.text
    got = client.get(f"/api/v1/patients/{created.json()['id']}")
    assert got.json()["family_name"] == "Testperson"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"birth_date": "2999-01-01"}, "birth_date"),
        ({"sex": "robot"}, "sex"),
        ({"given_name": ""}, "given_name"),
        ({"birth_date": "not-a-date"}, "birth_date"),
    ],
)
def test_bad_patient_input_is_refused_and_writes_nothing(
    client: TestClient, session: Session, therapist: object, change: dict[str, str], field: str
) -> None:
    before = _count(session, Patient)
    response = client.post("/api/v1/patients", json=PATIENT | change)
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == field and body["detail"] and body["code"]
    assert _count(session, Patient) == before


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"condition_code": "Q99.999"}, "condition_code", "unknown_icd10_code"),
        ({"body_region": "tail"}, "body_region", "unknown_body_region"),
        ({"primary_measure": "HAPPINESS"}, "measure", "unknown_measure"),
        ({"side": "up"}, "side", "unknown_side"),
    ],
)
def test_bad_episode_input_is_refused_and_writes_nothing(
    client: TestClient,
    session: Session,
    therapist: object,
    change: dict[str, str],
    field: str,
    code: str,
) -> None:
    patient = client.post("/api/v1/patients", json=PATIENT).json()
    before = _count(session, Episode)
    response = client.post(f"/api/v1/patients/{patient['id']}/episodes", json=EPISODE | change)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field and response.json()["code"] == code
    assert _count(session, Episode) == before


def test_malformed_uuid_names_the_field(client: TestClient, therapist: object) -> None:
    response = client.get("/api/v1/patients/not-a-uuid")
    assert response.status_code == 422
    assert response.json() == {
        "detail": "patient_id must be a UUID",
        "code": "malformed_id",
        "field": "patient_id",
    }


def test_another_clinics_patient_is_not_found(
    client: TestClient, session: Session, therapist: object
) -> None:
    stranger = make_user(session, make_clinic(session))
    theirs = make_patient(session, stranger)
    make_episode(session, stranger, theirs)
    session.commit()
    assert client.get(f"/api/v1/patients/{theirs.external_id}").status_code == 404
    assert client.get(f"/api/v1/patients/{uuid.uuid4()}").status_code == 404
    body = client.put(f"/api/v1/patients/{theirs.external_id}", json=PATIENT | {"version": 1})
    assert body.status_code == 404
    session.refresh(theirs)
    assert theirs.family_name != "Testperson"


def test_concurrent_edit_gets_a_conflict_with_current_values(
    client: TestClient, therapist: object
) -> None:
    patient = client.post("/api/v1/patients", json=PATIENT).json()
    url = f"/api/v1/patients/{patient['id']}"
    first = client.put(url, json=PATIENT | {"phone": "555-0100", "version": patient["version"]})
    assert first.status_code == 200
    second = client.put(url, json=PATIENT | {"phone": "555-0199", "version": patient["version"]})
    assert second.status_code == 409
    body = second.json()
    assert body["code"] == "version_conflict" and body["current"]["phone"] == "555-0100"
    assert client.get(url).json()["phone"] == "555-0100"


def test_unknown_field_is_refused(client: TestClient, therapist: object) -> None:
    response = client.post("/api/v1/patients", json=PATIENT | {"ssn": "000"})
    assert response.status_code == 422 and response.json()["field"] == "ssn"


def test_csrf_token_is_required_for_cookie_writes(client: TestClient, therapist: object) -> None:
    token = client.headers.pop("X-CSRF-Token")
    response = client.post("/api/v1/patients", json=PATIENT)
    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
    client.headers["X-CSRF-Token"] = token
