"""The visit page shows the safety rules where the therapist looks, before and after a choice."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.factories import actor, login, make_clinic, make_episode, make_patient, make_user
from tests.flow import all_clear, recheck_in_force

from strigil.core import catalog, screening
from strigil.services import consents, screenings, treatment, visits
from strigil.store.visits import Visit

HX = {"HX-Request": "true"}
AREA = {"body_site": "lateral_elbow", "side": "right", "instrument_type": "stainless_steel"}


def _visit(session: Session, client: TestClient, **present: tuple[str, ...]) -> Visit:
    user = make_user(session, make_clinic(session))
    who = actor(user)
    episode = make_episode(session, user, make_patient(session, user))
    screenings.screen(
        session=session,
        actor=who,
        episode_id=episode.external_id,
        answers=all_clear(**present),
        drug_classes=("anticoagulant",),
        reasoning="On warfarin.",
        dose_modification="Gentle, one minute.",
    )
    consents.record(session=session, actor=who, episode_id=episode.external_id, decision="granted")
    visit = visits.start(
        session=session,
        actor=who,
        episode_id=episode.external_id,
        data=visits.VisitStart(
            tolerance_limit=6,
            recheck=recheck_in_force(session, episode),
            reasoning="Still on warfarin.",
            dose_modification="Gentle, one minute.",
        ),
    )
    login(client, user)
    return visit


def test_the_cap_is_shown_before_choosing_and_higher_intensities_are_disabled(
    session: Session, client: TestClient
) -> None:
    visit = _visit(session, client)
    html = client.get(f"/visits/{visit.external_id}").text
    assert 'data-testid="dose-cap"' in html and "at most gentle, 60 s per area" in html
    assert "R1 Blood thinners" in html
    assert '<option value="moderate" disabled>' in html


def test_a_refused_area_answers_422_with_the_reason_on_the_add_form(
    session: Session, client: TestClient
) -> None:
    visit = _visit(session, client)
    url = f"/visits/{visit.external_id}/areas"
    assert client.post(url, data=AREA, headers=HX).status_code == 200
    area = treatment.areas(session, visit)[0]
    client.post(f"/areas/{area.external_id}/readings", data={"value": "6"}, headers=HX)
    again = client.post(url, data=AREA, headers=HX)
    assert again.status_code == 422
    assert 'data-code="site_closed"' in again.text and "stay closed" in again.text
    assert 'data-testid="closed-sites"' in again.text
    api = client.post(f"/api/v1/visits/{visit.external_id}/areas", json=AREA)
    assert api.status_code == 422 and api.json()["code"] == "site_closed"
    assert api.json()["field"] == "body_site"


def test_a_clot_shows_the_leg_blocked_by_side_and_a_clearance_form(
    session: Session, client: TestClient
) -> None:
    visit = _visit(session, client, A3=("lower_leg_ankle:left",))
    html = client.get(f"/visits/{visit.external_id}").text
    assert 'data-testid="patient-blocked"' in html and 'data-testid="clearance-form"' in html
    assert 'data-testid="blocked-hip_thigh"' in html and "(left)" in html
    form = {
        "rule_id": "A3",
        "cleared_by": "Dr. Synthetic",
        "cleared_at": "2026-01-05T09:00",
        "note": "Treated; cleared.",
    }
    done = client.post(f"/visits/{visit.external_id}/clearance", data=form)
    assert done.status_code in (200, 303)
    html = client.get(f"/visits/{visit.external_id}").text
    assert 'data-testid="patient-blocked"' not in html and 'data-testid="blocked-foot"' in html
    leg = {**AREA, "body_site": "calf", "side": "left", "confirm_other_side": "yes"}
    refused = client.post(f"/visits/{visit.external_id}/areas", data=leg, headers=HX)
    assert refused.status_code == 422 and 'data-code="region_blocked"' in refused.text


def test_a_clearance_without_a_name_names_the_field(session: Session, client: TestClient) -> None:
    visit = _visit(session, client, A3=("lower_leg_ankle:left",))
    form = {"rule_id": "A3", "cleared_by": "", "cleared_at": "2026-01-05T09:00", "note": "n"}
    refused = client.post(
        f"/api/v1/episodes/{visit.episode.external_id}/clearances",
        json={**form, "cleared_at": "2026-01-05T09:00:00+00:00"},
    )
    assert refused.status_code == 422 and refused.json()["field"] == "cleared_by"


def test_the_screening_form_takes_a_side(session: Session, client: TestClient) -> None:
    visit = _visit(session, client)
    rules = {f"ans_{r}": "no" for r in (r.id for r in catalog.screening_rules())}
    form = rules | {
        "ans_A3": "yes",
        "reg_A3": "knee",
        "side_A3": "right",
        "ans_R1": "yes",
        "reasoning": "On warfarin.",
        "dose_modification": "Gentle.",
    }
    done = client.post(f"/episodes/{visit.episode.external_id}/screening", data=form)
    assert done.status_code in (200, 303)
    latest = screenings.latest(session, visit.episode, "intake")
    assert latest is not None and latest.answers["A3"]["regions"] == ["knee:right"]
    assert "foot:right" in latest.result["blocked_regions"]
    assert "foot:left" not in latest.result["blocked_regions"]


def test_a_reading_past_the_time_cap_still_counts(session: Session, client: TestClient) -> None:
    visit = _visit(session, client)
    client.post(f"/visits/{visit.external_id}/areas", data=AREA, headers=HX)
    area = treatment.areas(session, visit)[0]
    html = client.get(f"/visits/{visit.external_id}").text
    assert 'data-cap="60"' in html  # the timer stops itself at the cap
    done = client.post(
        f"/areas/{area.external_id}/readings",
        data={"value": "7", "elapsed_seconds": "75"},
        headers=HX,
    )
    assert done.status_code == 200
    session.refresh(area)
    assert area.stop_reason == "tolerance_reached" and area.seconds <= 60


def test_the_consent_page_asks_for_a_guardian_only_for_a_minor(
    session: Session, client: TestClient
) -> None:
    user = make_user(session, make_clinic(session))
    today = date.today()
    child = make_patient(session, user, birth_date=date(today.year - 14, 1, 1))
    adult = make_patient(session, user)
    login(client, user)
    for patient, shown in ((child, True), (adult, False)):
        episode = make_episode(session, user, patient)
        html = client.get(f"/episodes/{episode.external_id}/consent").text
        assert ('data-testid="guardian"' in html) is shown
    form = {
        "decision": "granted",
        "guardian_name": "Synthetic Parent",
        "guardian_relationship": "father",
    }
    done = client.post(f"/episodes/{episode.external_id}/consent", data=form)
    assert done.status_code in (200, 303)


def _form(**extra: str) -> dict[str, str]:
    answers = {f"ans_{r.id}": "no" for r in screening.visit_recheck_rules()}
    bp = {"ans_A9": "reading", "bp_A9_systolic": "132", "bp_A9_diastolic": "84"}
    return {"tolerance_limit": "6", **answers, **bp, **extra}


def test_the_recheck_form_shows_the_answers_in_force_and_asks_before_lifting(
    session: Session, client: TestClient
) -> None:
    visit = _visit(session, client)
    episode = visit.episode
    page = client.get(f"/episodes/{episode.external_id}/visits/new").text
    assert 'data-testid="in-force-R1"' in page and "from the record: anticoagulant" in page
    assert 'name="ans_R1" value="yes" checked' in page  # pre-filled with the answer in force
    assert "Lift the precaution “Blood thinners” recorded on" in page
    url = f"/episodes/{episode.external_id}/visits"
    refused = client.post(url, data=_form())
    assert refused.status_code == 422
    assert "contradicts the screening in force for R1" in refused.text
    assert (
        'name="bp_A9_systolic" inputmode="numeric" size="4" data-testid="bp-systolic" value="132"'
        in refused.text
    )
    assert screenings.in_force(session, episode)["R1"].present
    lifted = client.post(url, data=_form(lift_R1="yes"), follow_redirects=False)
    assert lifted.status_code == 303, lifted.text
    assert not screenings.in_force(session, episode)["R1"].present
    shown = client.get(lifted.headers["location"]).text
    assert 'data-testid="blood-pressure"' in shown and "132/84 mmHg" in shown
    assert 'data-testid="dose-cap"' not in shown


def test_a_bad_reading_is_named_on_the_form(session: Session, client: TestClient) -> None:
    visit = _visit(session, client)
    url = f"/episodes/{visit.episode.external_id}/visits"
    bad = client.post(url, data=_form(ans_R1="yes", bp_A9_systolic="80", bp_A9_diastolic="95"))
    assert bad.status_code == 422
    assert 'data-field="A9"' in bad.text and "systolic blood pressure must be higher" in bad.text
