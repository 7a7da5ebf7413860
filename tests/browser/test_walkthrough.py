"""A new therapist's first day, in a real Chromium against a real server.

log in → new patient → episode → screening with a precaution → consent → a visit with two
areas (the second stopped at the tolerance limit, and refused when started again) → skin
response → after-care → sign → a second visit that shows the earlier findings faded and the
48-hour warning. A second walk: a clot in the left leg blocks the patient until a clearance,
then the whole left leg, while the right leg can be treated once the other side is confirmed.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

REASONING = "On apixaban for atrial fibrillation; INR not applicable, no bruising history"
DOSE = "Gentle to moderate only, shorter time per area, check skin every minute"


def snap(page: Any, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def sign_in(page: Any, live_server: Any, shots: Path) -> None:
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill(live_server.email)
    page.get_by_label("Password").fill(live_server.password)
    snap(page, shots, "01-login")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")


_walkers = itertools.count(1)


def new_patient(page: Any, shots: Path) -> None:
    """A new person each time: the walks share one server, and registering the same name and
    birth date twice would (rightly) stop at the possible-duplicate warning."""
    page.get_by_role("link", name="New patient").first.click()
    page.get_by_label("Given name").fill("Rowan")
    page.get_by_label("Family name").fill(f"Walkthrough{next(_walkers)}")
    page.get_by_label("Date of birth").fill("1979-03-14")
    page.get_by_label("Sex").select_option("female")
    snap(page, shots, "02-new-patient")
    page.get_by_role("button", name="Register patient").click()
    page.wait_for_url("**/patients/*-*")


def new_episode(page: Any, shots: Path) -> None:
    page.get_by_role("link", name="New episode of care").click()
    condition = page.get_by_role("combobox", name="Condition", exact=True)
    condition.press_sequentially("lateral epicondylitis", delay=20)
    page.wait_for_timeout(600)
    condition.fill("M77.11")
    page.get_by_label("Body region").select_option("elbow_forearm")
    page.get_by_label("Side").select_option("right")
    page.get_by_label("Primary outcome measure").select_option("PRTEE")
    page.get_by_label("Goals").fill("Carry the shopping without elbow pain")
    snap(page, shots, "03-episode")
    page.get_by_role("button", name="Open episode and screen").click()
    page.get_by_role("heading", name="Contraindication screening").wait_for()


def answer_questionnaire(page: Any, scope: Any) -> None:
    """R1 (blood thinners) yes with reasoning; every other question no."""
    scope.locator('input[name="ans_R1"][value="yes"]').check()
    scope.get_by_test_id("all-no").click()
    scope.get_by_label("Clinical reasoning").fill(REASONING)
    scope.get_by_label("Dose modification").fill(DOSE)


def screen(page: Any, shots: Path) -> None:
    form = page.get_by_test_id("screening-form")
    form.locator('input[name="ans_R1"][value="yes"]').check()
    form.get_by_test_id("all-no").click()
    form.get_by_role("button", name="Save screening").click()
    error = page.locator('[data-field="reasoning"]')
    error.wait_for()
    snap(page, shots, "04-screening-needs-reasoning")
    answer_questionnaire(page, page.get_by_test_id("screening-form"))
    page.get_by_test_id("screening-form").get_by_role("button", name="Save screening").click()
    result = page.get_by_test_id("screening-result")
    result.wait_for()
    assert "Precautions apply" in result.inner_text()
    snap(page, shots, "05-screening-result")


def consent(page: Any, shots: Path) -> None:
    page.get_by_role("link", name="Next: consent").click()
    text = page.get_by_test_id("consent-text").inner_text()
    assert "What the research says" in text and "Alternatives" in text
    snap(page, shots, "06-consent")
    page.get_by_role("button", name="Patient consents").click()
    assert "consented" in page.get_by_test_id("consent-state").inner_text()


def blood_pressure(scope: Any, systolic: str = "128", diastolic: str = "82") -> None:
    """Today's reading, taken before the visit."""
    scope.get_by_test_id("bp-systolic").fill(systolic)
    scope.get_by_test_id("bp-diastolic").fill(diastolic)


