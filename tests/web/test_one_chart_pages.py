"""One chart per person on the pages and in the API: warn, create anyway, merge, undo, search."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories import login, make_clinic, make_episode, make_patient, make_user

from strigil.store.audit import AuditEvent
from strigil.store.clinics import Clinic, User
from strigil.store.patients import Patient

API = "/api/v1"
PERSON = {
    "given_name": "Maëlle",
    "family_name": "Lefèvre",
    "birth_date": "1988-11-30",
    "sex": "female",
    "phone": "+33 6 12 34 56 78",
    "email": "maelle@example.org",
}


@pytest.fixture
def therapist(session: Session, client: TestClient) -> User:
    user = make_user(session, make_clinic(session))
    session.flush()
    login(client, user)
    return user


def _count(session: Session, clinic_id: int) -> int:
    return session.scalar(select(func.count(Patient.id)).where(Patient.clinic_id == clinic_id)) or 0


def test_api_answers_409_with_candidates_until_confirmed(
    session: Session, client: TestClient, therapist: User
) -> None:
    first = client.post(f"{API}/patients", json=PERSON)
    assert first.status_code == 201, first.text
    before = _count(session, therapist.clinic_id)
    again = PERSON | {"given_name": "maelle", "family_name": " LEFEVRE ", "phone": None}
    refused = client.post(f"{API}/patients", json=again)
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "possible_duplicate" and body["field"] == "confirm_new_person"
    assert [c["id"] for c in body["candidates"]] == [first.json()["id"]]
    assert body["candidates"][0]["matched_on"] == ["name_and_birth_date", "email"]
    assert _count(session, therapist.clinic_id) == before  # the refusal changed nothing
    shown = session.scalars(
        select(AuditEvent.detail).where(AuditEvent.action == "duplicate_warning")
    ).all()
    assert shown == [{"candidates": [first.json()["id"]]}]  # but showing them is audited
    made = client.post(f"{API}/patients", json=again | {"confirm_new_person": True})
    assert made.status_code == 201 and made.json()["id"] != first.json()["id"]


def test_api_merge_then_undo(session: Session, client: TestClient, therapist: User) -> None:
    keep = make_patient(session, therapist, family_name="Keeper")
    dup = make_patient(session, therapist, family_name="Keeper", given_name="Ada K")
    make_episode(session, therapist, dup)
    session.flush()
    merged = client.post(
        f"{API}/patients/{keep.external_id}/merges",
        json={"source_patient_id": str(dup.external_id), "reason": "Registered twice"},
    )
    assert merged.status_code == 201, merged.text
    assert merged.json()["moved"]["episode"] == 1 and merged.json()["undone_at"] is None
    shown = client.get(f"{API}/patients/{dup.external_id}").json()
    assert shown["merged_into"] == str(keep.external_id)
    listed = client.get(f"{API}/patients", params={"q": "keeper"}).json()["items"]
    assert [p["id"] for p in listed] == [str(keep.external_id)]
    episodes = client.get(f"{API}/patients/{keep.external_id}/episodes").json()
    assert len(episodes["items"] if isinstance(episodes, dict) else episodes) == 1
    undone = client.post(
        f"{API}/patient-merges/{merged.json()['id']}/entered-in-error",
        json={"reason": "Two different people"},
    )
    assert undone.status_code == 200 and undone.json()["undone_at"] is not None
    assert client.get(f"{API}/patients/{dup.external_id}").json()["merged_into"] is None
    again = client.post(
        f"{API}/patient-merges/{merged.json()['id']}/entered-in-error", json={"reason": "x"}
    )
    assert again.status_code == 409


def test_api_merge_refuses_assistants_and_other_clinics(
    session: Session, client: TestClient, therapist: User
) -> None:
    keep, dup = make_patient(session, therapist), make_patient(session, therapist)
    stranger = make_patient(session, make_user(session, make_clinic(session)))
    session.flush()
    body: dict[str, Any] = {"source_patient_id": str(stranger.external_id), "reason": "dup"}
    assert client.post(f"{API}/patients/{keep.external_id}/merges", json=body).status_code == 404
    assistant = make_user(session, session.get(Clinic, therapist.clinic_id), role="assistant")
    session.flush()
    login(client, assistant)
    body["source_patient_id"] = str(dup.external_id)
    refused = client.post(f"{API}/patients/{keep.external_id}/merges", json=body)
    assert refused.status_code == 403
    assert dup.merged_into_id is None and stranger.merged_into_id is None


def test_page_warns_lists_links_and_creates_anyway(
    session: Session, client: TestClient, therapist: User
) -> None:
    first = client.post("/patients", data=PERSON, follow_redirects=False)
    assert first.status_code == 303
    existing = first.headers["location"]
    warned = client.post("/patients", data=PERSON | {"email": "", "phone": "06 12 34 56 78"})
    assert warned.status_code == 409
    assert 'data-testid="possible-duplicates"' in warned.text
    assert f'href="{existing}"' in warned.text and 'data-testid="create-anyway"' in warned.text
    assert 'value="Maëlle"' in warned.text  # what was typed is kept
    made = client.post(
        "/patients", data=PERSON | {"confirm_new_person": "yes"}, follow_redirects=False
    )
    assert made.status_code == 303 and made.headers["location"] != existing


def test_page_merge_banner_and_undo(session: Session, client: TestClient, therapist: User) -> None:
    keep = make_patient(session, therapist, family_name="Pagekeep")
    dup = make_patient(session, therapist, family_name="Pagedup")
    session.flush()
    chart = client.get(f"/patients/{keep.external_id}")
    assert 'id="merge"' in chart.text
    bad = client.post(
        f"/patients/{keep.external_id}/merge",
        data={"duplicate_record_number": "NO-SUCH", "reason": "dup"},
    )
    assert bad.status_code == 422 and 'data-field="duplicate_record_number"' in bad.text
    done = client.post(
        f"/patients/{keep.external_id}/merge",
        data={"duplicate_record_number": dup.record_number, "reason": "Registered twice"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    survivor = client.get(f"/patients/{keep.external_id}").text
    assert 'data-testid="merged-here"' in survivor
    assert f'href="/patients/{dup.external_id}"' in survivor
    banner = client.get(f"/patients/{dup.external_id}")
    assert banner.status_code == 200 and 'data-testid="merged-banner"' in banner.text
    assert f'href="/patients/{keep.external_id}"' in banner.text
    rows = client.get("/patients", params={"q": "Pagedup"}, headers={"HX-Request": "true"})
    assert str(dup.external_id) not in rows.text
    undo_url = banner.text.split('action="/patient-merges/')[1].split('"')[0]
    undone = client.post(
        f"/patient-merges/{undo_url}", data={"reason": "Not the same"}, follow_redirects=False
    )
    assert undone.status_code == 303
    restored = client.get(f"/patients/{dup.external_id}")
    assert 'data-testid="merged-banner"' not in restored.text


def test_assistants_see_no_merge_form(
    session: Session, client: TestClient, therapist: User
) -> None:
    patient = make_patient(session, therapist)
    assistant = make_user(session, session.get(Clinic, therapist.clinic_id), role="assistant")
    session.flush()
    login(client, assistant)
    assert 'id="merge"' not in client.get(f"/patients/{patient.external_id}").text


@pytest.mark.parametrize(
    "typed", ["1988-11-30", "30.11.1988", "30/11/1988", "6 12 34 56 78", "345678"]
)
def test_search_page_and_api_by_birth_date_and_phone(
    session: Session, client: TestClient, therapist: User, typed: str
) -> None:
    made = client.post(f"{API}/patients", json=PERSON).json()
    other = PERSON | {"given_name": "Zoe", "birth_date": "1988-11-03", "phone": None, "email": None}
    client.post(f"{API}/patients", json=other)
    found = client.get(f"{API}/patients", params={"q": typed}).json()["items"]
    assert [p["id"] for p in found] == [made["id"]]
    page = client.get("/patients", params={"q": typed}, headers={"HX-Request": "true"})
    assert made["id"] in page.text and "Zoe" not in page.text
