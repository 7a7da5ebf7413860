"""The signed note as a record: undo before signing, signer identity, digest, billing lines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text, update
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, write_and_sign
from tests.flow import recheck_answers as recheck

from strigil.errors import Conflict, InvalidInput, NotPermitted
from strigil.services import (
    adverse_events,
    charges,
    corrections,
    measurements,
    notes,
    treatment,
    visits,
)
from strigil.services.actors import Actor
from strigil.store.base import utcnow
from strigil.store.clinics import User
from strigil.store.visits import BillingLine, TreatedArea, Visit


@pytest.fixture
def world(session: Session) -> dict[str, object]:
    clinic = make_clinic(session)
    therapist = make_user(session, clinic, display_name="Dana Smith")
    therapist.credentials, therapist.licence_number = "DPT", "PT-12345"
    patient = make_patient(session, therapist)
    episode = make_episode(session, therapist, patient)
    ready_for_iastm(session, therapist, episode)
    return {"clinic": clinic, "therapist": therapist, "patient": patient, "episode": episode}


def _who(world: dict[str, object]) -> Actor:
    return actor(world["therapist"])  # type: ignore[arg-type]


def _visit(session: Session, world: dict[str, object]) -> Visit:
    return visits.start(
        session=session,
        actor=_who(world),
        episode_id=world["episode"].external_id,  # type: ignore[attr-defined]
        data=visits.VisitStart(tolerance_limit=6, recheck=recheck()),
    )


def _area(session: Session, who: Actor, visit: Visit, seconds: int = 0) -> TreatedArea:
    data = treatment.AreaInput(
        body_site="lateral_elbow",
        side="right",
        instrument_type="stainless_steel",
        intensity="gentle",
        strokes=("sweep",),
        angle_deg=45,
        seconds=seconds,
    )
    return treatment.add_area(session=session, actor=who, visit_id=visit.external_id, data=data)


def test_a_mistaken_reading_that_stopped_an_area_is_undone(
    session: Session, world: dict[str, object]
) -> None:
    who = _who(world)
    visit = _visit(session, world)
    area = _area(session, who, visit)
    treatment.record_reading(session=session, actor=who, treated_area_id=area.external_id, value=2)
    wrong = treatment.record_reading(
        session=session, actor=who, treated_area_id=area.external_id, value=7
    )
    assert wrong.stopped and area.stop_reason == "tolerance_reached"
    corrections.mark_in_error(
        session=session,
        actor=who,
        kind="reading",
        record_id=wrong.reading.external_id,
        reason="Tapped 7 instead of 2",
        visit_id=visit.external_id,
    )
    assert area.status == "active" and area.stop_reason is None
    assert wrong.reading.entered_in_error_reason == "Tapped 7 instead of 2"
    draft = visits.draft_note(session=session, actor=who, visit_id=visit.external_id)
    assert "Discomfort readings 2 (out of 10)" in draft.objective and "7" not in draft.objective


def test_undo_keeps_a_stop_another_valid_reading_still_causes(
    session: Session, world: dict[str, object]
) -> None:
    who = _who(world)
    visit = _visit(session, world)
    area = _area(session, who, visit)
    first = treatment.record_reading(
        session=session,
        actor=who,
        treated_area_id=area.external_id,
        value=3,
        patient_asked_to_stop=True,
    )
    assert first.stopped
    area.status = "active"  # a second reading was recorded before the stop (imported data)
    second = treatment.record_reading(
        session=session, actor=who, treated_area_id=area.external_id, value=9
    )
    corrections.mark_in_error(
        session=session, actor=who, kind="reading", record_id=second.reading.external_id, reason="x"
    )
    assert area.status == "stopped" and area.stop_reason == "patient_request"


def test_findings_link_to_areas_and_wrong_items_leave_the_note(
    session: Session, world: dict[str, object]
) -> None:
    who = _who(world)
    visit = _visit(session, world)
    area = _area(session, who, visit, seconds=90)
    finding = treatment.add_finding(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        data=treatment.FindingInput("back", 0.3, 0.4, "lateral_elbow", "gravelly", 2),
    )
    corrections.link_finding(
        session=session, actor=who, finding_id=finding.external_id, treated_area_id=area.external_id
    )
    draft = visits.draft_note(session=session, actor=who, visit_id=visit.external_id)
    assert "gravelly, severity 2/3; treated in area 1" in draft.objective
    corrections.mark_in_error(
        session=session, actor=who, kind="finding", record_id=finding.external_id, reason="wrong"
    )
    draft = visits.draft_note(session=session, actor=who, visit_id=visit.external_id)
    assert "No restrictions recorded." in draft.objective


def test_typed_time_is_corrected_and_billed_counting_down(
    session: Session, world: dict[str, object]
) -> None:
    who = _who(world)
    visit = _visit(session, world)
    area = _area(session, who, visit)
    treatment.stop_area(
        session=session, actor=who, treated_area_id=area.external_id, reason="completed"
    )
    corrections.correct_time(
        session=session,
        actor=who,
        treated_area_id=area.external_id,
        seconds=7 * 60 + 59,
        version=area.version,
    )
    bill = visits.charges_for(session, visit)
    assert [(ln.code, ln.minutes, ln.units) for ln in bill.lines] == [("97140", 7, 0)]
    corrections.correct_time(
        session=session,
        actor=who,
        treated_area_id=area.external_id,
        seconds=480,
        version=area.version,
    )
    assert visits.charges_for(session, visit).lines[0].units == 1


def test_pre_post_tests_appear_with_their_change(
    session: Session, world: dict[str, object]
) -> None:
    who = _who(world)
    visit = _visit(session, world)
    rom = measurements.add(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        data=measurements.MeasurementInput(
            kind="rom", joint="elbow", motion="extension", side="right", pre_value=-10
        ),
    )
    measurements.record_post(session=session, actor=who, measurement_id=rom.external_id, value=-4)
    measurements.add(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        data=measurements.MeasurementInput(
            kind="provocation", name="Resisted wrist extension", pre_value=6, post_value=3
        ),
    )
    draft = visits.draft_note(session=session, actor=who, visit_id=visit.external_id)
    assert "Range of motion (right elbow extension): -10° before, -4° after (change +6°)" in (
        draft.objective
    )
    assert "Resisted wrist extension: 6/10 before, 3/10 after (change -3/10)" in draft.objective
    assert "Resisted wrist extension improved (-3/10)" in draft.assessment
    assert "No pre/post tests recorded" not in draft.objective


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (measurements.MeasurementInput(kind="rom", motion="flexion", pre_value=10), "joint"),
        (
            measurements.MeasurementInput(kind="provocation", name="Squat", pre_value=11),
            "pre_value",
        ),
        (measurements.MeasurementInput(kind="other", name="Grip", pre_value=20), "unit"),
        (measurements.MeasurementInput(kind="xray", name="X", pre_value=1), "kind"),
    ],
)
def test_bad_tests_are_refused_naming_the_field(
    session: Session, world: dict[str, object], data: measurements.MeasurementInput, field: str
) -> None:
    visit = _visit(session, world)
    with pytest.raises(InvalidInput) as err:
        measurements.add(session=session, actor=_who(world), visit_id=visit.external_id, data=data)
    assert err.value.field == field


def test_signature_records_the_signer_and_a_digest_and_verify_passes(
    session: Session, world: dict[str, object]
) -> None:
    who = _who(world)
    visit = _visit(session, world)
    write_and_sign(session, who, visit.external_id)
    assert (visit.signer_name, visit.signer_credentials, visit.signer_licence) == (
        "Dana Smith",
        "DPT",
        "PT-12345",
    )
    assert visit.note_digest and len(visit.note_digest) == 64
    assert visit.note_digest == notes.digest_of(session, visit)
    row = visits.add_addendum(session=session, actor=who, visit_id=visit.external_id, text="Call.")
    assert (row.author_name, row.author_credentials) == ("Dana Smith", "DPT")
    clinic = world["clinic"].name  # type: ignore[attr-defined]
    assert notes.verify(session=session, clinic_name=clinic).changed == ()


def test_after_signing_nothing_can_be_corrected_and_the_text_is_frozen(
    session: Session, world: dict[str, object]
) -> None:
    who = _who(world)
    visit = _visit(session, world)
    area = _area(session, who, visit, seconds=60)
    treatment.stop_area(
        session=session, actor=who, treated_area_id=area.external_id, reason="completed"
    )
    draft = visits.draft_note(session=session, actor=who, visit_id=visit.external_id)
    visits.save_note(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        note={"objective": draft.objective, "assessment": draft.assessment, "plan": "Continue."},
        version=None,
    )
    visits.sign(session=session, actor=who, visit_id=visit.external_id, version=None)
    signed_text = visit.assessment
    with pytest.raises(Conflict) as err:
        corrections.correct_time(
            session=session,
            actor=who,
            treated_area_id=area.external_id,
            seconds=5,
            version=area.version,
        )
    assert err.value.code == "note_signed" and area.seconds == 60
    with pytest.raises(Conflict):
        corrections.mark_in_error(
            session=session, actor=who, kind="area", record_id=area.external_id, reason="x"
        )
    with pytest.raises(Conflict):
        charges.add_line(
            session=session, actor=who, visit_id=visit.external_id, code="97110", seconds=600
        )
    adverse_events.report(
        session=session,
        actor=who,
        patient_id=world["patient"].external_id,  # type: ignore[attr-defined]
        data=adverse_events.EventInput(
            "bruise", "moderate", "Bruise 3 cm", visit_id=visit.external_id
        ),
    )
    assert visit.assessment == signed_text and "No adverse events recorded." in signed_text
    assert notes.verify(session=session).changed == ()


def test_verify_names_a_visit_changed_behind_the_application(
    session: Session, world: dict[str, object], is_postgres: bool
) -> None:
    who = _who(world)
    visit = _visit(session, world)
    write_and_sign(session, who, visit.external_id)
    other = _visit(session, world)
    write_and_sign(session, who, other.external_id)
    session.flush()
    if is_postgres:  # the trigger refuses the change; only a superuser bypassing it can tamper
        session.execute(text("SET LOCAL session_replication_role = replica"))
    session.execute(update(Visit).where(Visit.id == visit.id).values(plan="Discharge."))
    session.expire_all()
    result = notes.verify(session=session)
    assert str(visit.external_id) in result.changed
    assert str(other.external_id) not in result.changed


@pytest.mark.postgres
def test_postgres_refuses_changes_to_a_signed_note(
    session: Session, world: dict[str, object]
) -> None:
    from sqlalchemy.exc import DBAPIError

    who = _who(world)
    visit = _visit(session, world)
    write_and_sign(session, who, visit.external_id)
    session.flush()
    with pytest.raises(DBAPIError, match="signed note is locked"), session.begin_nested():
        session.execute(update(Visit).where(Visit.id == visit.id).values(assessment="Edited."))
    session.execute(update(Visit).where(Visit.id == visit.id).values(cosigned_at=utcnow()))
    line = BillingLine(
        clinic_id=visit.clinic_id,
        visit_id=visit.id,
        recorded_by_id=visit.therapist_id,
        code="97110",
        seconds=600,
    )
    with pytest.raises(DBAPIError, match="signed note is locked"), session.begin_nested():
        session.add(line)
        session.flush()


def test_assistant_notes_wait_for_a_therapist_cosignature(
    session: Session, world: dict[str, object]
) -> None:
    world["clinic"].assistant_notes_need_cosign = True  # type: ignore[attr-defined]
    assistant = make_user(session, world["clinic"], role="assistant")  # type: ignore[arg-type]
    assistant.credentials = "PTA"
    visit = _visit(session, world)
    write_and_sign(session, actor(assistant), visit.external_id)
    assert visit.cosign_required and visit.signer_credentials == "PTA"
    with pytest.raises(NotPermitted):
        visits.cosign(session=session, actor=actor(assistant), visit_id=visit.external_id)
    visits.cosign(session=session, actor=_who(world), visit_id=visit.external_id)
    assert visit.cosigner_name == "Dana Smith" and visit.cosigned_at is not None
    with pytest.raises(Conflict):
        visits.cosign(session=session, actor=_who(world), visit_id=visit.external_id)
    assert notes.verify(session=session).changed == ()


def test_billing_lines_are_checked_and_change_nothing_when_bad(
    session: Session, world: dict[str, object]
) -> None:
    who = _who(world)
    visit = _visit(session, world)
    _area(session, who, visit, seconds=33 * 60)
    charges.add_line(
        session=session, actor=who, visit_id=visit.external_id, code="97110", seconds=7 * 60
    )
    charges.add_line(
        session=session, actor=who, visit_id=visit.external_id, code="97161", seconds=None
    )
    bill = visits.charges_for(session, visit)
    by_code = {ln.code: ln for ln in bill.lines}
    assert by_code["97140"].units == 2 and by_code["97110"].units == 1  # CMS: 40 min → 3 units
    assert by_code["97161"].units == 1 and bill.total_timed_minutes == 40
    bad = [
        ({"code": "99999", "seconds": 600}, "code"),
        ({"code": "97112", "seconds": None}, "seconds"),
        ({"code": "97010", "seconds": 600}, "seconds"),
        ({"code": "97161", "seconds": None}, "code"),
    ]
    for kwargs, field in bad:
        with pytest.raises(InvalidInput) as err:
            charges.add_line(session=session, actor=who, visit_id=visit.external_id, **kwargs)  # type: ignore[arg-type]
        assert err.value.field == field, kwargs
    visit.ended_at = visit.started_at + timedelta(minutes=45)
    with pytest.raises(InvalidInput) as err:
        charges.add_line(
            session=session, actor=who, visit_id=visit.external_id, code="97530", seconds=6 * 60
        )
    assert err.value.code == "over_visit_length" and err.value.field == "seconds"
    assert session.query(BillingLine).filter_by(visit_id=visit.id).count() == 2


def test_a_role_that_may_not_sign_changes_nothing(
    session: Session, world: dict[str, object]
) -> None:
    researcher = make_user(session, world["clinic"], role="researcher")  # type: ignore[arg-type]
    visit = _visit(session, world)
    visits.save_note(
        session=session,
        actor=_who(world),
        visit_id=visit.external_id,
        note={"assessment": "A.", "plan": "P."},
        version=None,
    )
    with pytest.raises(NotPermitted) as err:
        visits.sign(
            session=session, actor=actor(researcher), visit_id=visit.external_id, version=None
        )
    assert err.value.field == "signer"
    assert visit.status == "in_progress" and visit.signer_name is None


def test_a_bruise_stops_the_area_as_ecchymosis(session: Session, world: dict[str, object]) -> None:
    who = _who(world)
    visit = _visit(session, world)
    area = _area(session, who, visit, seconds=60)
    treatment.grade_skin(
        session=session, actor=who, treated_area_id=area.external_id, grade="ecchymosis"
    )
    assert area.stop_reason == "ecchymosis"
    draft = visits.draft_note(session=session, actor=who, visit_id=visit.external_id)
    assert (
        "bruising (ecchymosis) appeared" in draft.objective and "petechiae" not in draft.objective
    )


def test_seal_gives_generated_signed_notes_a_digest(
    session: Session, world: dict[str, object]
) -> None:
    visit = _visit(session, world)
    therapist: User = world["therapist"]  # type: ignore[assignment]
    visit.status, visit.signed_at, visit.signed_by_id = "signed", utcnow(), therapist.id
    session.flush()
    assert str(visit.external_id) in notes.verify(session=session).changed
    assert notes.seal_unsealed(session=session) >= 1
    assert visit.signer_name == "Dana Smith"
    assert str(visit.external_id) not in notes.verify(session=session).changed
