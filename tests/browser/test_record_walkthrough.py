"""The signed note as a record, in a real Chromium against a real server.

a visit with pre/post tests → a mistaken discomfort reading that stopped the area, corrected →
typed time → two more timed codes on the bill → sign (signer and digest shown) → the signed
note as a PDF and the page in print media (no buttons or forms) → an addendum with its author
→ no edit after signing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from tests.browser.test_walkthrough import (
    add_area,
    consent,
    new_episode,
    new_patient,
    screen,
    sign_in,
    snap,
    start_visit,
)

pytestmark = pytest.mark.browser


def pre_tests(page: Any, shots: Path) -> None:
    form = page.get_by_test_id("test-form")
    form.get_by_label("Kind").select_option("rom")
    form.get_by_label("Side").select_option("right")
    form.get_by_label("Joint (range of motion)").fill("elbow")
    form.get_by_label("Motion (range of motion)").fill("extension")
    form.get_by_label("Pre-test value").fill("-15")
    form.get_by_role("button", name="Add pre-test").click()
    page.get_by_test_id("test-row").first.wait_for()
    form = page.get_by_test_id("test-form")
    form.get_by_label("Kind").select_option("provocation")
    form.get_by_label("Test or movement name").fill("Resisted wrist extension")
    form.get_by_label("Pre-test value").fill("6")
    form.get_by_role("button", name="Add pre-test").click()
    page.get_by_test_id("test-row").nth(1).wait_for()
    snap(page, shots, "r01-pre-tests")


def corrected_reading(page: Any, shots: Path) -> None:
    area = add_area(page, "lateral_elbow", "gentle", "Sweep")
    area.get_by_role("button", name="Discomfort 7 — stops this area").click()
    page.get_by_test_id("area").first.get_by_test_id("stopped").wait_for()
    area = page.get_by_test_id("area").first
    area.locator("summary", has_text="Correct a reading").click()
    area.get_by_label("Reading 1 (7/10) was wrong because").fill("Tapped 7; the patient said 2")
    snap(page, shots, "r02-correct-reading")
    area.get_by_test_id("reading-in-error").click()
    page.get_by_test_id("area").first.get_by_text("treating").wait_for()
    area = page.get_by_test_id("area").first
    assert area.get_by_test_id("reading").count() == 0
    area.get_by_role("button", name="Discomfort 2", exact=True).click()
    page.get_by_test_id("area").first.get_by_test_id("reading").filter(has_text="2").wait_for()
    area = page.get_by_test_id("area").first
    area.locator("summary", has_text="Stop this area").click()
    area.get_by_label("Why").select_option("completed")
    area.get_by_role("button", name="Stop area").click()
    page.get_by_test_id("area").first.get_by_test_id("stopped").wait_for()
    area = page.get_by_test_id("area").first
    area.get_by_label("Correct the time (mm:ss)").fill("3:00")
    area.get_by_role("button", name="Save time").click()
    page.get_by_test_id("area").first.get_by_test_id("area-time").filter(has_text="3:00").wait_for()
    snap(page, shots, "r03-area-corrected")


def post_tests(page: Any) -> None:
    rows = page.get_by_test_id("test-row")
    rows.first.get_by_label(re.compile("Post-test value")).fill("-8")
    rows.first.get_by_role("button", name="Record post-test").click()
    page.get_by_test_id("test-change").first.filter(has_text="+7").wait_for()
    rows = page.get_by_test_id("test-row")
    rows.nth(1).get_by_label(re.compile("Post-test value")).fill("3")
    rows.nth(1).get_by_role("button", name="Record post-test").click()
    page.get_by_test_id("test-change").nth(1).filter(has_text="-3").wait_for()


def bill(page: Any, shots: Path) -> None:
    for code, time in (("97110", "12:00"), ("97530", "9:30")):
        form = page.get_by_test_id("billing-form")
        form.get_by_label("Code", exact=True).select_option(code)
        form.get_by_label("Time (mm:ss; blank for untimed codes)").fill(time)
        form.get_by_role("button", name="Add to the bill").click()
        page.get_by_test_id(f"charge-{code}").wait_for()
    # 3 + 12 + 9 = 24 timed minutes (9:30 counts down to 9) → 2 units by the 8-minute rule
    assert page.get_by_test_id("timed-minutes").inner_text() == "24"
    units = sum(
        int(page.get_by_test_id(f"units-{c}").inner_text()) for c in ("97140", "97110", "97530")
    )
    assert units == 2
    snap(page, shots, "r04-billing")


def sign_note(page: Any, shots: Path) -> None:
    assert page.get_by_test_id("zero-time-warning").count() == 0
    page.get_by_test_id("redraft").click()
    form = page.get_by_test_id("note-form")
    form.filter(has_text="Range of motion").wait_for()
    objective = form.get_by_label("Objective").input_value()
    assert "-15° before, -8° after (change +7°)" in objective
    assert "Discomfort readings 2 (out of 10)" in objective
    assert "Total timed minutes: 24" in objective
    assessment = form.get_by_label("Assessment").input_value()
    assert assessment.count("On apixaban") == 1  # intake and re-check said the same: once
    assert "Dose modification: Gentle to moderate only" in assessment
    form.get_by_label("Plan").fill("Continue twice weekly; reassess PRTEE at visit 4.")
    form.get_by_test_id("sign").click()
    page.get_by_test_id("signed").wait_for()
    assert "Dana Therapist" in page.get_by_test_id("signer").inner_text()
    assert len(page.get_by_test_id("digest").inner_text().strip()) == 64
    snap(page, shots, "r05-signed")


def print_and_pdf(page: Any, live_server: Any, shots: Path) -> None:
    href = page.get_by_test_id("note-pdf").get_attribute("href")
    response = page.request.get(f"{live_server.url}{href}")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    page.emulate_media(media="print")
    assert not page.get_by_test_id("note-pdf").is_visible()
    assert not page.get_by_role("button", name="Add addendum").is_visible()
    assert page.get_by_test_id("note-readonly").is_visible()
    snap(page, shots, "r06-print")
    page.emulate_media(media="screen")


def addendum_and_no_edit(page: Any, live_server: Any, shots: Path) -> None:
    page.get_by_label("Add an addendum").fill("Patient phoned next day: soreness settled.")
    page.get_by_role("button", name="Add addendum").click()
    row = page.get_by_test_id("addendum").first
    row.wait_for()
    assert "Dana Therapist" in row.inner_text() and "soreness settled" in row.inner_text()
    assert page.get_by_test_id("time-form").count() == 0
    assert page.get_by_test_id("billing-form").count() == 0
    area_id = page.get_by_test_id("area").first.get_attribute("id").removeprefix("area-")
    token = page.locator('input[name="csrf_token"]').first.input_value()
    late = page.request.post(
        f"{live_server.url}/areas/{area_id}/time",
        form={"time": "5:00", "csrf_token": token, "version": "1"},
        headers={"Accept": "application/json", "X-CSRF-Token": token},
    )
    assert late.status == 409 and late.json()["code"] == "note_signed"
    snap(page, shots, "r07-addendum")


def test_signed_record_walkthrough(browser: Any, live_server: Any, shots: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, live_server, shots)
        new_patient(page, shots)
        new_episode(page, shots)
        screen(page, shots)
        consent(page, shots)
        page.get_by_role("link", name="Start a visit").click()
        start_visit(page, shots, "r00-visit-start")
        pre_tests(page, shots)
        corrected_reading(page, shots)
        post_tests(page)
        bill(page, shots)
        sign_note(page, shots)
        print_and_pdf(page, live_server, shots)
        addendum_and_no_edit(page, live_server, shots)
    except Exception:
        snap(page, shots, "r-failure")
        raise
    finally:
        context.close()