def start_visit(page: Any, shots: Path, name: str) -> None:
    page.locator(".nrs-choice", has_text="6").first.click()
    form = page.get_by_test_id("start-visit")
    assert "In force: Yes" in form.get_by_test_id("in-force-R1").inner_text()
    answer_questionnaire(page, form)
    blood_pressure(form)
    snap(page, shots, name)
    page.get_by_role("button", name="Start visit").click()
    page.get_by_test_id("tolerance").wait_for()


def add_area(page: Any, site: str, intensity: str, stroke: str) -> Any:
    form = page.get_by_test_id("add-area")
    form.get_by_label("Body site").select_option(site)
    form.get_by_label("Intensity").select_option(intensity)
    form.get_by_label(stroke).check()
    before = page.get_by_test_id("area").count()
    form.get_by_role("button", name="Start this area").click()
    page.get_by_test_id("area").nth(before).wait_for()
    return page.get_by_test_id("area").nth(before)


def place_finding(page: Any, x: float, y: float) -> None:
    chart = page.locator('svg.body-chart[data-view="front"]')
    box = chart.bounding_box()
    chart.click(position={"x": box["width"] * x, "y": box["height"] * y})
    form = page.get_by_test_id("finding-form")
    form.get_by_label("gravelly").check()
    form.get_by_label("2").check()
    before = page.get_by_test_id("finding").count()
    form.get_by_role("button", name="Add finding").click()
    page.get_by_test_id("finding").nth(before).wait_for()


def first_area(page: Any, shots: Path) -> None:
    area = add_area(page, "lateral_elbow", "gentle", "Sweep")
    area.get_by_role("button", name="Start timer").click()
    page.wait_for_timeout(2200)
    area.get_by_role("button", name="Pause timer").click()
    page.wait_for_timeout(500)  # pausing saves the timer's seconds (a new area version)
    area.get_by_label("Correct the time (mm:ss)").fill("0:45")  # sends the version the timer left
    area.get_by_role("button", name="Save time").click()
    area = page.get_by_test_id("area").nth(0)
    area.get_by_test_id("area-time").filter(has_text="0:45").wait_for()
    area.get_by_role("button", name="Discomfort 3", exact=True).click()
    page.wait_for_timeout(300)
    place_finding(page, 0.31, 0.37)
    area = page.get_by_test_id("area").nth(0)
    area.get_by_role("button", name="Redness (erythema)").click()
    area.get_by_test_id("skin-grade").filter(has_text="erythema").wait_for()
    area = page.get_by_test_id("area").nth(0)
    area.locator("summary", has_text="Stop this area").click()
    area.get_by_label("Why").select_option("completed")
    area.get_by_role("button", name="Stop area").click()
    page.get_by_test_id("area").nth(0).get_by_test_id("stopped").wait_for()
    snap(page, shots, "08-first-area")


def second_area(page: Any, shots: Path) -> None:
    cap = page.get_by_test_id("dose-cap").inner_text()
    assert "at most gentle" in cap and "R1" in cap  # shown before the therapist chooses
    area = add_area(page, "forearm_extensors", "gentle", "Fan")
    area.get_by_role("button", name="Discomfort 6 — stops this area").click()
    stopped = page.get_by_test_id("area").nth(1).get_by_test_id("stopped")
    stopped.wait_for()
    assert "tolerance reached" in stopped.inner_text()
    assert page.get_by_test_id("area").nth(1).locator(".nrs-btn").count() == 0
    page.get_by_test_id("area").nth(1).get_by_role("button", name="Redness (erythema)").click()
    page.get_by_test_id("area").nth(1).get_by_test_id("skin-grade").filter(
        has_text="erythema"
    ).wait_for()
    snap(page, shots, "09-second-area-stopped")
    restart_stopped_spot(page, shots)


