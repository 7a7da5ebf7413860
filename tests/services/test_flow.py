"""The clinical flow through the services, and every entity read back on this database."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, recheck_in_force, write_and_sign
from tests.flow import recheck_answers as recheck

from strigil.errors import Conflict, InvalidInput, NotFound, NotPermitted
from strigil.services import adverse_events, outcomes, treatment, visits
from strigil.store.adverse_events import AdverseEvent
from strigil.store.episodes import Consent, Screening
from strigil.store.outcomes import OutcomeMeasurement
from strigil.store.visits import (
    DiscomfortReading,
    ExercisePrescription,
    NoteAddendum,
    RestrictionFinding,
    SkinResponse,
    TreatedArea,
    Visit,
)


@pytest.fixture
def world(session: Session) -> dict[str, object]:
    clinic = make_clinic(session)
    therapist = make_user(session, clinic)
    patient = make_patient(session, therapist)
    episode = make_episode(session, therapist, patient)
    return {"clinic": clinic, "therapist": therapist, "patient": patient, "episode": episode}


def _visit(session: Session, world: dict[str, object], **kw: object) -> Visit:
    ready_for_iastm(session, world["therapist"], world["episode"], **kw)  # type: ignore[arg-type]
    return visits.start(
        session=session,
        actor=actor(world["therapist"]),  # type: ignore[arg-type]
        episode_id=world["episode"].external_id,  # type: ignore[attr-defined]
        data=visits.VisitStart(
            tolerance_limit=6,
            recheck=recheck_in_force(session, world["episode"]),  # type: ignore[arg-type]
        ),
    )


def _area(
    session: Session,
    who: object,
    visit: Visit,
    site: str = "lateral_elbow",
    intensity: str = "gentle",
) -> TreatedArea:
    data = treatment.AreaInput(
        body_site=site,
        side="right",
        instrument_type="stainless_steel",
        intensity=intensity,
        strokes=("sweep",),
        angle_deg=45,
    )
    return treatment.add_area(session=session, actor=who, visit_id=visit.external_id, data=data)  # type: ignore[arg-type]


def test_every_entity_round_trips(session: Session, world: dict[str, object]) -> None:
    who = actor(world["therapist"])  # type: ignore[arg-type]
    visit = _visit(session, world)
    area = _area(session, who, visit)
    treatment.record_reading(session=session, actor=who, treated_area_id=area.external_id, value=3)
    treatment.add_finding(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        data=treatment.FindingInput(
            "back", 0.3, 0.4, "lateral_elbow", "gravelly", 2, area.external_id
        ),
    )
    treatment.grade_skin(
        session=session, actor=who, treated_area_id=area.external_id, grade="erythema"
    )
    treatment.stop_area(
        session=session, actor=who, treated_area_id=area.external_id, reason="completed"
    )
    treatment.prescribe(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        data=treatment.Prescription("wrist_extensor_stretch", 2, None, 30),
    )
    adverse_events.report(
        session=session,
        actor=who,
        patient_id=world["patient"].external_id,  # type: ignore[attr-defined]
        data=adverse_events.EventInput("bruise", "mild", "Small bruise."),
    )
    outcomes.record(
        session=session,
        actor=who,
        episode_id=world["episode"].external_id,  # type: ignore[attr-defined]
        data=outcomes.MeasurementInput("NPRS", [5], {}, visit.external_id),
    )
    visits.save_note(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        note={"assessment": "Tolerated well.", "plan": "Continue."},
        version=None,
    )
    visits.sign(session=session, actor=who, visit_id=visit.external_id, version=None)
    visits.add_addendum(session=session, actor=who, visit_id=visit.external_id, text="Called.")
    session.commit()
    session.expire_all()
    for model in (
        Screening,
        Consent,
        Visit,
        TreatedArea,
        DiscomfortReading,
        RestrictionFinding,
        SkinResponse,
        ExercisePrescription,
        AdverseEvent,
        OutcomeMeasurement,
        NoteAddendum,
    ):
        rows = session.scalars(select(model)).all()
        assert rows, model.__name__
        again = session.scalar(select(model).where(model.external_id == rows[-1].external_id))
        assert again is not None and again.clinic_id == world["clinic"].id  # type: ignore[attr-defined]
        assert again.created_at.tzinfo is not None


def test_reading_at_tolerance_stops_the_area_and_refuses_more(
    session: Session, world: dict[str, object]
) -> None:
    who = actor(world["therapist"])  # type: ignore[arg-type]
    visit = _visit(session, world)
    area = _area(session, who, visit)
    result = treatment.record_reading(
        session=session, actor=who, treated_area_id=area.external_id, value=6
    )
    assert result.stopped and area.stop_reason == "tolerance_reached"
    with pytest.raises(Conflict) as err:
        treatment.record_reading(
            session=session, actor=who, treated_area_id=area.external_id, value=2
        )
    assert err.value.code == "area_stopped"


def test_patient_request_stops_the_area(session: Session, world: dict[str, object]) -> None:
    who = actor(world["therapist"])  # type: ignore[arg-type]
    area = _area(session, who, _visit(session, world))
    result = treatment.record_reading(
        session=session,
        actor=who,
        treated_area_id=area.external_id,
        value=2,
        patient_asked_to_stop=True,
    )
    assert result.stopped and area.stop_reason == "patient_request"


def test_petechiae_end_the_area(session: Session, world: dict[str, object]) -> None:
    who = actor(world["therapist"])  # type: ignore[arg-type]
    area = _area(session, who, _visit(session, world))
    treatment.grade_skin(
        session=session, actor=who, treated_area_id=area.external_id, grade="petechiae"
    )
    assert area.status == "stopped" and area.stop_reason == "petechiae"


def test_first_entry_cannot_be_vigorous(session: Session, world: dict[str, object]) -> None:
    who = actor(world["therapist"])  # type: ignore[arg-type]
    visit = _visit(session, world)
    with pytest.raises(InvalidInput) as err:
        _area(session, who, visit, intensity="vigorous")
    assert err.value.field == "intensity"


def test_blocked_region_is_refused_with_the_reason(
    session: Session, world: dict[str, object]
) -> None:
    who = actor(world["therapist"])  # type: ignore[arg-type]
    visit = _visit(session, world, A1=("elbow_forearm",))
    with pytest.raises(InvalidInput) as err:
        _area(session, who, visit)
    assert err.value.code == "region_blocked" and "elbow_forearm" in err.value.detail
    assert session.scalar(select(TreatedArea.id)) is None


def test_no_iastm_without_consent(session: Session, world: dict[str, object]) -> None:
    from tests.flow import all_clear

    from strigil.services import screenings

    who = actor(world["therapist"])  # type: ignore[arg-type]
    screenings.screen(
        session=session,
        actor=who,
        episode_id=world["episode"].external_id,  # type: ignore[attr-defined]
        answers=all_clear(),
    )
    with pytest.raises(InvalidInput) as err:
        visits.start(
            session=session,
            actor=who,
            episode_id=world["episode"].external_id,  # type: ignore[attr-defined]
            data=visits.VisitStart(),
        )
    assert err.value.code == "consent_required"


def test_signed_note_is_locked(session: Session, world: dict[str, object]) -> None:
    who = actor(world["therapist"])  # type: ignore[arg-type]
    visit = _visit(session, world)
    write_and_sign(session, who, visit.external_id)
    with pytest.raises(Conflict) as err:
        visits.save_note(
            session=session,
            actor=who,
            visit_id=visit.external_id,
            note={"plan": "changed"},
            version=None,
        )
    assert err.value.code == "note_signed"


def test_researcher_and_admin_cannot_sign(session: Session, world: dict[str, object]) -> None:
    visit = _visit(session, world)
    for role in ("researcher", "admin"):
        user = make_user(session, world["clinic"], role=role)  # type: ignore[arg-type]
        with pytest.raises(NotPermitted) as err:
            visits.sign(
                session=session, actor=actor(user), visit_id=visit.external_id, version=None
            )
        assert err.value.field == "signer"
    assert visit.status == "in_progress" and visit.note_digest is None


def test_other_clinic_cannot_see_the_visit(session: Session, world: dict[str, object]) -> None:
    visit = _visit(session, world)
    stranger = make_user(session, make_clinic(session))
    with pytest.raises(NotFound):
        visits.get(session=session, actor=actor(stranger), visit_id=visit.external_id)


def test_stale_version_conflict_returns_current_values(
    session: Session, world: dict[str, object]
) -> None:
    who = actor(world["therapist"])  # type: ignore[arg-type]
    visit = _visit(session, world)
    first = visit.version
    visits.save_note(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        note={"plan": "Alice's plan"},
        version=first,
    )
    with pytest.raises(Conflict) as err:
        visits.save_note(
            session=session,
            actor=who,
            visit_id=visit.external_id,
            note={"plan": "Bob's plan"},
            version=first,
        )
    assert err.value.extra["current"]["plan"] == "Alice's plan"
    assert visit.plan == "Alice's plan"


def test_retreatment_within_48h_warns(session: Session, world: dict[str, object]) -> None:
    who = actor(world["therapist"])  # type: ignore[arg-type]
    first = _visit(session, world)
    area = _area(session, who, first)
    treatment.stop_area(
        session=session, actor=who, treated_area_id=area.external_id, reason="completed"
    )
    write_and_sign(session, who, first.external_id)
    second = visits.start(
        session=session,
        actor=who,
        episode_id=world["episode"].external_id,  # type: ignore[attr-defined]
        data=visits.VisitStart(recheck=recheck()),
    )
    again = _area(session, who, second)
    assert any("48 h" in w for w in again.warnings)
    assert treatment.previous_findings(session, second) == []


def test_iastm_visit_needs_the_medication_and_skin_recheck(
    session: Session, world: dict[str, object]
) -> None:
    ready_for_iastm(session, world["therapist"], world["episode"])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as err:
        visits.start(
            session=session,
            actor=actor(world["therapist"]),  # type: ignore[arg-type]
            episode_id=world["episode"].external_id,  # type: ignore[attr-defined]
            data=visits.VisitStart(),
        )
    assert err.value.field == "recheck"
    assert session.scalar(select(Visit.id)) is None
