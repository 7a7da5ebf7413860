"""Property: random visits built through the services draft notes that state only the record.

Every claim of the draft names its source; the test checks each source against the rows that
were recorded (and not entered in error), and each recorded row against the claims: nothing
stated that was not recorded, nothing recorded left out of its section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_episode, make_patient, make_user
from tests.flow import all_clear, recheck_in_force

from strigil.core import catalog, notes
from strigil.errors import Conflict
from strigil.services import (
    adverse_events,
    charges,
    consents,
    corrections,
    measurements,
    screenings,
    treatment,
    visits,
)
from strigil.services import notes as note_service
from strigil.services.actors import Actor

SITES = ("lateral_elbow", "medial_elbow", "forearm_extensors", "forearm_flexors")
LIMIT = 6


@dataclass
class Expected:
    """What the visit recorded, by claim kind: ref → text the claim must carry."""

    areas: dict[str, list[str]] = field(default_factory=dict)
    findings: dict[str, list[str]] = field(default_factory=dict)
    tests: dict[str, list[str]] = field(default_factory=dict)
    events: dict[str, list[str]] = field(default_factory=dict)
    exercises: dict[str, list[str]] = field(default_factory=dict)
    precautions: set[str] = field(default_factory=set)
    in_error: set[str] = field(default_factory=set)
    timed: bool = False


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    clinic = make_clinic(session)
    therapist = make_user(session, clinic, display_name="Robin Reed")
    therapist.credentials = "PT"
    patient = make_patient(session, therapist)
    episode = make_episode(session, therapist, patient)
    who = actor(therapist)
    consents.record(session=session, actor=who, episode_id=episode.external_id, decision="granted")
    return {"who": who, "patient": patient, "episode": episode}


PRECAUTION_CAP_S = 60

areas_st = st.lists(
    st.fixed_dictionaries(
        {
            "site": st.sampled_from(SITES),
            "side": st.sampled_from(("left", "right")),
            "strokes": st.lists(st.sampled_from(("sweep", "fan", "strum")), unique=True),
            "seconds": st.integers(0, 600),
            "readings": st.lists(st.tuples(st.integers(0, 10), st.booleans()), max_size=4),
            "skin": st.sampled_from((None, "none", "erythema", "petechiae", "ecchymosis")),
            "undo_last_reading": st.booleans(),
            "in_error": st.booleans(),
        }
    ),
    max_size=3,
    unique_by=lambda spec: (spec["site"], spec["side"]),  # a stopped site and side stay closed
)


def _screen(session: Session, world: dict[str, Any], precaution: bool) -> None:
    present = {"R1": ()} if precaution else {}
    screenings.screen(
        session=session,
        actor=world["who"],
        episode_id=world["episode"].external_id,
        answers=all_clear(**present),
        reasoning="On warfarin; INR stable." if precaution else None,
        dose_modification="Gentle strokes, 60 s per area." if precaution else None,
    )


def _area(session: Session, who: Actor, visit: Any, spec: dict[str, Any], exp: Expected) -> Any:
    area = treatment.add_area(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        data=treatment.AreaInput(
            body_site=spec["site"],
            side=spec["side"],
            instrument_type="stainless_steel",
            intensity="gentle",
            strokes=tuple(spec["strokes"]),
            angle_deg=45,
            seconds=spec["seconds"],
            confirm_other_side=True,
        ),
    )
    kept: list[int] = []
    rows = []
    for value, asked in spec["readings"]:
        if area.status != "active":
            break
        result = treatment.record_reading(
            session=session,
            actor=who,
            treated_area_id=area.external_id,
            value=value,
            patient_asked_to_stop=asked,
        )
        rows.append(result.reading)
        kept.append(value)
    if rows and spec["undo_last_reading"]:
        corrections.mark_in_error(
            session=session, actor=who, kind="reading", record_id=rows[-1].external_id, reason="x"
        )
        kept.pop()
    if spec["skin"]:
        treatment.grade_skin(
            session=session, actor=who, treated_area_id=area.external_id, grade=spec["skin"]
        )
    ref = str(area.external_id)
    if spec["in_error"]:
        corrections.mark_in_error(
            session=session, actor=who, kind="area", record_id=area.external_id, reason="wrong"
        )
        exp.in_error.add(ref)
        return None
    label = catalog.body_site(spec["site"]).label
    course = (
        f"Discomfort readings {', '.join(map(str, kept))} (out of 10)"
        if kept
        else "No discomfort readings recorded."
    )
    texts = [notes.duration(spec["seconds"]), label[1:], course]
    texts += [f"Skin response: {spec['skin']}."] if spec["skin"] else []
    exp.areas[ref] = texts
    return area


def _findings(
    session: Session, who: Actor, visit: Any, data: st.DataObject, live: list[Any], exp: Expected
) -> None:
    for _ in range(data.draw(st.integers(0, 3))):
        texture = data.draw(st.sampled_from(treatment.TEXTURES))
        severity = data.draw(st.integers(1, 3))
        link = data.draw(st.sampled_from([None, *live]))
        row = treatment.add_finding(
            session=session,
            actor=who,
            visit_id=visit.external_id,
            data=treatment.FindingInput(
                "back",
                0.4,
                0.4,
                data.draw(st.sampled_from(SITES)),
                texture,
                severity,
                link.external_id if link else None,
            ),
        )
        if data.draw(st.booleans()):
            corrections.mark_in_error(
                session=session, actor=who, kind="finding", record_id=row.external_id, reason="x"
            )
            exp.in_error.add(str(row.external_id))
            continue
        number = [a.id for a in live].index(link.id) + 1 if link else None
        treated = f"treated in area {number}" if number else "not linked to a treated area"
        exp.findings[str(row.external_id)] = [f"{texture}, severity {severity}/3", treated]


def _tests(session: Session, who: Actor, visit: Any, data: st.DataObject, exp: Expected) -> None:
    for n in range(data.draw(st.integers(0, 3))):
        pre = float(data.draw(st.integers(0, 10)))
        post = data.draw(st.one_of(st.none(), st.integers(0, 10).map(float)))
        row = measurements.add(
            session=session,
            actor=who,
            visit_id=visit.external_id,
            data=measurements.MeasurementInput(
                kind="provocation", name=f"Movement {n}", pre_value=pre, post_value=post
            ),
        )
        if data.draw(st.booleans()):
            corrections.mark_in_error(
                session=session,
                actor=who,
                kind="measurement",
                record_id=row.external_id,
                reason="x",
            )
            exp.in_error.add(str(row.external_id))
            continue
        after = f"{post:g}/10 after" if post is not None else "not re-measured"
        exp.tests[str(row.external_id)] = [f"Movement {n}: {pre:g}/10 before", after]


def _events_and_exercises(
    session: Session, world: dict[str, Any], visit: Any, data: st.DataObject, exp: Expected
) -> None:
    who = world["who"]
    for n in range(data.draw(st.integers(0, 2))):
        row = adverse_events.report(
            session=session,
            actor=who,
            patient_id=world["patient"].external_id,
            data=adverse_events.EventInput(
                "bruise", "mild", f"Bruise number {n} at the elbow", visit_id=visit.external_id
            ),
        )
        exp.events[str(row.external_id)] = [f"Bruise number {n} at the elbow"]
    for code in data.draw(st.lists(st.sampled_from(("wrist_extensor_stretch",)), max_size=1)):
        rx = treatment.prescribe(
            session=session,
            actor=who,
            visit_id=visit.external_id,
            data=treatment.Prescription(code, 2, repetitions=10),
        )
        if data.draw(st.booleans()):
            corrections.mark_in_error(
                session=session, actor=who, kind="exercise", record_id=rx.external_id, reason="x"
            )
            exp.in_error.add(str(rx.external_id))
        else:
            exp.exercises[str(rx.external_id)] = [catalog.exercise(code).name]
    for code in data.draw(st.lists(st.sampled_from(("97110", "97530")), max_size=2, unique=True)):
        charges.add_line(
            session=session,
            actor=who,
            visit_id=visit.external_id,
            code=code,
            seconds=data.draw(st.integers(1, 1200)),
        )


SECTION = {
    "area": "objective",
    "finding": "objective",
    "test": "objective",
    "adverse_event": "assessment",
    "precaution": "assessment",
    "exercise": "plan",
}


def _check(draft: notes.SoapDraft, exp: Expected, has_areas: bool) -> None:
    recorded = {
        "area": exp.areas,
        "finding": exp.findings,
        "test": exp.tests,
        "adverse_event": exp.events,
        "exercise": exp.exercises,
    }
    seen: dict[str, set[str]] = {k: set() for k in SECTION}
    for section, claim in draft.claims:
        kind, _, ref = claim.source.partition(":")
        assert ref not in exp.in_error, f"entered-in-error row stated: {claim.text}"
        if kind in recorded:  # stated ⇒ recorded, in its section, with its facts
            assert ref in recorded[kind], f"not recorded: {claim.text}"
            assert section == SECTION[kind], claim
            for piece in recorded[kind][ref]:
                assert piece in claim.text, (piece, claim.text)
            seen[kind].add(ref)
        elif kind == "precaution":
            assert ref in exp.precautions and section == "assessment", claim
            seen[kind].add(ref)
        elif kind == "none":  # "nothing recorded" only when nothing was
            empty = {
                "tests": exp.tests,
                "findings": exp.findings,
                "areas": exp.areas,
                "adverse_events": exp.events,
                "exercises": exp.exercises,
            }
            if ref in empty:
                assert not empty[ref], f"says none but recorded: {claim.text}"
        elif kind in {"performer", "tolerance", "total"} and ref != "timed":
            assert has_areas, claim
        elif claim.source == "total:timed":
            assert exp.timed or has_areas, claim
    for kind, rows in recorded.items():  # recorded ⇒ stated
        assert set(rows) == seen[kind], (kind, set(rows) - seen[kind])
    assert exp.precautions == seen["precaution"]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), area_specs=areas_st, precaution=st.booleans())
def test_drafted_note_states_the_record_and_only_the_record(
    session: Session,
    world: dict[str, Any],
    data: st.DataObject,
    area_specs: list[Any],
    precaution: bool,
) -> None:
    savepoint = session.begin_nested()
    try:
        who: Actor = world["who"]
        _screen(session, world, precaution)
        visit = visits.start(
            session=session,
            actor=who,
            episode_id=world["episode"].external_id,
            data=visits.VisitStart(
                tolerance_limit=LIMIT,
                recheck=recheck_in_force(session, world["episode"]),
                reasoning="Still on a blood thinner." if precaution else None,
                dose_modification="Gentle, shorter time." if precaution else None,
            ),
        )
        exp = Expected()
        if precaution:  # blood thinners cap the time per area (the dose is refused above it)
            area_specs = [s | {"seconds": min(s["seconds"], PRECAUTION_CAP_S)} for s in area_specs]
        live = [a for a in (_area(session, who, visit, s, exp) for s in area_specs) if a]
        _findings(session, who, visit, data, live, exp)
        _tests(session, who, visit, data, exp)
        _events_and_exercises(session, world, visit, data, exp)
        record = visits.load_record(session, visit)
        exp.precautions = {str(s.external_id) for s in note_service.precaution_screenings(record)}
        assert bool(exp.precautions) == precaution
        exp.timed = bool(record.billing_lines)
        draft = visits.draft_from(session, visit, record)
        _check(draft, exp, has_areas=bool(live))
        if precaution:
            assert "On warfarin; INR stable." in draft.assessment
    except Conflict as error:  # pragma: no cover - the generator never records on a stopped area
        raise AssertionError(error.detail) from error
    finally:
        savepoint.rollback()