def restart_stopped_spot(page: Any, shots: Path) -> None:
    """Starting the stopped site and side again is refused, with the reason at the form."""
    form = page.get_by_test_id("add-area")
    form.get_by_label("Body site").select_option("forearm_extensors")
    form.get_by_label("Fan").check()
    form.get_by_role("button", name="Start this area").click()
    error = page.get_by_test_id("add-area-error")
    error.wait_for()
    assert error.get_attribute("data-code") == "site_closed"
    assert "stay closed" in error.inner_text()
    assert page.get_by_test_id("area").count() == 2
    snap(page, shots, "09b-restart-refused")


def aftercare(page: Any, shots: Path) -> None:
    page.get_by_role("link", name="Prescribe exercises").click()
    page.get_by_test_id("library").locator("button", has_text="Prescribe").first.click()
    page.get_by_test_id("prescriptions").wait_for()
    snap(page, shots, "10-aftercare")
    page.get_by_role("link", name="Patient sheet (print)").click()
    assert "24 to 48 hours" in page.get_by_test_id("sheet").inner_text()
    snap(page, shots, "11-patient-sheet")
    page.get_by_role("link", name="Back to the visit").click()


def type_missing_times(page: Any) -> None:
    """An area whose timer never ran is warned about before signing: type its time."""
    assert page.get_by_test_id("zero-time-warning").count() == 1
    for n in range(page.get_by_test_id("area").count()):
        area = page.get_by_test_id("area").nth(n)
        if area.get_by_test_id("area-time").inner_text() == "0:00":
            area.get_by_label("Correct the time (mm:ss)").fill("1:30")
            area.get_by_role("button", name="Save time").click()
            page.get_by_test_id("area").nth(n).get_by_test_id("area-time").filter(
                has_text="1:30"
            ).wait_for()
    assert page.get_by_test_id("zero-time-warning").count() == 0


def sign(page: Any, shots: Path) -> None:
    type_missing_times(page)
    page.get_by_test_id("redraft").click()
    page.get_by_test_id("note-form").filter(has_text="tolerance").wait_for()
    form = page.get_by_test_id("note-form")
    for name in ("Assessment", "Plan"):
        box = form.get_by_label(name)
        if not box.input_value().strip():
            box.fill(f"{name} written by the therapist")
    snap(page, shots, "12-note")
    form.get_by_test_id("sign").click()
    page.get_by_test_id("signed").wait_for()
    assert page.get_by_test_id("note-form").count() == 0
    snap(page, shots, "13-signed")


def second_visit(page: Any, shots: Path) -> None:
    page.locator("nav.crumbs a").nth(1).click()
    page.get_by_role("link", name="Start a visit").click()
    start_visit(page, shots, "14-second-visit-start")
    assert page.get_by_test_id("previous-finding").count() >= 1
    area = add_area(page, "lateral_elbow", "gentle", "Sweep")
    warnings = area.get_by_test_id("area-warnings").inner_text()
    assert "48 h" in warnings
    snap(page, shots, "15-second-visit-warning")
    page.set_viewport_size({"width": 768, "height": 1024})
    snap(page, shots, "16-second-visit-768")


def walk(page: Any, live_server: Any, shots: Path) -> None:
    sign_in(page, live_server, shots)
    new_patient(page, shots)
    new_episode(page, shots)
    screen(page, shots)
    consent(page, shots)
    page.get_by_role("link", name="Start a visit").click()
    start_visit(page, shots, "07-visit-start")
    first_area(page, shots)
    second_area(page, shots)
    aftercare(page, shots)
    sign(page, shots)
    second_visit(page, shots)


def test_first_day_walkthrough(browser: Any, live_server: Any, shots: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None
    )
    expected = "status of 422"  # the screening step provokes one on purpose
    try:
        walk(page, live_server, shots)
    except Exception:
        snap(page, shots, "failure")
        raise
    page.goto(f"{live_server.url}/")
    snap(page, shots, "17-dashboard")
    context.close()
    errors = [e for e in errors if expected not in e]
    (shots / "console-errors.txt").write_text("\n".join(errors))
    assert not errors, errors


