"""SOAP drafts: built from the facts only, with the skilled-service elements (S28)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from strigil.core.notes import (
    PrePostResult,
    PrescribedExercise,
    TreatedArea,
    VisitFacts,
    draft_soap,
)
from strigil.errors import InvalidInput

AREA = TreatedArea(
    region="lower_leg_ankle",
    site="achilles",
    side="right",
    instrument="GT5",
    strokes=("sweep", "fan"),
    angle_degrees=45,
    intensity="moderate",
    seconds=150,
    max_discomfort=5,
    tolerance=6,
    stop_reason="completed",
    skin_grade="erythema",
    findings_count=2,
    findings_texture=("gravelly",),
)
FACTS = VisitFacts(
    patient_display_name="Ana P.",
    visit_date=date(2026, 5, 4),
    visit_number=2,
    condition_title="Achilles tendinopathy",
    subjective="Morning stiffness for 20 minutes.",
    tests=(PrePostResult("Ankle dorsiflexion", 8, 12, "degrees", True),),
    areas=(AREA,),
    exercises=(PrescribedExercise("eccentric_heel_drop", 3, 15, None, "daily"),),
    plan="Reassess VISA-A at visit 4.",
    next_visit=date(2026, 5, 7),
    functional_goal="climb stairs without pain",
)


def test_sections_carry_the_documentation_elements() -> None:
    note = draft_soap(FACTS)
    assert "Ana P." in note.subjective and "visit 2" in note.subjective
    assert "Morning stiffness" in note.subjective
    obj = note.objective
    for part in (
        "right Achilles tendon",
        "lower leg and ankle",
        "GT5",
        "sweep and fan",
        "45°",
        "moderate intensity",
        "2 min 30 s",
        "Restrictions found: 2 (gravelly)",
        "5/10",
        "6/10",
        "erythema",
        "8 degrees before, 12 degrees after (change +4)",
    ):
        assert part in obj, part
    assert "Skilled instrument-assisted soft tissue mobilization" in note.assessment
    assert "Ankle dorsiflexion improved (+4)" in note.assessment
    assert "climb stairs without pain" in note.assessment
    assert "within the agreed discomfort limit" in note.assessment
    assert "Heel drop on a step (3 × 15, daily)" in note.plan
    assert "2026-05-07" in note.plan and "VISA-A" in note.plan
    assert "massage" not in note.as_text().lower()


def test_missing_facts_are_not_invented() -> None:
    bare = VisitFacts("B.", date(2026, 1, 2), 1, "Neck pain")
    note = draft_soap(bare)
    assert "No report recorded." in note.subjective
    assert "No pre/post tests recorded." in note.objective
    assert "No areas were treated" in note.objective
    assert "Skilled" not in note.assessment and "tolerated" not in note.assessment
    assert "No adverse events recorded." in note.assessment
    assert "No home exercises" in note.plan and "Next visit" not in note.plan


def test_stops_worsening_and_adverse_events_are_reported() -> None:
    stopped = replace(AREA, site="calf", stop_reason="tolerance_reached", max_discomfort=6)
    facts = replace(
        FACTS,
        areas=(stopped,),
        tests=(
            PrePostResult("Pain on heel raise", 3, 5, "/10", False),
            PrePostResult("PPT", 300, 300),
        ),
        adverse_events=("bruise 2 cm at calf",),
    )
    note = draft_soap(facts)
    assert "Stopped because discomfort reached the agreed limit." in note.objective
    assert "3/10 before" in note.objective
    assert "limited by tolerance at the right calf" in note.assessment
    assert "Pain on heel raise worsened (+2)" in note.assessment
    assert "PPT unchanged" in note.assessment
    assert "Adverse events: bruise 2 cm at calf." in note.assessment


def test_free_text_and_other_stop_reason_are_shown_as_given() -> None:
    area = replace(
        AREA,
        site="scar over old incision",
        region="abdomen",
        strokes=("zigzag",),
        stop_reason="other",
        stop_note="patient felt light-headed",
    )
    note = draft_soap(replace(FACTS, areas=(area,)))
    assert "scar over old incision (abdomen)" in note.objective
    assert "zigzag strokes" in note.objective
    assert "patient felt light-headed" in note.objective


def test_total_time_sums_the_areas() -> None:
    note = draft_soap(replace(FACTS, areas=(AREA, replace(AREA, site="calf", seconds=90))))
    assert "Total IASTM time: 4 min 0 s." in note.objective


def test_precaution_reasoning_is_included() -> None:
    facts = replace(
        FACTS,
        clinical_reasoning="On apixaban; no bruising history.",
        dose_modification="Gentle intensity only.",
    )
    assessment = draft_soap(facts).assessment
    assert "On apixaban" in assessment and "Gentle intensity only." in assessment


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"patient_display_name": " "}, "patient_display_name"),
        ({"condition_title": ""}, "condition_title"),
        ({"visit_number": 0}, "visit_number"),
        ({"areas": (replace(AREA, seconds=-1),)}, "seconds"),
    ],
)
def test_invalid_facts_are_refused(change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        draft_soap(replace(FACTS, **change))  # type: ignore[arg-type]
    assert err.value.field == field
