"""Every page passes axe-core (WCAG 2.1 A and AA) with no serious or critical violation, at a
laptop's 1366 px and a tablet's 820 px, and the visit's actions are reachable by keyboard.

The pages are taken from the app's own routes, so a new page is checked without being listed
here; only fragments (swapped into a page by htmx) and files (PDF, CSV, SVG) are left out.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.browser.axe import describe, violations
from tests.factories import PASSWORD, actor, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, recheck_answers, write_and_sign
from tests.security.routes import app_routes

from strigil.sensors.simulate import simulate, to_csv
from strigil.services import appointments, sensors, treatment, visit_templates, visits
from strigil.store.clinics import User
from strigil.store.engine import make_engine, make_sessionmaker
from strigil.web.app import create_app

pytestmark = pytest.mark.browser

WIDTHS = (1366, 820)
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@walkthrough.test", PASSWORD
FILES = (".pdf", ".csv", ".svg", ".ics")
FRAGMENTS = frozenset(
    {
        "/icd10",  # diagnosis suggestions for the episode form
        "/episodes/{episode_id}/measure-form",  # one measure's questions
        "/episodes/{episode_id}/visits",  # a page of the episode's visit list
        "/patients/{patient_id}/visits",  # a page of the patient's visit list
        "/visits/{visit_id}/note-draft",  # the note form redrafted in place
        "/areas/{area_id}/sensor-live",  # an area's running dose (checked on the visit page)
    }
)


def _pages() -> list[str]:
    paths = {
        r.path
        for r in app_routes(create_app())
        if r.method == "GET" and not r.path.startswith(("/api", "/fhir", "/docs"))
    }
    return sorted(p for p in paths if not p.endswith(FILES) and p not in FRAGMENTS)


def _records(database_url: str, email: str) -> dict[str, str]:
    """A patient with a signed visit, and an admin; the ids the page paths need."""
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            ids = _make(session, email)
            session.commit()
    finally:
        engine.dispose()
    return ids


def _make(session: Session, email: str) -> dict[str, str]:
    therapist = session.scalars(select(User).where(User.email == email)).one()
    if session.scalar(select(User).where(User.email == ADMIN_EMAIL)) is None:
        make_user(session, therapist.clinic, role="admin", email=ADMIN_EMAIL)
    who = actor(therapist)
    patient = make_patient(session, therapist, given_name="Axel", family_name="Access")
    episode = make_episode(session, therapist, patient)
    ready_for_iastm(session, therapist, episode)
    visit = visits.start(
        session=session,
        actor=who,
        episode_id=episode.external_id,
        data=visits.VisitStart(tolerance_limit=6, recheck=recheck_answers()),
    )
    area = treatment.add_area(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        data=treatment.AreaInput("lateral_elbow", "right", "stainless_steel", "gentle", ("fan",)),
    )
    for code in ("wrist_extensor_stretch", "tendon_glides"):  # the sheet shows their pictures
        treatment.prescribe(
            session=session,
            actor=who,
            visit_id=visit.external_id,
            data=treatment.Prescription(code, sets=3, hold_seconds=30),
        )
    for seed in (1, 2, 3):  # measured doses: the area card lists them and /doses plots them
        sensors.record_file(
            session=session,
            actor=who,
            treated_area_id=area.external_id,
            content=to_csv(simulate(seed, strokes=6, peak_n=3.5, sample_hz=100.0)).encode(),
            file_name=f"walk-{seed}.csv",
            sidecar_text=None,
            data_dir=Path(tempfile.mkdtemp(prefix="strigil-walk-")),
        )
    visit_templates.save_from_visit(
        session=session, actor=who, visit_id=visit.external_id, name="Elbow", condition_prefix="M77"
    )
    open_visit = str(visit.external_id)
    signed = visits.start(
        session=session,
        actor=who,
        episode_id=episode.external_id,
        data=visits.VisitStart(tolerance_limit=6, recheck=recheck_answers()),
    )
    write_and_sign(session, who, signed.external_id)
    when = (datetime.now(UTC) + timedelta(days=2)).replace(
        hour=7, minute=0, second=0, microsecond=0
    )
    [booked] = appointments.book(
        session=session,
        actor=who,
        data=appointments.AppointmentInput(patient.external_id, therapist.external_id, when),
    )
    return {
        "appointment_id": str(booked.external_id),
        "patient_id": str(patient.external_id),
        "episode_id": str(episode.external_id),
        "visit_id": open_visit,
        "signed_visit_id": str(signed.external_id),
    }


def _sign_in(page: Any, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def _check(page: Any, base: str, paths: list[str], ids: dict[str, str]) -> list[str]:
    problems: list[str] = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path in paths:
            url = base + path.format(**ids)
            response = page.goto(url)
            assert response is not None and response.status < 400, (url, response)
            problems += describe(url, width, violations(page))
    return problems


@pytest.fixture(scope="module")
def ids(live_server: Any) -> dict[str, str]:
    return _records(live_server.database_url, live_server.email)


def test_every_page_passes_axe_at_laptop_and_tablet_widths(
    browser: Any, live_server: Any, shots: Path, ids: dict[str, str]
) -> None:
    pages = _pages()
    admin = [p for p in pages if p.startswith("/admin")]
    clinical = [p for p in pages if p not in admin]
    assert len(clinical) >= 20 and len(admin) >= 5, pages
    context = browser.new_context(bypass_csp=True)  # axe is injected as an inline script
    page = context.new_page()
    problems: list[str] = []
    try:
        page.goto(f"{live_server.url}/login")
        problems += describe(f"{live_server.url}/login", 1366, violations(page))
        _sign_in(page, live_server.url, live_server.email, live_server.password)
        problems += _check(page, live_server.url, clinical, ids)
        signed = ids | {"visit_id": ids["signed_visit_id"]}
        problems += _check(page, live_server.url, ["/visits/{visit_id}"], signed)
        page.goto(f"{live_server.url}/logout")
        _sign_in(page, live_server.url, ADMIN_EMAIL, ADMIN_PASSWORD)
        problems += _check(page, live_server.url, admin, ids)
    finally:
        context.close()
    (shots / "axe-report.txt").write_text("\n".join(problems) + "\n")
    assert not problems, "\n".join(problems)


def test_the_visits_actions_are_reachable_by_keyboard(
    browser: Any, live_server: Any, ids: dict[str, str]
) -> None:
    context = browser.new_context(viewport={"width": 820, "height": 1100})
    page = context.new_page()
    try:
        _sign_in(page, live_server.url, live_server.email, live_server.password)
        page.goto(f"{live_server.url}/visits/{ids['visit_id']}")
        reached = _tab_through(page, limit=600)
    finally:
        context.close()
    for name in (
        "Start timer",
        "Discomfort 3",
        "Patient asks to stop",
        "Done: completed as planned",
        "Redness (erythema)",
        "Start this area",
        "Add finding",
        "Sign and lock",
    ):
        assert any(r.startswith(name) for r in reached), (name, sorted(set(reached))[:80])


def _tab_through(page: Any, limit: int) -> list[str]:
    """The accessible names of the controls Tab reaches, in order, from the top of the page."""
    page.locator("body").focus()
    reached: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        name = page.evaluate(
            "() => { const e = document.activeElement; if (!e || e === document.body) return '';"
            " return (e.getAttribute('aria-label') || e.innerText || e.value || e.name || '')"
            ".trim(); }"
        )
        reached.append(name)
    return reached