def clot_walk(page: Any, live_server: Any, shots: Path) -> None:
    sign_in(page, live_server, shots)
    page.get_by_role("link", name="New patient").first.click()
    page.get_by_label("Given name").fill("Briar")
    page.get_by_label("Family name").fill("Clotwalk")
    page.get_by_label("Date of birth").fill("1962-07-02")
    page.get_by_label("Sex").select_option("male")
    page.get_by_role("button", name="Register patient").click()
    page.wait_for_url("**/patients/*-*")
    page.get_by_role("link", name="New episode of care").click()
    page.get_by_role("combobox", name="Condition", exact=True).fill("M22.2X2")
    page.get_by_label("Body region").select_option("knee")
    page.get_by_label("Side").select_option("left")
    page.get_by_label("Primary outcome measure").select_option("LEFS")
    page.get_by_label("Goals").fill("Climb stairs")
    page.get_by_role("button", name="Open episode and screen").click()
    form = page.get_by_test_id("screening-form")
    form.locator('input[name="ans_A3"][value="yes"]').check()
    form.locator('input[name="reg_A3"][value="lower_leg_ankle"]').check()
    form.get_by_test_id("side-A3").select_option("left")
    form.get_by_test_id("all-no").click()
    form.get_by_role("button", name="Save screening").click()
    page.get_by_test_id("clearance-pending").wait_for()
    snap(page, shots, "c1-clot-screening")
    page.get_by_role("link", name="Next: consent").click()
    page.get_by_role("button", name="Patient consents").click()
    page.get_by_role("link", name="Start a visit").click()
    page.locator(".nrs-choice", has_text="6").first.click()
    form = page.get_by_test_id("start-visit")
    form.get_by_test_id("all-no").click()
    blood_pressure(form)
    assert "In force: Yes" in form.get_by_test_id("in-force-A3").inner_text()
    assert "does not lift" in form.get_by_test_id("clearance-note-A3").inner_text()
    form.locator('input[name="ans_A3"][value="no"]').check()  # a "no" cannot lift a clot
    page.get_by_role("button", name="Start visit").click()
    page.locator('[data-field="A3"]').wait_for()
    assert "clearance" in page.locator('[data-field="A3"]').inner_text()
    snap(page, shots, "c2a-clot-no-is-refused")
    page.locator("#rule-A3").screenshot(path=str(shots / "c2b-recheck-A3.png"))
    form = page.get_by_test_id("start-visit")
    form.locator('input[name="ans_A3"][value="yes"]').check()
    assert form.get_by_test_id("side-A3").input_value() == "left"  # kept from the intake
    page.get_by_role("button", name="Start visit").click()
    page.get_by_test_id("patient-blocked").wait_for()
    assert "(left)" in page.get_by_test_id("blocked-hip_thigh").inner_text()
    try_area(page, "lateral_elbow", "right", "region_blocked")  # the whole patient, for now
    snap(page, shots, "c2-clot-blocks-patient")
    clearance = page.get_by_test_id("clearance-form")
    clearance.get_by_label("Cleared by").fill("Dr. Synthetic Vascular")
    clearance.get_by_label("When").fill("2026-01-05T09:00")
    clearance.get_by_label("Note").fill("Anticoagulated six weeks; cleared away from the left leg")
    clearance.get_by_role("button", name="Record clearance").click()
    page.get_by_test_id("blocked-foot").wait_for()
    assert page.get_by_test_id("patient-blocked").count() == 0
    try_area(page, "anterior_thigh", "left", "region_blocked")  # the thigh of the clotted leg
    snap(page, shots, "c3-clot-blocks-left-leg")
    try_area(page, "anterior_thigh", "right", "other_side_unconfirmed")
    form = page.get_by_test_id("add-area")
    form.get_by_test_id("confirm-other-side").locator("input").check()
    form.get_by_role("button", name="Start this area").click()
    page.get_by_test_id("area").first.wait_for()
    assert "right side treated" in page.get_by_test_id("area-warnings").first.inner_text()
    snap(page, shots, "c4-right-thigh-treated")


