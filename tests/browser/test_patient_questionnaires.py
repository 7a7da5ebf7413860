"""Questionnaires at home on a phone (390 px), in a real Chromium: a patient answers QuickDASH
and the pain rating one screen at a time (skipping one QuickDASH item, which its rule allows),
every patient page passes axe-core, the form cannot be sent twice, and the therapist sees both
scores in the chart marked patient-reported. The progress page is checked the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.browser.axe import describe, violations
from tests.factories import actor, make_episode, make_patient
from tests.flow import ready_for_iastm, recheck_in_force

from strigil.services import patient_forms, treatment, visits
from strigil.store.clinics import User
from strigil.store.engine import make_engine, make_sessionmaker

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
HOME_PROGRAMME = ("tendon_glides", "wall_slide", "cat_camel")
QUICKDASH = ["2", "", "3", "1", "1", "4", "2", "2", "3", "1", "2"]  # item 2 skipped


def _links(database_url: str, email: str) -> tuple[str, str, str]:
    """A new patient's QuickDASH episode with a questionnaire link and a progress link."""
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            therapist = session.scalars(select(User).where(User.email == email)).one()
            patient = make_patient(session, therapist)
            episode = make_episode(session, therapist, patient, primary_measure="QUICKDASH")
            _home_programme(session, therapist, episode)
            tokens = [
                patient_forms.issue(
                    session=session,
                    actor=actor(therapist),
                    episode_id=episode.external_id,
                    purpose=purpose,
                )[0]
                for purpose in ("questionnaires", "progress")
            ]
            session.commit()
            return tokens[0], tokens[1], str(episode.external_id)
    finally:
        engine.dispose()


def _home_programme(session: Any, therapist: User, episode: Any) -> None:
    """A first visit that gives a hand, a shoulder and a back exercise, so the progress page
    shows pictures of three kinds."""
    ready_for_iastm(session, therapist, episode)
    data = visits.VisitStart(tolerance_limit=6, recheck=recheck_in_force(session, episode))
    visit = visits.start(
        session=session, actor=actor(therapist), episode_id=episode.external_id, data=data
    )
    for code in HOME_PROGRAMME:
        treatment.prescribe(
            session=session,
            actor=actor(therapist),
            visit_id=visit.external_id,
            data=treatment.Prescription(code, sets=2, repetitions=10),
        )


def _check(page: Any, problems: list[str]) -> None:
    problems += describe(page.url, PHONE["width"], violations(page))


def test_a_patient_completes_quickdash_and_pain_from_a_phone(
    browser: Any, live_server: Any, shots: Path
) -> None:
    token, progress, episode_id = _links(live_server.database_url, live_server.email)
    phone = browser.new_context(viewport=PHONE, bypass_csp=True)  # axe is an inline script
    page = phone.new_page()
    problems: list[str] = []
    try:
        page.goto(f"{live_server.url}/p/{token}")
        assert page.get_by_test_id("step-count").inner_text() == "1 of 12"
        page.screenshot(path=str(shots / "p3-question-first.png"), full_page=True)
        _check(page, problems)
        for n, value in enumerate(QUICKDASH):
            if value:
                page.locator(f'input[name="q{n}"][value="{value}"]').check()
                page.get_by_role("button", name="Next").click()
            else:
                page.get_by_role("button", name="Skip this question").click()
            page.wait_for_load_state()
        assert page.get_by_test_id("step-count").inner_text() == "12 of 12"
        assert page.get_by_role("button", name="Skip this question").count() == 0  # pain: no
        page.get_by_role("button", name="Send my answers").click()  # nothing chosen yet
        page.wait_for_load_state()
        assert "cannot be skipped" in page.get_by_test_id("question-error").inner_text()
        page.screenshot(path=str(shots / "p4-question-error.png"), full_page=True)
        _check(page, problems)
        page.locator('input[name="q11"][value="6"]').check()
        page.get_by_role("button", name="Send my answers").click()
        page.get_by_test_id("questionnaire-thanks").wait_for()
        page.screenshot(path=str(shots / "p5-questionnaire-sent.png"), full_page=True)
        _check(page, problems)
        again = page.goto(f"{live_server.url}/p/{token}")
        assert again is not None and again.status == 410
        _check(page, problems)
        page.goto(f"{live_server.url}/p/{progress}")
        page.get_by_test_id("patient-progress").wait_for()
        assert page.get_by_test_id("when-to-call").is_visible()
        pictures = page.get_by_test_id("home-programme").get_by_role("img")
        assert pictures.count() == len(HOME_PROGRAMME)
        assert all(pictures.nth(n).bounding_box()["width"] > 60 for n in range(pictures.count()))
        page.screenshot(path=str(shots / "p6-progress.png"), full_page=True)
        _check(page, problems)
    finally:
        phone.close()
    assert not problems, "\n".join(problems)
    desk = browser.new_context(viewport={"width": 1366, "height": 900})
    page = desk.new_page()
    try:
        page.goto(f"{live_server.url}/login")
        page.get_by_label("Email").fill(live_server.email)
        page.get_by_label("Password").fill(live_server.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        page.goto(f"{live_server.url}/episodes/{episode_id}")
        marks = page.get_by_test_id("patient-reported")
        assert marks.count() == 2  # QuickDASH and the pain rating
        assert page.get_by_test_id("progress-NPRS").is_visible()
        page.get_by_test_id("patient-links").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "p7-chart-patient-reported.png"), full_page=True)
    finally:
        desk.close()


def test_staff_issue_a_link_with_a_qr_code_and_the_patient_sees_safety_questions(
    browser: Any, live_server: Any, shots: Path
) -> None:
    _, _, episode_id = _links(live_server.database_url, live_server.email)
    desk = browser.new_context(viewport={"width": 1366, "height": 900}, bypass_csp=True)
    page = desk.new_page()
    problems: list[str] = []
    try:
        page.goto(f"{live_server.url}/login")
        page.get_by_label("Email").fill(live_server.email)
        page.get_by_label("Password").fill(live_server.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        page.goto(f"{live_server.url}/episodes/{episode_id}")
        section = page.get_by_test_id("patient-links")
        section.get_by_label("QUICKDASH", exact=False).uncheck()
        section.get_by_label("Intake screening", exact=False).check()
        section.get_by_role("button", name="Issue link").click()
        page.get_by_test_id("patient-link-qr").wait_for()
        assert page.locator("[data-testid=patient-link-qr] svg").count() == 1
        page.screenshot(path=str(shots / "p8-patient-link-issued.png"), full_page=True)
        problems += describe(page.url, 1366, violations(page))
        url = page.get_by_test_id("patient-link-url").inner_text()
        page.goto(f"{live_server.url}/episodes/{episode_id}#patient-links")
        assert page.get_by_test_id("patient-link-row").count() == 3
        page.get_by_test_id("patient-links").screenshot(path=str(shots / "p9-patient-links.png"))
        problems += describe(page.url, 1366, violations(page))
    finally:
        desk.close()
    phone = browser.new_context(viewport=PHONE, bypass_csp=True)
    page = phone.new_page()
    try:
        page.goto(url)
        page.locator('input[name="q0"][value="3"]').check()
        page.get_by_role("button", name="Next").click()
        page.wait_for_load_state()
        assert "A question for your safety" in page.content()
        page.screenshot(path=str(shots / "p10-screening-question.png"), full_page=True)
        problems += describe(page.url, PHONE["width"], violations(page))
    finally:
        phone.close()
    assert not problems, "\n".join(problems)
