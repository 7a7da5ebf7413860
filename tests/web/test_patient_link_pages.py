"""The patient's check-in page at /p/{token}: the form, the answers, a second send refused,
bad answers named; the dashboard lists worrying answers; tokens stay out of logs."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories import actor, login, make_clinic, make_user
from tests.flow import iastm_visit

from strigil.services import patient_links
from strigil.store.audit import AuditEvent
from strigil.store.clinics import User
from strigil.store.visits import Visit
from strigil.web import logmask

ANSWERS = {
    "soreness": "4",
    "bruising": "spreading",
    "skin_broken": "no",
    "calf_pain": "no",
    "numbness": "no",
    "other": "",
}


@pytest.fixture
def therapist(session: Session) -> User:
    return make_user(session, make_clinic(session))


def _visit(session: Session, therapist: User) -> Visit:
    return iastm_visit(session, therapist)


def _token(session: Session, therapist: User) -> tuple[str, Visit]:
    visit = _visit(session, therapist)
    token, _ = patient_links.issue_checkin(
        session=session, actor=actor(therapist), visit_id=visit.external_id
    )
    session.commit()
    return token, visit


def test_patient_page_flow(
    client: TestClient, session: Session, therapist: User, caplog: pytest.LogCaptureFixture
) -> None:
    token, visit = _token(session, therapist)
    caplog.set_level(logging.INFO)
    form = client.get(f"/p/{token}")
    assert form.status_code == 200 and 'data-testid="checkin-form"' in form.text
    assert form.headers["cache-control"] == "no-store"
    assert token not in form.text
    bad = client.post(f"/p/{token}", data={**ANSWERS, "soreness": "12"})
    assert bad.status_code == 422 and "from 0 (no soreness) to 10" in bad.text
    sent = client.post(f"/p/{token}", data=ANSWERS)
    assert sent.status_code == 200 and 'data-testid="checkin-thanks"' in sent.text
    again = client.post(f"/p/{token}", data=ANSWERS)
    assert again.status_code == 410 and "already received" in again.text
    unknown = client.get("/p/not-a-real-link")
    assert unknown.status_code == 404 and 'data-testid="link-closed"' in unknown.text
    server_lines = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]
    assert all(token not in line for line in server_lines)  # httpx is this test's own client
    for row in session.scalars(select(AuditEvent)).all():
        assert token not in repr((row.entity_id, row.route, row.detail))

    login(client, therapist)
    home = client.get("/")
    assert 'data-testid="attention-checkins"' in home.text and "spreading bruise" in home.text
    page = client.get(f"/visits/{visit.external_id}")
    assert page.status_code == 200 and 'data-testid="visit-checkin"' in page.text


def test_issue_from_the_visit_page_and_revoke(
    client: TestClient, session: Session, therapist: User
) -> None:
    visit = _visit(session, therapist)
    session.commit()
    csrf = login(client, therapist)
    assert 'data-testid="send-checkin"' in client.get(f"/visits/{visit.external_id}").text
    issued = client.post(f"/visits/{visit.external_id}/checkin-link", data={"csrf_token": csrf})
    assert issued.status_code == 200 and 'data-testid="checkin-url"' in issued.text
    listed = client.get(f"/api/v1/visits/{visit.external_id}/checkins")
    assert listed.status_code == 200 and listed.json() == []
    made = client.post(f"/api/v1/visits/{visit.external_id}/checkin-links")
    assert made.status_code == 201 and "/p/" in made.json()["url"]
    revoked = client.post(f"/api/v1/patient-links/{made.json()['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    path = "/p/" + made.json()["url"].split("/p/")[1]
    assert client.get(path).status_code == 410


def test_access_log_masks_tokens() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/p/abcDEF_123-x?x=1", "1.1", 200),
        None,
    )
    logmask.MaskPatientLinks().filter(record)
    assert "abcDEF_123-x" not in record.getMessage() and "/p/[link]" in record.getMessage()


@pytest.mark.parametrize(
    ("logger", "message", "args"),
    [
        # a questionnaire screen and its final send are POSTs to the same short path
        ("uvicorn.access", '%s - "%s %s HTTP/%s" %d', ("::1", "POST", "/p/Qx9_-tok", "1.1", 422)),
        ("uvicorn.error", "Exception in ASGI application at %s", ("/p/Qx9_-tok",)),
        ("strigil.web", "slow request POST /p/Qx9_-tok took 2.1 s", ()),
    ],
)
def test_questionnaire_and_progress_paths_are_masked_too(
    logger: str, message: str, args: tuple[object, ...]
) -> None:
    record = logging.LogRecord(logger, logging.INFO, __file__, 1, message, args, None)
    logmask.MaskPatientLinks().filter(record)
    assert "Qx9_-tok" not in record.getMessage() and "/p/[link]" in record.getMessage()


def test_a_worrying_checkin_becomes_an_adverse_event_from_the_dashboard(
    client: TestClient, session: Session, therapist: User
) -> None:
    token, _ = _token(session, therapist)
    assert client.post(f"/p/{token}", data={**ANSWERS, "calf_pain": "yes"}).status_code == 200
    csrf = login(client, therapist)
    home = client.get("/")
    assert "calf pain or swelling" in home.text
    [checkin_id] = [part.split("/")[0] for part in home.text.split('action="/checkins/')[1:]]
    made = client.post(
        f"/checkins/{checkin_id}/adverse-event",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert made.status_code == 303
    after = client.get("/")
    assert 'data-testid="attention-checkins"' not in after.text
    assert 'data-testid="open-events"' in after.text


def test_the_form_fits_a_phone(client: TestClient, session: Session, therapist: User) -> None:
    token, _ = _token(session, therapist)
    form = client.get(f"/p/{token}")
    assert 'name="viewport" content="width=device-width' in form.text
    assert 'class="card narrow patient-form"' in form.text
    assert form.text.count('type="radio"') == 9  # three bruising choices, three yes/no pairs
