"""Every demo row obeys the safety rules, re-checked here row by row from the database.

The checks are written out plainly rather than by calling the generator, so a generator that
drifts from the rules fails here: a reading at or over the limit stops the area, the patient's
request stops it, petechiae or bruising end it, nothing is recorded after a stop, a closed site
and side are not started again in the visit, blocked regions are untreated, caps hold.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from strigil import demo
from strigil.core import catalog
from strigil.core.protocol import Intensity
from strigil.store.episodes import Consent, Screening, ScreeningClearance
from strigil.store.visits import DiscomfortReading, SkinResponse, TreatedArea, Visit

ANCHOR = date(2026, 11, 2)
CLOSING = {"tolerance_reached", "patient_request", "petechiae", "ecchymosis", "adverse_sign"}
SKIN_ENDS = {"petechiae", "ecchymosis"}


def _load_rows(session: Session) -> dict[str, Any]:
    readings: dict[int, list[DiscomfortReading]] = defaultdict(list)
    for r in session.scalars(select(DiscomfortReading).order_by(DiscomfortReading.id)):
        readings[r.treated_area_id].append(r)
    screenings = session.scalars(select(Screening).order_by(Screening.id)).all()
    return {
        "visits": {v.id: v for v in session.scalars(select(Visit))},
        "areas": session.scalars(select(TreatedArea).order_by(TreatedArea.id)).all(),
        "readings": readings,
        "skin": {s.treated_area_id: s.grade for s in session.scalars(select(SkinResponse))},
        "intake": {s.episode_id: s for s in screenings if s.kind == "intake"},
        "recheck": {s.visit_id: s for s in screenings if s.kind == "visit"},
        "cleared": {(c.episode_id, c.rule_id) for c in session.scalars(select(ScreeningClearance))},
    }


def _check_stop_rule(
    area: TreatedArea, readings: list[DiscomfortReading], limit: int, grade: str | None
) -> str | None:
    for index, reading in enumerate(readings):
        if reading.value >= limit or reading.patient_asked_to_stop:
            assert index == len(readings) - 1, f"area {area.id}: a reading after the stop"
            want = "patient_request" if reading.patient_asked_to_stop else "tolerance_reached"
            assert area.stop_reason == want, f"area {area.id}: {area.stop_reason} != {want}"
            return want
    assert area.stop_reason not in ("tolerance_reached", "patient_request"), area.id
    if grade in SKIN_ENDS:  # a bruise ends as a bruise, petechiae as petechiae
        assert area.stop_reason == grade, f"area {area.id}: {grade} ended as {area.stop_reason}"
    return area.stop_reason


def _check_blocks(area: TreatedArea, visit: Visit, rows: dict[str, Any]) -> None:
    assert area.visit_id in rows["recheck"], f"visit {visit.id} treated without today's re-check"
    for screening in (rows["intake"][visit.episode_id], rows["recheck"][area.visit_id]):
        result = screening.result
        assert not result["systemic_blocks"], f"area {area.id} in a blocked patient"
        for rule in result.get("clearance_pending", {}):
            assert (visit.episode_id, rule) in rows["cleared"], f"area {area.id}: {rule} uncleared"
        sides = ("left", "right") if area.side in ("bilateral", "midline") else (area.side,)
        keys = {area.body_region} | {f"{area.body_region}:{s}" for s in sides}
        assert not keys & set(result["blocked_regions"]), f"area {area.id} in a blocked region"
        caps = result.get("caps") or {}
        if caps.get("intensity"):
            assert not Intensity(area.intensity) > caps["intensity"], area.id
        if caps.get("seconds") is not None:
            assert area.seconds <= caps["seconds"], area.id


def _check_notes(rows: dict[str, Any]) -> None:
    """A signed demo note says an area stopped early exactly when one did, and names it."""
    early: dict[int, list[TreatedArea]] = defaultdict(list)
    areas_of: Counter[int] = Counter()
    for area in rows["areas"]:
        areas_of[area.visit_id] += 1
        if area.stop_reason in CLOSING:
            early[area.visit_id].append(area)
    for visit in rows["visits"].values():
        if visit.status != "signed":
            continue
        stopped = early.get(visit.id, [])
        says_stopped = "stopped early" in visit.assessment
        assert says_stopped == bool(stopped), f"visit {visit.id}: {visit.assessment!r}"
        for area in stopped:
            assert f"({area.side}) stopped early" in visit.assessment, visit.id
        assert visit.objective.count("ended because") == areas_of[visit.id], visit.id


def _check_rechecks(rows: dict[str, Any]) -> int:
    """Every re-check records a blood pressure under the limits and keeps every finding the
    intake has in force (the demo never lifts one without a confirmed lift)."""
    limits = catalog.thresholds()
    for visit_id, recheck in rows["recheck"].items():
        intake = rows["intake"][rows["visits"][visit_id].episode_id]
        bp = recheck.answers["A9"]
        assert bp["present"] is False and bp["reading"], visit_id
        assert bp["reading"]["systolic"] < limits.bp_systolic_limit, visit_id
        assert bp["reading"]["diastolic"] < limits.bp_diastolic_limit, visit_id
        assert bp["reading"]["systolic"] > bp["reading"]["diastolic"], visit_id
        for rule_id, answer in recheck.answers.items():
            held = intake.answers[rule_id]["present"] or rule_id in intake.result["flagged_rules"]
            assert answer["present"] or not held, f"visit {visit_id}: {rule_id} silently lifted"
    return len(rows["recheck"])


def check_demo(session: Session) -> Counter[str]:
    """Re-check every demo row; returns how many of each ending were seen."""
    rows = _load_rows(session)
    seen: Counter[str] = Counter()
    closed: dict[int, list[tuple[str, str]]] = defaultdict(list)
    treated: set[tuple[int, str, str]] = set()
    for area in rows["areas"]:
        visit = rows["visits"][area.visit_id]
        spot = (area.visit_id, area.body_site, area.side)
        assert spot not in treated, f"area {area.id}: the same site and side twice in a visit"
        treated.add(spot)
        grade = rows["skin"].get(area.id)
        reason = _check_stop_rule(area, rows["readings"][area.id], visit.tolerance_limit, grade)
        for site, side in closed[area.visit_id]:
            overlap = side == area.side or "bilateral" in (side, area.side)
            assert not (site == area.body_site and overlap), f"area {area.id} after a stop"
        if reason in CLOSING or grade in SKIN_ENDS:
            closed[area.visit_id].append((area.body_site, area.side))
        _check_blocks(area, visit, rows)
        seen[reason or "none"] += 1
        seen[f"skin:{grade}"] += 1
    for consent in session.scalars(select(Consent)):
        intake = rows["intake"][consent.episode_id]
        if "P3" in intake.result["applied_rules"]:
            assert consent.guardian_name and consent.guardian_relationship, consent.id
            seen["minor"] += 1
    _check_notes(rows)
    seen["rechecks"] = _check_rechecks(rows)
    seen["cleared_clot"] = len(rows["cleared"])
    seen["capped"] = sum(
        1 for s in rows["intake"].values() if (s.result.get("caps") or {}).get("intensity")
    )
    return seen


def test_the_default_demo_obeys_the_safety_rules(session: Session) -> None:
    demo.load(session=session, anchor=ANCHOR)
    seen = check_demo(session)
    assert seen["tolerance_reached"] > 0 and seen["patient_request"] > 0
    assert seen["petechiae"] > 0 and seen["ecchymosis"] > 0
    assert seen["completed"] > seen["tolerance_reached"]
    assert seen["capped"] > 0 and seen["rechecks"] > 0


@pytest.mark.slow
def test_a_2000_patient_demo_obeys_the_safety_rules(session: Session) -> None:
    demo.load(session=session, patients=2000, anchor=ANCHOR)
    seen = check_demo(session)
    assert seen["cleared_clot"] > 0 and seen["minor"] > 0 and seen["capped"] > 0
    assert seen["tolerance_reached"] > 100


def test_the_check_catches_a_row_that_breaks_the_stop_rule(session: Session) -> None:
    demo.load(session=session, patients=12, anchor=ANCHOR)
    check_demo(session)
    stopped = session.scalar(
        select(TreatedArea).where(TreatedArea.stop_reason == "tolerance_reached").limit(1)
    )
    assert stopped is not None
    stopped.stop_reason = "completed"  # what the old generator wrote
    session.flush()
    with pytest.raises(AssertionError, match="tolerance_reached"):
        check_demo(session)
