"""Hostile input: a NUL character anywhere the app reads text, and paging out of range, get a
422 naming the field on both databases, change nothing, and leave the connection usable."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session
from tests.factories import login, make_clinic, make_episode, make_patient, make_user

from strigil.services import patients
from strigil.store.clinics import User
from strigil.store.patients import Patient

PATIENT = {"given_name": "Ada", "family_name": "Nul", "birth_date": "1980-01-02", "sex": "female"}


def _patients(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Patient)) or 0


@pytest.fixture
def therapist(session: Session, client: TestClient) -> User:
    user = make_user(session, make_clinic(session))
    session.commit()
    login(client, user)
    return user


def _refused(response: object, field: str) -> None:
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["code"] == "nul_character" and body["field"] == field, body


def test_nul_in_a_json_field_is_refused_and_the_next_request_works(
    client: TestClient, session: Session, therapist: User
) -> None:
    before = _patients(session)
    _refused(
        client.post("/api/v1/patients", json=PATIENT | {"given_name": "A\x00da"}), "given_name"
    )
    assert _patients(session) == before
    assert client.post("/api/v1/patients", json=PATIENT).status_code == 201
    assert _patients(session) == before + 1


def test_nul_deep_in_a_json_document_names_its_path(
    client: TestClient, session: Session, therapist: User
) -> None:
    episode = make_episode(session, therapist, make_patient(session, therapist))
    session.commit()
    body = {"answers": {"A1": {"present": True, "regions": ["elbow\x00"]}}}
    response = client.post(f"/api/v1/episodes/{episode.external_id}/screenings", json=body)
    _refused(response, "answers.A1.regions.0")


def test_nul_in_query_path_and_login_is_refused(client: TestClient, therapist: User) -> None:
    _refused(client.get("/api/v1/patients", params={"q": "Ad\x00a"}), "q")
    assert client.get("/api/v1/patients", params={"q": "Ada"}).status_code == 200
    _refused(client.get("/api/v1/patients/%00"), "patient_id")
    _refused(client.get("/api/v1/catalog/icd10", params={"q": "M7\x007"}), "q")
    login_body = {"email": "a\x00@clinic.test", "password": "whatever-123"}
    _refused(client.post("/api/v1/auth/login", json=login_body), "email")


def test_nul_in_a_page_form_is_refused_with_a_page(
    client: TestClient, session: Session, therapist: User
) -> None:
    before = _patients(session)
    form = PATIENT | {"given_name": "A\x00da", "csrf_token": client.headers["X-CSRF-Token"]}
    refused = client.post("/patients", data=form, headers={"Accept": "text/html"})
    assert refused.status_code == 422 and "text/html" in refused.headers["content-type"]
    assert "NUL" in refused.text
    assert _patients(session) == before
    signin = client.post("/login", data={"email": "x\x00@clinic.test", "password": "p"})
    assert signin.status_code == 422 and "email: text may not contain a NUL" in signin.text
    as_json = {"Accept": "application/json"}  # a script that asks for JSON alone gets it
    _refused(
        client.post("/login", data={"email": "\x00", "password": "p"}, headers=as_json), "email"
    )
    assert client.get("/patients", params={"q": "Ada"}).status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/api/v1/patients", "/api/v1/admin/audit", "/api/v1/episodes/{episode}/visits"],
)
@pytest.mark.parametrize("offset", [10**24, 1_000_001, -1])
def test_offset_out_of_range_is_422(
    client: TestClient, session: Session, therapist: User, path: str, offset: int
) -> None:
    episode = make_episode(session, therapist, make_patient(session, therapist))
    session.commit()
    url = path.format(episode=episode.external_id)
    response = client.get(url, params={"offset": offset})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "offset"
    assert client.get(url, params={"offset": 1_000_000}).status_code in {200, 403}


@pytest.mark.parametrize("limit", [0, 10**24, 101])
def test_limit_out_of_range_is_422(client: TestClient, therapist: User, limit: int) -> None:
    response = client.get("/api/v1/patients", params={"limit": limit})
    assert response.status_code == 422 and response.json()["field"] == "limit"


def test_a_value_the_database_cannot_store_is_422(
    client: TestClient, therapist: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever slips past validation and is refused by the database is the client's 422,
    not a 500, and the next request is served as usual."""

    def refused(**_: object) -> None:
        raise DataError("INSERT", {}, Exception("integer out of range"))

    monkeypatch.setattr(patients, "register", refused)
    response = client.post("/api/v1/patients", json=PATIENT)
    assert response.status_code == 422 and response.json()["code"] == "out_of_range"
    monkeypatch.undo()
    assert client.post("/api/v1/patients", json=PATIENT).status_code == 201
