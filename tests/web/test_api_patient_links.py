"""Patient links through the JSON API: issued with the episode page's rules, the token and URL
given once and never listed, listed per episode and per patient, revoked; bad input is a 422
naming the field that changes nothing, and another clinic's records are 404."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories import actor, login, make_clinic, make_episode, make_user
from tests.flow import iastm_visit

from strigil.services import patient_links
from strigil.store.audit import AuditEvent
from strigil.store.clinics import User
from strigil.store.patient_links import PatientLink
from strigil.store.visits import Visit

API = "/api/v1"


@pytest.fixture
def therapist(session: Session) -> User:
    return make_user(session, make_clinic(session))


@pytest.fixture
def visit(session: Session, therapist: User) -> Visit:
    made = iastm_visit(session, therapist)
    session.commit()
    return made


def _links(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(PatientLink)) or 0


def _issue(client: TestClient, episode_id: object, **body: Any) -> Any:
    return client.post(f"{API}/episodes/{episode_id}/patient-links", json=body)


def test_a_questionnaire_link_is_issued_once_with_its_token_and_opens(
    client: TestClient, session: Session, therapist: User, visit: Visit
) -> None:
    login(client, therapist)
    made = _issue(client, visit.episode.external_id, purpose="questionnaires", measures=["prtee"])
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["purpose"] == "questionnaires" and body["status"] == "open"
    assert body["measures"] == ["PRTEE"] and body["language"] is None
    assert body["episode_id"] == str(visit.episode.external_id) and body["visit_id"] is None
    assert body["url"].endswith(f"/p/{body['token']}") and len(body["token"]) >= 40
    row = session.scalars(select(PatientLink).where(PatientLink.id.isnot(None))).one()
    assert body["token"] not in row.token_hash and row.token_hash == patient_links.digest(
        body["token"]
    )
    created = session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "patient_link")
    ).all()
    assert [(e.action, e.patient_id) for e in created] == [
        ("create", str(visit.episode.patient.external_id))
    ]
    client.cookies.clear()
    opened = client.get(f"/p/{body['token']}")
    assert opened.status_code == 200 and "PRTEE" not in body["token"]


def test_defaults_progress_and_the_patients_language(
    client: TestClient, therapist: User, visit: Visit
) -> None:
    login(client, therapist)
    default = _issue(client, visit.episode.external_id, purpose="questionnaires").json()
    assert default["measures"] == ["PRTEE", "NPRS"]  # the primary measure and the pain rating
    progress = _issue(client, visit.episode.external_id, purpose="progress", language="es")
    assert progress.status_code == 201 and progress.json()["measures"] is None
    assert progress.json()["language"] == "es"
    client.cookies.clear()
    page = client.get(progress.json()["url"].replace("http://testserver", ""))
    assert page.status_code == 200 and '<html lang="es">' in page.text


def test_lists_never_give_a_token_and_cover_the_episode_and_the_patient(
    client: TestClient, session: Session, therapist: User, visit: Visit
) -> None:
    login(client, therapist)
    episode, patient = visit.episode, visit.episode.patient
    other_episode = make_episode(session, therapist, patient, condition_code="M72.2")
    session.commit()
    asked = _issue(client, episode.external_id, purpose="questionnaires").json()
    checkin = client.post(f"{API}/visits/{visit.external_id}/checkin-links").json()
    elsewhere = _issue(client, other_episode.external_id, purpose="progress").json()
    tokens = [asked["token"], checkin["token"], elsewhere["token"]]

    listed = client.get(f"{API}/episodes/{episode.external_id}/patient-links")
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()] == [checkin["id"], asked["id"]]  # newest first
    [check] = [r for r in listed.json() if r["purpose"] == "checkin"]
    assert check["visit_id"] == str(visit.external_id)
    assert check["episode_id"] == str(episode.external_id)
    everyone = client.get(f"{API}/patients/{patient.external_id}/patient-links")
    assert [r["id"] for r in everyone.json()] == [elsewhere["id"], checkin["id"], asked["id"]]
    for answer in (listed, everyone):
        assert all("token" not in r and "url" not in r for r in answer.json())
        assert not any(t in answer.text for t in tokens)
    page = client.get(f"{API}/patients/{patient.external_id}/patient-links?limit=1&offset=1")
    assert [r["id"] for r in page.json()] == [checkin["id"]]
    reads = session.scalars(
        select(AuditEvent).where(
            AuditEvent.entity_type == "patient_link", AuditEvent.action == "read"
        )
    ).all()
    assert len(reads) == 3 and {r.patient_id for r in reads} == {str(patient.external_id)}


def test_revoke_closes_the_link_and_the_list_says_so(
    client: TestClient, therapist: User, visit: Visit
) -> None:
    login(client, therapist)
    made = _issue(client, visit.episode.external_id, purpose="progress").json()
    revoked = client.post(f"{API}/patient-links/{made['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert "token" not in revoked.json()
    again = client.post(f"{API}/patient-links/{made['id']}/revoke")
    assert again.status_code == 409 and again.json()["code"] == "link_closed"
    listed = client.get(f"{API}/episodes/{visit.episode.external_id}/patient-links").json()
    assert [(r["id"], r["status"]) for r in listed] == [(made["id"], "revoked")]
    client.cookies.clear()
    assert client.get(made["url"].replace("http://testserver", "")).status_code == 410


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"purpose": "checkin"}, "purpose"),
        ({"purpose": "aftercare"}, "purpose"),
        ({}, "purpose"),
        ({"purpose": "questionnaires", "measures": ["NOPE"]}, "measures"),
        ({"purpose": "questionnaires", "measures": ["ROM"]}, "measures"),
        ({"purpose": "progress", "measures": ["NPRS"]}, "measures"),
        ({"purpose": "progress", "language": "klingon"}, "language"),
        ({"purpose": "progress", "language": "es-MX"}, "language"),
        ({"purpose": "progress", "token": "chosen-by-me"}, "token"),
    ],
)
def test_bad_input_names_the_field_and_issues_nothing(
    client: TestClient,
    session: Session,
    therapist: User,
    visit: Visit,
    body: dict[str, Any],
    field: str,
) -> None:
    login(client, therapist)
    before = _links(session)
    refused = _issue(client, visit.episode.external_id, **body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field
    assert _links(session) == before


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "offset=-1", "limit=x"])
def test_a_bad_page_is_refused_naming_it(
    client: TestClient, therapist: User, visit: Visit, query: str
) -> None:
    login(client, therapist)
    refused = client.get(
        f"{API}/patients/{visit.episode.patient.external_id}/patient-links?{query}"
    )
    assert refused.status_code == 422 and refused.json()["field"] == query.split("=")[0]


def test_another_clinics_patient_episode_and_link_are_not_found(
    client: TestClient, session: Session, therapist: User, visit: Visit
) -> None:
    token, link = patient_links.issue_checkin(
        session=session, actor=actor(therapist), visit_id=visit.external_id
    )
    stranger = make_user(session, make_clinic(session))
    session.commit()
    login(client, stranger)
    before = _links(session)
    episode, patient = visit.episode.external_id, visit.episode.patient.external_id
    for answer in (
        _issue(client, episode, purpose="progress"),
        client.get(f"{API}/episodes/{episode}/patient-links"),
        client.get(f"{API}/patients/{patient}/patient-links"),
        client.post(f"{API}/patient-links/{link.external_id}/revoke"),
    ):
        assert answer.status_code == 404, answer.text
        assert token not in answer.text
    assert _links(session) == before
    session.refresh(link)
    assert link.revoked_at is None


def test_roles_without_clinical_access_may_neither_list_nor_issue(
    client: TestClient, session: Session, therapist: User, visit: Visit
) -> None:
    assistant = make_user(session, therapist.clinic, role="assistant")
    others = [make_user(session, therapist.clinic, role=r) for r in ("admin", "researcher")]
    session.commit()
    episode = visit.episode.external_id
    login(client, assistant)  # the desk issues links, as on the episode page
    assert _issue(client, episode, purpose="progress").status_code == 201
    before = _links(session)
    for user in others:
        client.cookies.clear()
        login(client, user)
        assert client.get(f"{API}/episodes/{episode}/patient-links").status_code == 403
        assert _issue(client, episode, purpose="progress").status_code == 403
    assert _links(session) == before
