"""Instrumented doses in a real browser: the intended-dose form on the area card, the stored
doses compared with it, and the force-per-region page (screenshots for review)."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from tests.browser.test_accessibility import _sign_in
from tests.factories import actor, make_episode, make_patient
from tests.flow import ready_for_iastm, recheck_answers

from strigil.sensors.simulate import simulate, to_csv
from strigil.services import sensors, treatment, visits
from strigil.store.clinics import User
from strigil.store.engine import make_engine, make_sessionmaker


def _visit_with_doses(database_url: str, email: str) -> str:
    """An open visit whose area has three measured doses; the visit's id."""
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            therapist = session.scalars(select(User).where(User.email == email)).one()
            who = actor(therapist)
            patient = make_patient(session, therapist, given_name="Dora",
                                   family_name="Dosewell", birth_date=date(1971, 3, 9))  # fmt: skip
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
                data=treatment.AreaInput("lateral_elbow", "right", "stainless_steel", "gentle"),
            )
            for seed in (1, 2, 3):
                sensors.record_file(
                    session=session,
                    actor=who,
                    treated_area_id=area.external_id,
                    content=to_csv(simulate(seed, strokes=6, peak_n=3.5, sample_hz=100.0)).encode(),
                    file_name=f"dose-{seed}.csv",
                    sidecar_text=None,
                    data_dir=Path(tempfile.mkdtemp(prefix="strigil-doses-")),
                )
            session.commit()
            return str(visit.external_id)
    finally:
        engine.dispose()


def test_intended_dose_form_and_force_per_region_page(
    browser: Any, live_server: Any, shots: Path
) -> None:
    visit_id = _visit_with_doses(live_server.database_url, live_server.email)
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    try:
        _sign_in(page, live_server.url, live_server.email, live_server.password)
        page.goto(f"{live_server.url}/visits/{visit_id}")
        area = page.get_by_test_id("area").first
        assert area.get_by_test_id("stored-dose").count() == 3
        area.get_by_test_id("intended-form").locator("summary").click()
        area.get_by_label("Force from (N)").fill("1")
        area.get_by_label("to (N)").fill("3")
        area.get_by_label("Strokes").fill("5")
        area.get_by_test_id("save-intended").click()
        comparison = page.get_by_test_id("dose-comparison").first
        comparison.wait_for()
        assert (
            comparison.inner_text() == "Against the intended dose: above the intended stroke count."
        )
        assert area.get_by_test_id("intended-dose").inner_text() == "1–3 N, 5 strokes"
        page.get_by_test_id("area").first.screenshot(path=str(shots / "d1-area-doses.png"))
        page.goto(f"{live_server.url}/doses")
        assert page.get_by_test_id("dose-region").count() == 1
        plot = page.locator("[data-testid=dose-plot] img")
        assert plot.evaluate("img => img.complete && img.naturalWidth > 0")
        page.screenshot(path=str(shots / "d2-force-per-region.png"), full_page=True)
    finally:
        context.close()
