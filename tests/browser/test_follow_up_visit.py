"""A routine follow-up visit, documented in a real Chromium with every action counted.

The patient (on a blood thinner, so precautions apply) had a signed first visit: one area,
a pre-test and a home exercise, and is booked today. The follow-up is opened from today's
appointments on the dashboard, starts from the
answers in force and the standing reasoning, takes the last visit's area, programme and test,
records discomfort and the skin response, and is signed. Target: at most 12 clicks or key
submissions and 40 typed characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from tests.factories import actor, make_episode, make_patient
from tests.flow import recheck_in_force, write_and_sign

from strigil.core import catalog
from strigil.core.screening import Answer
from strigil.services import (
    appointments,
    consents,
    measurements,
    screenings,
    treatment,
    visits,
)
from strigil.store.clinics import User
from strigil.store.engine import make_engine, make_sessionmaker

pytestmark = pytest.mark.browser

MAX_ACTIONS, MAX_TYPED = 12, 40
REASONING = "On apixaban; no bruising history"
DOSE = "Gentle only, at most 60 s per area"


@dataclass
class Counted:
    """The page, with every click, submission and typed character counted."""

    page: Any
    actions: list[str] = field(default_factory=list)
    typed: int = 0

    def click(self, locator: Any, what: str) -> None:
        locator.click()
        self.actions.append(what)

    def type(self, locator: Any, text: str) -> None:
        locator.fill(text)
        self.typed += len(text)

    def append(self, locator: Any, text: str) -> None:
        """Type at the end of what a box already holds (e.g. the drafted note)."""
        locator.focus()
        locator.press("Control+End")
        locator.press_sequentially(text)
        self.typed += len(text)


def _first_visit(database_url: str, email: str) -> str:
    """Patient, screening with a precaution, consent, and a signed first visit; the name."""
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            name = _record_first_visit(session, email)
            session.commit()
    finally:
        engine.dispose()
    return name


def _record_first_visit(session: Session, email: str) -> str:
    from sqlalchemy import select

    therapist = session.scalars(select(User).where(User.email == email)).one()
    who = actor(therapist)
    patient = make_patient(session, therapist, given_name="Quinn", family_name="Followup")
    episode = make_episode(session, therapist, patient)
    answers = {r.id: Answer(False) for r in catalog.screening_rules()} | {"R1": Answer(True)}
    screenings.screen(
        session=session,
        actor=who,
        episode_id=episode.external_id,
        answers=answers,
        reasoning=REASONING,
        dose_modification=DOSE,
    )
    consents.record(session=session, actor=who, episode_id=episode.external_id, decision="granted")
    visit = visits.start(
        session=session,
        actor=who,
        episode_id=episode.external_id,
        data=visits.VisitStart(
            tolerance_limit=6,
            recheck=recheck_in_force(session, episode),
            reasoning=REASONING,
            dose_modification=DOSE,
        ),
    )
    elbow = treatment.AreaInput(
        "lateral_elbow", "right", "stainless_steel", "gentle", ("sweep",), 45, seconds=50
    )
    area = treatment.add_area(session=session, actor=who, visit_id=visit.external_id, data=elbow)
    treatment.record_reading(session=session, actor=who, treated_area_id=area.external_id, value=3)
    treatment.stop_area(
        session=session, actor=who, treated_area_id=area.external_id, reason="completed"
    )
    treatment.prescribe(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        data=treatment.Prescription("wrist_extensor_stretch", sets=2, hold_seconds=30),
    )
    measurements.add(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        data=measurements.MeasurementInput(kind="ppt", side="right", pre_value=190.0),
    )
    write_and_sign(session, who, visit.external_id)
    today = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    appointments.book(
        session=session,
        actor=who,
        data=appointments.AppointmentInput(patient.external_id, therapist.external_id, today),
    )
    return f"{patient.given_name} {patient.family_name}"


def _follow_up(c: Counted, name: str, shots: Path) -> None:
    page = c.page
    today = page.get_by_test_id("today-appointments").locator("li", has_text=name)
    c.click(today.get_by_role("link", name="Start visit"), "start from today's appointment")
    form = page.get_by_test_id("start-visit")
    assert form.locator('input[name="tolerance_limit"][value="6"]').is_checked()
    assert form.get_by_label("Clinical reasoning").input_value() == REASONING
    assert form.get_by_test_id("standing-reasoning").is_visible()
    c.type(form.get_by_test_id("bp-systolic"), "128")
    c.type(form.get_by_test_id("bp-diastolic"), "82")
    page.screenshot(path=str(shots / "f1-follow-up-start.png"), full_page=True)
    c.click(page.get_by_role("button", name="Start visit"), "start the visit")
    page.get_by_test_id("carry").wait_for()
    page.screenshot(path=str(shots / "f2-follow-up-offer.png"), full_page=True)
    c.click(page.get_by_test_id("carry-start-areas"), "take last visit's area")
    area = page.get_by_test_id("area").first
    area.wait_for()
    assert "(planned 0:50)" in area.inner_text()
    c.click(area.get_by_role("button", name="Start timer"), "start the timer")
    page.wait_for_timeout(1500)
    c.click(area.get_by_role("button", name="Discomfort 3", exact=True), "discomfort 3/10")
    area = page.get_by_test_id("area").first
    area.get_by_test_id("reading").first.wait_for()
    c.click(area.get_by_role("button", name="Redness (erythema)"), "skin: redness")
    area = page.get_by_test_id("area").first
    area.get_by_test_id("skin-grade").filter(has_text="erythema").wait_for()
    c.click(area.get_by_test_id("complete-area"), "area completed")
    page.get_by_test_id("area").first.get_by_test_id("stopped").wait_for()
    c.click(page.get_by_test_id("carry-prescribe"), "same home programme")
    page.get_by_test_id("prescriptions").wait_for()
    c.type(page.get_by_label("Pressure pain threshold (right), today (kPa)"), "215")
    c.click(page.get_by_test_id("carry-record-tests"), "today's pre-test")
    page.get_by_test_id("tests-table").wait_for()
    c.click(page.get_by_test_id("redraft"), "draft the note from the visit")
    form = page.get_by_test_id("note-form")
    form.filter(has_text="apixaban").wait_for()
    c.append(form.get_by_label("Assessment"), " Improving.")
    page.screenshot(path=str(shots / "f3-follow-up-note.png"), full_page=True)
    c.click(form.get_by_test_id("sign"), "sign")
    page.get_by_test_id("signed").wait_for()
    page.screenshot(path=str(shots / "f4-follow-up-signed.png"), full_page=True)


def test_a_routine_follow_up_takes_at_most_12_actions(
    browser: Any, live_server: Any, shots: Path
) -> None:
    name = _first_visit(live_server.database_url, live_server.email)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill(live_server.email)
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    counted = Counted(page)
    try:
        _follow_up(counted, name, shots)
    except Exception:
        page.screenshot(path=str(shots / "f-failure.png"), full_page=True)
        raise
    finally:
        context.close()
    summary = f"{len(counted.actions)} actions, {counted.typed} characters: {counted.actions}"
    (shots / "follow-up-count.txt").write_text(summary + "\n")
    assert len(counted.actions) <= MAX_ACTIONS, summary
    assert counted.typed <= MAX_TYPED, summary