def try_area(page: Any, site: str, side: str, code: str) -> None:
    """Try to start an area; the refusal and its reason appear on the add form."""
    form = page.get_by_test_id("add-area")
    form.get_by_label("Body site").select_option(site)
    form.get_by_label("Side", exact=True).select_option(side)
    form.get_by_role("button", name="Start this area").click()
    error = page.get_by_test_id("add-area-error")
    page.wait_for_function(
        "code => document.querySelector('[data-testid=add-area-error]')?.dataset.code === code",
        arg=code,
    )
    assert error.get_attribute("data-code") == code


def test_clot_in_the_leg_walkthrough(browser: Any, live_server: Any, shots: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        clot_walk(page, live_server, shots)
    except Exception:
        snap(page, shots, "clot-failure")
        raise
    finally:
        context.close()


def anticoagulant_walk(page: Any, live_server: Any, shots: Path) -> None:
    """On an anticoagulant at intake; by visit 2 it has stopped. A plain "no" is refused; the
    confirmed lift records a new screening and the dose cap goes."""
    sign_in(page, live_server, shots)
    page.get_by_role("link", name="New patient").first.click()
    page.get_by_label("Given name").fill("Ash")
    page.get_by_label("Family name").fill("Liftwalk")
    page.get_by_label("Date of birth").fill("1970-05-20")
    page.get_by_label("Sex").select_option("female")
    page.get_by_role("button", name="Register patient").click()
    page.wait_for_url("**/patients/*-*")
    new_episode(page, shots)
    answer_questionnaire(page, page.get_by_test_id("screening-form"))
    page.get_by_test_id("screening-form").get_by_role("button", name="Save screening").click()
    page.get_by_test_id("screening-result").wait_for()
    page.get_by_role("link", name="Next: consent").click()
    page.get_by_role("button", name="Patient consents").click()
    page.get_by_role("link", name="Start a visit").click()
    start_visit(page, shots, "l1-visit-1-start")
    assert "gentle" in page.get_by_test_id("dose-cap").inner_text()
    page.locator("nav.crumbs a").nth(1).click()
    page.get_by_role("link", name="Start a visit").click()
    page.locator(".nrs-choice", has_text="6").first.click()
    form = page.get_by_test_id("start-visit")
    in_force = form.get_by_test_id("in-force-R1").inner_text()
    assert "In force: Yes (intake, " in in_force, in_force
    assert form.locator('input[name="ans_R1"][value="yes"]').is_checked()  # starts from it
    blood_pressure(form, "118", "76")
    form.locator('input[name="ans_R1"][value="no"]').check()
    lift = form.get_by_test_id("lift-R1")
    assert lift.is_visible() and "Lift the precaution “Blood thinners”" in lift.inner_text()
    page.get_by_role("button", name="Start visit").click()  # not confirmed: refused
    page.locator('[data-field="R1"]').wait_for()
    assert "contradicts the screening in force" in page.locator("p.error[role=alert]").inner_text()
    form = page.get_by_test_id("start-visit")
    form.get_by_test_id("lift-R1").scroll_into_view_if_needed()
    snap(page, shots, "l2-recheck-contradicts-intake")
    page.locator("#rule-R1").screenshot(path=str(shots / "l2a-recheck-R1.png"))
    page.locator("#rule-A9").screenshot(path=str(shots / "l2b-recheck-blood-pressure.png"))
    form.get_by_test_id("lift-R1").locator("input").check()
    page.get_by_role("button", name="Start visit").click()
    page.get_by_test_id("tolerance").wait_for()
    assert page.get_by_test_id("dose-cap").count() == 0
    assert "118/76 mmHg" in page.get_by_test_id("blood-pressure").inner_text()
    snap(page, shots, "l3-cap-lifted")


def test_a_recheck_no_lifts_a_precaution_only_when_confirmed(
    browser: Any, live_server: Any, shots: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        anticoagulant_walk(page, live_server, shots)
    except Exception:
        snap(page, shots, "lift-failure")
        raise
    finally:
        context.close()
