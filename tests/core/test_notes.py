"""SOAP drafts: built from the facts only, with the skilled-service elements (S28)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from strigil.core.notes import (
    AdverseEventFact,
    FindingFact,
    PrecautionFact,
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
    instrument="stainless_steel",
    strokes=("sweep", "fan"),
    angle_degrees=45,
    intensity="moderate",
    seconds=150,
    readings=(2, 5),
    tolerance=6,
    stop_reason="completed",
    skin_grade="erythema",
    ref="a1",
)
FACTS = VisitFacts(
    patient_display_name="Ana P.",
    visit_date=date(2026, 5, 4),
    visit_number=2,
    condition_title="Achilles tendinopathy",
    subjective="Morning stiffness for 20 minutes.",
    tests=(PrePostResult("Ankle dorsiflexion", 8, 12, "°", True, ref="t1"),),
    findings=(FindingFact("f1", "achilles", "right", "gravelly", 2, "a1"),),
    areas=(AREA,),
    exercises=(PrescribedExercise("eccentric_heel_drop", 3, 15, None, "daily", ref="e1"),),
    plan="Reassess VISA-A at visit 4.",
    next_visit=date(2026, 5, 7),
    functional_goal="climb stairs without pain",
    performed_by="Dana Smith, PT",
    timed_minutes=(("97140", 2), ("97110", 10)),
)


def test_sections_carry_the_documentation_elements() -> None:
    note = draft_soap(FACTS)
    assert "Ana P." in note.subjective and "visit 2" in note.subjective
    assert "Morning stiffness" in note.subjective
    obj = note.objective
    for part in (
        "right Achilles tendon",
        "lower leg and ankle",
        "stainless steel instrument",
        "sweep and fan",
        "45°",
        "moderate intensity",
        "2 min 30 s",
        "Restriction at the right Achilles tendon: gravelly, severity 2/3; treated in area 1",
        "Discomfort readings 2, 5 (out of 10) against an agreed limit of 6/10",
        "erythema",
        "8° before, 12° after (change +4°)",
        "Total timed minutes: 12 (97140 2 min, 97110 10 min).",
    ):
        assert part in obj, part
    assert "stainless_steel" not in obj
    assert "Treatment performed by Dana Smith, PT." in note.assessment
    assert "one-on-one" not in note.as_text()
    assert "Ankle dorsiflexion improved (+4°)" in note.assessment
    assert "climb stairs without pain" in note.assessment
    assert "within the agreed discomfort limit" in note.assessment
    assert "Heel drop on a step (3 × 15, daily)" in note.plan
    assert "2026-05-07" in note.plan and "VISA-A" in note.plan
    assert "massage" not in note.as_text().lower()


def test_missing_facts_are_not_invented() -> None:
    bare = VisitFacts("B.", date(2026, 1, 2), 1, "Neck pain", performed_by="Dana Smith, PT")
    note = draft_soap(bare)
    assert "No patient report recorded." in note.subjective
    assert "No pre/post tests recorded." in note.objective
    assert "No restrictions recorded." in note.objective
    assert "No areas were treated" in note.objective
    assert "performed by" not in note.assessment and "tolerated" not in note.assessment
    assert "No adverse events recorded." in note.assessment
    assert "No home exercises" in note.plan and "Next visit" not in note.plan
    assert "Total timed minutes" not in note.objective


def test_stops_worsening_and_adverse_events_are_reported() -> None:
    stopped = replace(
        AREA, site="calf", stop_reason="tolerance_reached", readings=(3, 6), asked_to_stop=False
    )
    facts = replace(
        FACTS,
        areas=(stopped,),
        tests=(
            PrePostResult("Pain on heel raise", 3, 5, "/10", False),
            PrePostResult("PPT", 300, 300),
        ),
        adverse_events=(AdverseEventFact("ae1", "bruise", "moderate", "bruise 2 cm at calf"),),
    )
    note = draft_soap(facts)
    assert "Stopped because discomfort reached the agreed limit." in note.objective
    assert "3/10 before" in note.objective
    assert "limited by tolerance at the right calf" in note.assessment
    assert "Pain on heel raise worsened (+2/10)" in note.assessment
    assert "PPT unchanged" in note.assessment
    assert "Adverse event: bruise (moderate): bruise 2 cm at calf." in note.assessment
    assert "No adverse events recorded" not in note.assessment


def test_a_bruise_stops_as_ecchymosis_not_petechiae() -> None:
    for reason in ("ecchymosis", "petechiae"):  # older rows stored a bruise as petechiae
        area = replace(AREA, stop_reason=reason, skin_grade="ecchymosis")
        text = draft_soap(replace(FACTS, areas=(area,))).objective
        assert "bruising (ecchymosis) appeared" in text and "petechiae appeared" not in text


def test_free_text_and_other_stop_reason_are_shown_as_given() -> None:
    area = replace(
        AREA,
        site="scar over old incision",
        region="abdomen",
        strokes=("zigzag",),
        stop_reason="other",
        stop_note="patient felt light-headed",
    )
    note = draft_soap(replace(FACTS, areas=(area,), findings=()))
    assert "scar over old incision (abdomen)" in note.objective
    assert "zigzag strokes" in note.objective
    assert "patient felt light-headed" in note.objective


def test_total_time_sums_the_areas() -> None:
    two = (AREA, replace(AREA, site="calf", seconds=90, ref="a2"))
    note = draft_soap(replace(FACTS, areas=two))
    assert "Total IASTM time: 4 min 0 s." in note.objective


def test_precaution_reasoning_and_dose_change_are_included() -> None:
    facts = replace(
        FACTS,
        precautions=(
            PrecautionFact(
                "s1", "On apixaban; no bruising history.", "Gentle intensity only.", ("Anticoag",)
            ),
        ),
    )
    assessment = draft_soap(facts).assessment
    assert "Precautions applied (Anticoag): On apixaban; no bruising history." in assessment
    assert "Dose modification: Gentle intensity only." in assessment


def test_every_claim_names_its_source() -> None:
    note = draft_soap(FACTS)
    sources = {c.source for _, c in note.claims}
    assert {"area:a1", "finding:f1", "test:t1", "exercise:e1", "performer"} <= sources
    for section, claim in note.claims:
        assert claim.text in getattr(note, section)


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
