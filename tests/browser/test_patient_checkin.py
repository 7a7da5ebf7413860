"""The 48-hour check-in on a phone (390 px), in a real Chromium: the patient opens the link,
passes axe-core, answers with a spreading bruise, cannot send twice, and the therapist sees the
answer on the dashboard and records it as an adverse event."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.browser.axe import describe, violations
from tests.flow import iastm_visit

from strigil.services import patient_links
from strigil.store.clinics import User
from strigil.store.engine import make_engine, make_sessionmaker

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def _link(database_url: str, email: str, language: str | None = None) -> tuple[str, str]:
    """A treated visit of a new patient and a check-in link for it: (token, patient name)."""
    from tests.factories import actor

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            therapist = session.scalars(select(User).where(User.email == email)).one()
            visit = iastm_visit(session, therapist)
            token, _ = patient_links.issue_checkin(
                session=session,
                actor=actor(therapist),
                visit_id=visit.external_id,
                language=language,
            )
            name = visit.episode.patient.display_name
            session.commit()
    finally:
        engine.dispose()
    return token, name


def test_a_patient_reports_a_spreading_bruise_from_a_phone(
    browser: Any, live_server: Any, shots: Path
) -> None:
    token, name = _link(live_server.database_url, live_server.email)
    phone = browser.new_context(viewport=PHONE, bypass_csp=True)  # axe is an inline script
    page = phone.new_page()
    try:
        page.goto(f"{live_server.url}/p/{token}")
        problems = describe(page.url, PHONE["width"], violations(page))
        page.get_by_label("Soreness right now").fill("12")
        page.get_by_label("Spreading or getting bigger").check()
        for group in ("Is the skin broken?", "Any pain or swelling in a calf?", "Any numbness"):
            page.get_by_role("group", name=group).get_by_label("No").check()
        page.get_by_role("button", name="Send").click()  # 12 is out of range: the phone says so
        assert page.evaluate("() => document.getElementById('soreness').validity.rangeOverflow")
        assert page.get_by_role("button", name="Send").is_visible()  # still on the form
        page.get_by_label("Soreness right now").fill("5")
        page.get_by_role("button", name="Send").click()
        page.wait_for_load_state()
        page.screenshot(path=str(shots / "p1-checkin-sent.png"), full_page=True)
        problems += describe(page.url, PHONE["width"], violations(page))
        again = page.goto(f"{live_server.url}/p/{token}")
        assert again is not None and again.status == 410  # a check-in link works once
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
        item = page.get_by_test_id("attention-checkins").locator("li", has_text=name)
        item.wait_for()
        page.screenshot(path=str(shots / "p2-checkin-on-dashboard.png"), full_page=True)
        item.get_by_role("button", name="Record as adverse event").click()
        page.wait_for_load_state()
        attention = page.get_by_test_id("attention-checkins").locator("li", has_text=name)
        assert attention.count() == 0
        page.goto(f"{live_server.url}/")
        assert page.get_by_test_id("open-events").locator("li", has_text=name).count() == 1
    finally:
        desk.close()


def test_a_spanish_speaking_patient_answers_on_a_phone(
    browser: Any, live_server: Any, shots: Path
) -> None:
    token, _ = _link(live_server.database_url, live_server.email, language="es")
    phone = browser.new_context(viewport=PHONE, bypass_csp=True, locale="en-US")
    page = phone.new_page()
    try:
        page.goto(f"{live_server.url}/p/{token}")  # the link's language wins over the phone's
        assert page.locator("html").get_attribute("lang") == "es"
        page.screenshot(path=str(shots / "p3-checkin-es.png"), full_page=True)
        problems = describe(page.url, PHONE["width"], violations(page))
        page.get_by_label("Dolor en este momento").fill("3")
        page.get_by_label("Pequeño").check()
        for group in ("¿Tiene la piel abierta", "¿Tiene dolor o hinchazón", "¿Tiene hormigueo"):
            page.get_by_role("group", name=group).get_by_label("No").check()
        page.get_by_role("button", name="Enviar").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="Gracias").is_visible()
        problems += describe(page.url, PHONE["width"], violations(page))
        page.goto(f"{live_server.url}/p/{token}")
        assert page.get_by_role("heading", name="Respuestas ya recibidas").is_visible()
        page.screenshot(path=str(shots / "p4-checkin-es-again.png"), full_page=True)
        problems += describe(page.url, PHONE["width"], violations(page))
    finally:
        phone.close()
    assert not problems, "\n".join(problems)
