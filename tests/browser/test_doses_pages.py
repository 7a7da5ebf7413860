"""Instrumented doses in a real browser: the intended-dose form on the area card, the stored
doses compared with it, and the force-per-region page (screenshots for review)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.test_accessibility import _records, _sign_in


def test_intended_dose_form_and_force_per_region_page(
    browser: Any, live_server: Any, shots: Path
) -> None:
    ids = _records(live_server.database_url, live_server.email)
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    try:
        _sign_in(page, live_server.url, live_server.email, live_server.password)
        page.goto(f"{live_server.url}/visits/{ids['visit_id']}")
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
