"""Pages render for their own clinic, refuse another clinic's ids, and guard every step."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.factories import actor, login, make_clinic, make_episode, make_patient, make_user
from tests.flow import recheck_in_force

from strigil.core import catalog
from strigil.core.screening import Answer
from strigil.services import adverse_events, consents, screenings, treatment, visits
from strigil.store.clinics import User
from strigil.store.episodes import Episode
from strigil.store.patients import Patient
from strigil.store.visits import TreatedArea, Visit

HX = {"HX-Request": "true"}


@dataclass
class World:
    user: User
    patient: Patient
    episode: Episode
    visit: Visit
    area: TreatedArea


def all_no(**present: Answer) -> dict[str, Answer]:
    answers = {r.id: Answer(present=False) for r in catalog.screening_rules()}
    return answers | present


def build(session: Session, *, blocked: str | None = None) -> World:
    clinic = make_clinic(session)
    user = make_user(session, clinic)
    patient = make_patient(session, user)
    episode = make_episode(session, user, patient)
    extra = {"A1": Answer(present=True, regions=(blocked,))} if blocked else {}
    who = actor(user)
    screenings.screen(
        session=session, actor=who, episode_id=episode.external_id, answers=all_no(**extra)
    )
    consents.record(session=session, actor=who, episode_id=episode.external_id, decision="granted")
    visit = visits.start(
        session=session,
        actor=who,
        episode_id=episode.external_id,
        data=visits.VisitStart(
            tolerance_limit=6,
            recheck=recheck_in_force(session, episode),
            reasoning="Checked with the patient.",
            dose_modification="Gentle, short.",
        ),
    )
    area = treatment.add_area(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        data=treatment.AreaInput("lateral_elbow", "right", "stainless_steel", "gentle"),
    )
    return World(user, patient, episode, visit, area)


@pytest.fixture
def world(session: Session, client: TestClient) -> World:
    w = build(session)
    login(client, w.user)
    return w


def urls(w: World) -> list[str]:
    p, e, v = w.patient.external_id, w.episode.external_id, w.visit.external_id
    return [
        f"/patients/{p}",
        f"/patients/{p}/edit",
        f"/patients/{p}/visits?page=1",
        f"/patients/{p}/episodes/new",
        f"/episodes/{e}",
        f"/episodes/{e}/edit",
        f"/episodes/{e}/visits",
        f"/episodes/{e}/screening",
        f"/episodes/{e}/consent",
        f"/episodes/{e}/visits/new",
        f"/episodes/{e}/measure-form?measure=PRTEE",
        f"/visits/{v}",
        f"/visits/{v}/aftercare",
        f"/visits/{v}/sheet",
    ]


def test_every_page_renders_for_its_own_clinic(client: TestClient, world: World) -> None:
    for url in ["/", "/patients", "/patients/new", *urls(world)]:
        response = client.get(url)
        assert response.status_code == 200, (url, response.text[:500])
        assert "<html" in response.text


def test_another_clinics_ids_answer_404(client: TestClient, session: Session) -> None:
    mine, theirs = build(session), build(session)
    login(client, mine.user)
    for url in urls(theirs):
        response = client.get(url, headers={"Accept": "text/html"})
        assert response.status_code == 404, url
        assert "Not found" in response.text or "not found" in response.text
    posts = [
        f"/areas/{theirs.area.external_id}/readings",
        f"/visits/{theirs.visit.external_id}/note",
        f"/patients/{theirs.patient.external_id}/edit",
    ]
    for url in posts:
        assert client.post(url, data={"value": "1"}, headers=HX).status_code == 404, url


@pytest.mark.parametrize(
    "path",
    [
        "/patients",
        "/patients/{p}/visits",
        "/episodes/{e}/visits",
        "/episodes/{e}/measure-form",
        "/visits/{v}/aftercare",
        "/visits/{v}/note-draft",
    ],
)
def test_fragment_and_full_page_from_one_url(client: TestClient, world: World, path: str) -> None:
    url = path.format(
        p=world.patient.external_id, e=world.episode.external_id, v=world.visit.external_id
    )
    full, fragment = client.get(url), client.get(url, headers=HX)
    assert full.status_code == fragment.status_code == 200
    assert "<html" in full.text and "<html" not in fragment.text
    assert "HX-Request" in fragment.headers["vary"] and "HX-Request" in full.headers["vary"]


def test_search_as_you_type_returns_matching_rows(
    client: TestClient, world: World, session: Session
) -> None:
    make_patient(session, world.user, family_name="Zyxwood")
    response = client.get("/patients?q=zyxw", headers=HX)
    assert "Zyxwood" in response.text and world.patient.family_name not in response.text


def test_patient_edit_conflict_shows_current_values_and_keeps_mine(
    client: TestClient, world: World, session: Session
) -> None:
    url = f"/patients/{world.patient.external_id}/edit"
    form = {
        "given_name": "Mine",
        "family_name": "Edit",
        "birth_date": "1980-05-17",
        "sex": "female",
        "version": str(world.patient.version),
    }
    assert client.post(url, data=form, follow_redirects=False).status_code == 303
    form["given_name"] = "Second"
    response = client.post(url, data=form)
    assert response.status_code == 409
    assert 'data-testid="conflict"' in response.text
    assert "Mine" in response.text and 'value="Second"' in response.text


def test_patient_form_names_the_bad_field(client: TestClient, world: World) -> None:
    response = client.post("/patients", data={"given_name": "", "family_name": "X"})
    assert response.status_code == 422
    assert 'data-field="given_name"' in response.text or 'data-field="birth_date"' in response.text


def test_relative_rule_needs_reasoning_and_dose(client: TestClient, world: World) -> None:
    url = f"/episodes/{world.episode.external_id}/screening"
    form = {f"ans_{r.id}": "no" for r in catalog.screening_rules()} | {"ans_R1": "yes"}
    response = client.post(url, data=form)
    assert response.status_code == 422
    assert 'data-field="reasoning"' in response.text
    form |= {"reasoning": "INR stable", "dose_modification": "gentle only"}
    assert client.post(url, data=form, follow_redirects=False).status_code == 303
    page = client.get(url).text
    assert "Precautions apply" in page and "INR stable" in page


def test_unanswered_questions_are_marked(client: TestClient, world: World) -> None:
    url = f"/episodes/{world.episode.external_id}/screening"
    response = client.post(url, data={"ans_A1": "no"})
    assert response.status_code == 422
    assert 'data-field="A2"' in response.text


def test_blocked_region_refused_with_reason(client: TestClient, session: Session) -> None:
    w = build(session, blocked="knee")
    login(client, w.user)
    form = {"body_site": "medial_knee", "side": "right", "instrument_type": "stainless_steel"}
    response = client.post(f"/visits/{w.visit.external_id}/areas", data=form, headers=HX)
    assert response.status_code == 422
    assert 'data-code="region_blocked"' in response.text and "Broken skin" in response.text
    assert len(treatment.areas(session, w.visit)) == 1


def test_reading_at_the_limit_stops_the_area(client: TestClient, world: World) -> None:
    url = f"/areas/{world.area.external_id}/readings"
    response = client.post(url, data={"value": "6", "elapsed_seconds": "40"}, headers=HX)
    assert response.status_code == 200
    assert 'data-status="stopped"' in response.text and "tolerance reached" in response.text
    assert "nrs-btn" not in response.text and "data-timer" not in response.text
    again = client.post(url, data={"value": "2"}, headers=HX)
    assert again.status_code == 409 and again.headers["HX-Retarget"] == "#flash"


def test_out_of_range_reading_changes_nothing(
    client: TestClient, world: World, session: Session
) -> None:
    url = f"/areas/{world.area.external_id}/readings"
    assert client.post(url, data={"value": "11"}, headers=HX).status_code == 422
    assert treatment.readings(session, world.visit, [world.area.id])[world.area.id] == []


def test_stop_without_reason_is_refused(client: TestClient, world: World) -> None:
    url = f"/areas/{world.area.external_id}/stop"
    response = client.post(url, data={"reason": ""}, headers=HX)
    assert response.status_code == 422 and "reason" in response.text


def test_timer_posts_seconds_and_warns(client: TestClient, world: World) -> None:
    url = f"/areas/{world.area.external_id}/dose"
    data = {"seconds": "130", "version": str(world.area.version), "source": "timer"}
    response = client.post(url, data=data)
    assert response.status_code == 200
    body = response.json()
    assert body["seconds"] == 130 and any("per-area limit" in w for w in body["warnings"])


def test_finding_from_a_chart_click(client: TestClient, world: World, session: Session) -> None:
    url = f"/visits/{world.visit.external_id}/findings"
    data = {"chart_view": "front", "x": "0.31", "y": "0.37", "texture": "gravelly", "severity": "2"}
    response = client.post(url, data=data, headers=HX)
    assert response.status_code == 200 and 'data-testid="finding"' in response.text
    assert treatment.findings(session, world.visit)[0].body_site == "lateral_elbow"


def test_sign_locks_the_note_and_later_edits_conflict(client: TestClient, world: World) -> None:
    v = world.visit.external_id
    client.post(f"/areas/{world.area.external_id}/stop", data={"reason": "completed"})
    note = {"subjective": "s", "objective": "o", "assessment": "a", "plan": "p"}
    signed = client.post(f"/visits/{v}/sign", data=note | {"version": "1"}, follow_redirects=False)
    assert signed.status_code == 303
    page = client.get(f"/visits/{v}").text
    assert 'data-testid="note-readonly"' in page and 'data-testid="note-form"' not in page
    response = client.post(f"/visits/{v}/note", data=note | {"version": "2"}, headers=HX)
    assert response.status_code == 409 and "addendum" in response.text


def test_note_version_conflict_keeps_my_text(client: TestClient, world: World) -> None:
    v = world.visit.external_id
    first = {"subjective": "first", "objective": "", "assessment": "", "plan": "", "version": "1"}
    client.post(f"/visits/{v}/note", data=first, headers=HX)
    second = first | {"subjective": "second"}
    response = client.post(f"/visits/{v}/note", data=second, headers=HX)
    assert response.status_code == 409
    assert 'data-testid="conflict"' in response.text and "second" in response.text


def test_live_score_and_item_errors(client: TestClient, world: World) -> None:
    url = f"/episodes/{world.episode.external_id}/measure-score"
    ok = client.post(url, data={"measure": "NPRS", "item_1": "4"}, headers=HX)
    assert "Score: <strong>4" in ok.text
    bad = client.post(url, data={"measure": "ODI", "item_1": "9", "item_2": "x"}, headers=HX)
    assert 'data-field="item_1"' in bad.text and 'data-field="item_2"' in bad.text


def test_measurement_saved_and_charted(client: TestClient, world: World) -> None:
    e = world.episode.external_id
    for value in ("60", "30"):
        data = {"measure": "PRTEE"} | {f"item_{i}": "0" for i in range(1, 16)}
        data["item_1"] = "10" if value == "60" else "1"
        response = client.post(f"/episodes/{e}/measurements", data=data, follow_redirects=False)
        assert response.status_code == 303
    page = client.get(f"/episodes/{e}").text
    assert "progress-chart" in page and 'data-testid="responder"' in page


def test_consent_declined_blocks_treatment(
    client: TestClient, world: World, session: Session
) -> None:
    e = world.episode.external_id
    preview = client.get(f"/episodes/{e}/consent").text
    assert "What the research says" in preview
    client.post(f"/episodes/{e}/consent/withdraw")
    form = {"body_site": "forearm_extensors", "side": "right", "instrument_type": "stainless_steel"}
    response = client.post(f"/visits/{world.visit.external_id}/areas", data=form, headers=HX)
    assert response.status_code == 422 and "consent" in response.text


def test_prescribe_and_print_sheet(client: TestClient, world: World) -> None:
    v = world.visit.external_id
    code = catalog.exercises_for_region("elbow_forearm")[0].code
    data = {"exercise_code": code, "sets": "2", "repetitions": "10", "frequency": "daily"}
    assert (
        client.post(f"/visits/{v}/prescriptions", data=data, follow_redirects=False).status_code
        == 303
    )
    sheet = client.get(f"/visits/{v}/sheet").text
    assert "24 to 48 hours" in sheet and catalog.exercise(code).name in sheet


def test_the_sheet_shows_a_picture_beside_each_exercise(client: TestClient, world: World) -> None:
    v = world.visit.external_id
    codes = ["wrist_extensor_stretch", "tendon_glides", "bridge"]
    for code in codes:
        data = {"exercise_code": code, "sets": "2", "repetitions": "10", "frequency": "daily"}
        client.post(f"/visits/{v}/prescriptions", data=data, follow_redirects=False)
    sheet = client.get(f"/visits/{v}/sheet").text
    assert sheet.count('class="exercise-figure"') == len(codes)
    for code in codes:
        name = catalog.exercise(code).name
        assert f'aria-label="{name}" class="exercise-figure" data-exercise="{code}"' in sheet
    assert world.patient.display_name not in sheet.split("<svg", 1)[1].split("</ol>")[0]


def test_dashboard_flags_unsigned_notes_and_open_events(
    client: TestClient, world: World, session: Session
) -> None:
    adverse_events.report(
        session=session,
        actor=actor(world.user),
        patient_id=world.patient.external_id,
        data=adverse_events.EventInput("bruise", "mild", "bruise on forearm"),
    )
    page = client.get("/").text
    assert 'data-testid="unsigned"' in page and 'data-testid="open-events"' in page
    assert 'data-testid="today"' in page


def test_visit_history_paginates(client: TestClient, world: World, session: Session) -> None:
    who = actor(world.user)
    for _ in range(25):
        visits.start(
            session=session,
            actor=who,
            episode_id=world.episode.external_id,
            data=visits.VisitStart(tolerance_limit=5, techniques=("exercise_only",)),
        )
    url = f"/patients/{world.patient.external_id}/visits?page=2"
    response = client.get(url, headers=HX)
    assert response.text.count("<tr>") == 26 - 20 + 1  # header row + 6 visits
    assert "Newer visits" in response.text
