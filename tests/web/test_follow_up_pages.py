"""Copy forward on the pages and in the API: the start form carries the tolerance and the
standing reasoning; the visit page offers the last visit's areas, programme and tests; a
refusal shows its reason and changes nothing; templates are kept, edited and retired."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.factories import actor, login, make_clinic, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, recheck_answers, write_and_sign

from strigil.core import catalog
from strigil.services import measurements, treatment, visits
from strigil.store.clinics import User
from strigil.store.episodes import Episode

HTML = {"Accept": "text/html"}


def _signed_first_visit(session: Session) -> tuple[User, Episode]:
    therapist = make_user(session, make_clinic(session))
    episode = make_episode(session, therapist, make_patient(session, therapist))
    ready_for_iastm(session, therapist, episode)
    who = actor(therapist)
    visit = visits.start(
        session=session,
        actor=who,
        episode_id=episode.external_id,
        data=visits.VisitStart(tolerance_limit=5, recheck=recheck_answers()),
    )
    for site, intensity in (("lateral_elbow", "gentle"), ("forearm_extensors", "moderate")):
        area = treatment.add_area(
            session=session,
            actor=who,
            visit_id=visit.external_id,
            data=treatment.AreaInput(
                site, "right", "stainless_steel", intensity, ("fan",), seconds=50
            ),
        )
        treatment.stop_area(
            session=session, actor=who, treated_area_id=area.external_id, reason="completed"
        )
    exercise = catalog.exercises()[0].code
    treatment.prescribe(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        data=treatment.Prescription(exercise_code=exercise, sets=2, repetitions=12),
    )
    measurements.add(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        data=measurements.MeasurementInput(kind="ppt", side="right", pre_value=200.0),
    )
    write_and_sign(session, who, visit.external_id)
    session.flush()
    return therapist, episode


def _second_visit(session: Session, therapist: User, episode: Episode) -> str:
    visit = visits.start(
        session=session,
        actor=actor(therapist),
        episode_id=episode.external_id,
        data=visits.VisitStart(tolerance_limit=5, recheck=recheck_answers()),
    )
    session.flush()
    return str(visit.external_id)


def test_the_start_form_carries_last_visits_tolerance(session: Session, client: TestClient) -> None:
    therapist, episode = _signed_first_visit(session)
    login(client, therapist)
    form = client.get(f"/episodes/{episode.external_id}/visits/new", headers=HTML).text
    assert 'name="tolerance_limit" value="5" checked' in form


def test_the_visit_page_offers_and_takes_the_last_visit(
    session: Session, client: TestClient
) -> None:
    therapist, episode = _signed_first_visit(session)
    vid = _second_visit(session, therapist, episode)
    login(client, therapist)
    page = client.get(f"/visits/{vid}", headers=HTML).text
    assert 'data-testid="carry"' in page and "From visit 1 (" in page
    assert page.count('data-testid="carry-area"') == 2
    taken = client.post(f"/visits/{vid}/carry/areas", data={"area": ["0", "1"]})
    assert taken.status_code == 200  # after the redirect back to the visit
    page = client.get(f"/visits/{vid}", headers=HTML).text
    assert page.count('data-testid="area"') == 2 and "(planned 0:50)" in page
    assert 'data-testid="carry-area"' not in page
    assert client.post(f"/visits/{vid}/carry/exercises").status_code == 200
    refused = client.post(f"/visits/{vid}/carry/tests", data={"test-0": "lots"}, headers=HTML)
    assert refused.status_code == 422 and 'data-testid="carry-error"' in refused.text
    assert client.post(f"/visits/{vid}/carry/tests", data={"test-0": "230"}).status_code == 200
    page = client.get(f"/visits/{vid}", headers=HTML).text
    assert 'data-testid="carry"' not in page
    assert 'data-testid="prescriptions"' in page and "230 kPa" in page


def test_the_api_offers_and_refuses_clearly(session: Session, client: TestClient) -> None:
    therapist, episode = _signed_first_visit(session)
    vid = _second_visit(session, therapist, episode)
    login(client, therapist)
    offer = client.get(f"/api/v1/visits/{vid}/carry-forward").json()["offer"]
    assert [a["body_site"] for a in offer["areas"]] == ["lateral_elbow", "forearm_extensors"]
    bad = client.post(f"/api/v1/visits/{vid}/carry-forward/areas", json={"keys": ["9"]})
    assert bad.status_code == 422 and bad.json()["field"] == "areas"
    started = client.post(f"/api/v1/visits/{vid}/carry-forward/areas", json={"keys": ["0"]})
    assert started.status_code == 200
    assert started.json()[0]["planned_seconds"] == 50 and started.json()[0]["seconds"] == 0


def test_templates_are_kept_edited_and_retired(session: Session, client: TestClient) -> None:
    therapist, episode = _signed_first_visit(session)
    login(client, therapist)
    visit = visits.list_for_episode(session=session, actor=actor(therapist), episode=episode)[0]
    body = {"name": "Elbow usual", "condition_prefix": "Q99Z"}
    bad = client.post(f"/api/v1/visits/{visit.external_id}/template", json=body)
    assert bad.status_code == 422 and bad.json()["field"] == "condition_prefix"
    made = client.post(
        f"/api/v1/visits/{visit.external_id}/template", json=body | {"condition_prefix": "M77.1"}
    )
    assert made.status_code == 201
    tid, version = made.json()["id"], made.json()["version"]
    stale = {"name": "Elbow", "condition_prefix": "M77", "version": version + 1}
    assert client.put(f"/api/v1/visit-templates/{tid}", json=stale).status_code == 409
    page = client.get("/templates", headers=HTML).text
    assert "Elbow usual" in page and "M77.1…" in page
    client.post(
        f"/templates/{tid}",
        data={"name": "Elbow, usual", "condition_prefix": "M77"} | {"version": str(version)},
    )
    session.expire_all()
    version = client.get("/api/v1/visit-templates").json()[0]["version"]
    removal = {"areas": [1], "tests": [0], "version": version}
    kept = client.post(f"/api/v1/visit-templates/{tid}/remove-items", json=removal).json()
    assert [a["body_site"] for a in kept["areas"]] == ["lateral_elbow"] and kept["tests"] == []
    everything = {"areas": [0], "exercises": [0], "version": kept["version"]}
    empty = client.post(f"/api/v1/visit-templates/{tid}/remove-items", json=everything)
    assert empty.status_code == 422 and empty.json()["code"] == "empty"
    page = client.get("/templates", headers=HTML).text
    assert 'data-testid="template-items"' in page
    assert client.post(f"/templates/{tid}/retire").status_code == 200
    listed = client.get("/api/v1/visit-templates", params={"include_retired": True}).json()
    assert listed[0]["name"] == "Elbow, usual" and listed[0]["retired_at"] is not None
    assert client.get("/api/v1/visit-templates").json() == []
