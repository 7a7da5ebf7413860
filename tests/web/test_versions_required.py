"""Optimistic locking is not optional: an edit through the API or a page must send the
version it read; a missing one is a 422 naming ``version``, a stale one a 409."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.factories import actor, login, make_clinic, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, recheck_answers

from strigil.services import admin, visits
from strigil.store.clinics import User
from strigil.store.visits import Visit


def _visit(session: Session, user: User) -> Visit:
    episode = make_episode(session, user, make_patient(session, user))
    ready_for_iastm(session, user, episode)
    visit = visits.start(
        session=session,
        actor=actor(user),
        episode_id=episode.external_id,
        data=visits.VisitStart(tolerance_limit=6, recheck=recheck_answers()),
    )
    session.commit()
    return visit


def _missing(response: object) -> None:
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    assert response.json()["field"] == "version"  # type: ignore[attr-defined]


def test_api_edits_need_the_version(client: TestClient, session: Session) -> None:
    user = make_user(session, make_clinic(session))
    visit = _visit(session, user)
    login(client, user)
    url = f"/api/v1/visits/{visit.external_id}/phase"
    _missing(client.put(url, json={"phase": "warm_up"}))
    stale = client.put(url, json={"phase": "warm_up", "version": visit.version + 5})
    assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
    fresh = client.put(url, json={"phase": "warm_up", "version": visit.version})
    assert fresh.status_code == 200, fresh.text
    patient = visit.episode.patient
    body = {"given_name": "A", "family_name": "B", "birth_date": "1980-01-01", "sex": "female"}
    _missing(client.put(f"/api/v1/patients/{patient.external_id}", json=body))


def _missing_page(response: object) -> None:
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    assert "text/html" in response.headers["content-type"]  # type: ignore[attr-defined]
    assert "version is required" in response.text  # type: ignore[attr-defined]


def test_page_edits_need_the_version(client: TestClient, session: Session) -> None:
    user = make_user(session, make_clinic(session))
    visit = _visit(session, user)
    csrf = login(client, user)
    phase = {"phase": "warm_up", "csrf_token": csrf}
    _missing_page(client.post(f"/visits/{visit.external_id}/phase", data=phase))
    patient = visit.episode.patient
    form = {"given_name": "A", "family_name": "B", "birth_date": "1980-01-01", "sex": "female"}
    edit = client.post(f"/patients/{patient.external_id}/edit", data=form | {"csrf_token": csrf})
    _missing_page(edit)
    moved = client.post(
        f"/visits/{visit.external_id}/phase",
        data=phase | {"version": str(visit.version)},
        follow_redirects=False,
    )
    assert moved.status_code == 303


def test_retiring_an_instrument_needs_the_version(client: TestClient, session: Session) -> None:
    boss = make_user(session, make_clinic(session), role="admin")
    tool = admin.add_instrument(
        session=session,
        actor=actor(boss),
        data=admin.InstrumentInput(label="Blade", type_code="stainless_steel"),
    )
    session.commit()
    login(client, boss)
    url = f"/api/v1/admin/instruments/{tool.external_id}/retire"
    _missing(client.post(url, json={}))
    assert client.post(url, json={"version": tool.version}).status_code == 200
