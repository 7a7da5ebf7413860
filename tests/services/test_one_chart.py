"""One chart per person: duplicate warnings, confirmed new persons, merge and unmerge, search."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, recheck_answers, write_and_sign

from strigil.errors import Conflict, InvalidInput, NotFound, NotPermitted
from strigil.services import adverse_events, clearances, merges, outcomes, patients, visits
from strigil.services.patients import PatientInput, PossibleDuplicate
from strigil.store.audit import AuditEvent
from strigil.store.base import utcnow
from strigil.store.clinics import Clinic, User
from strigil.store.merges import REFERENCING
from strigil.store.visits import Visit

BORN = date(1975, 3, 9)


def _person(**kw: Any) -> PatientInput:
    values: dict[str, Any] = {
        "given_name": "José",
        "family_name": "Núñez-Ortiz",
        "birth_date": BORN,
        "sex": "male",
        "phone": "+1 (555) 010-2000",
        "email": "Jose.Nunez@example.org",
    }
    return PatientInput(**(values | kw))


@pytest.fixture
def therapist(session: Session) -> User:
    return make_user(session, make_clinic(session), display_name="Robin Ash")


def _register(session: Session, user: User, data: PatientInput, **kw: Any) -> patients.Patient:
    return patients.register(session=session, actor=actor(user), data=data, **kw)


def test_same_name_and_birth_date_warns_ignoring_case_accents_and_spaces(
    session: Session, therapist: User
) -> None:
    first = _register(session, therapist, _person())
    again = _person(given_name=" jose ", family_name="NUNEZ-ortiz", phone=None, email=None)
    with pytest.raises(PossibleDuplicate) as caught:
        _register(session, therapist, again)
    assert caught.value.status == 409 and caught.value.code == "possible_duplicate"
    (candidate,) = caught.value.extra["candidates"]
    assert candidate["id"] == str(first.external_id)
    assert candidate["matched_on"] == ["name_and_birth_date"]


def test_same_phone_digits_or_email_warns(session: Session, therapist: User) -> None:
    first = _register(session, therapist, _person())
    with pytest.raises(PossibleDuplicate) as caught:
        _register(session, therapist, _person(given_name="Ana", phone="1-555-010-2000", email=None))
    assert caught.value.extra["candidates"][0]["matched_on"] == ["phone"]
    with pytest.raises(PossibleDuplicate) as caught:
        _register(
            session,
            therapist,
            _person(
                given_name="Bo",
                birth_date=date(1990, 1, 1),
                phone=None,
                email=" JOSE.NUNEZ@EXAMPLE.ORG ",
            ),
        )
    assert caught.value.extra["candidates"][0] == caught.value.extra["candidates"][0] | {
        "id": str(first.external_id),
        "matched_on": ["email"],
    }


def test_a_different_person_registers_without_a_warning(session: Session, therapist: User) -> None:
    _register(session, therapist, _person())
    other = _person(given_name="Josefa", phone="555 999 1234", email="josefa@example.org")
    assert _register(session, therapist, other).given_name == "Josefa"


def test_confirming_a_new_person_creates_the_chart_and_audits_it(
    session: Session, therapist: User
) -> None:
    first = _register(session, therapist, _person())
    second = _register(session, therapist, _person(), confirm_new_person=True)
    assert second.id != first.id
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.entity_id == str(second.external_id))
    ).one()
    assert event.action == "create" and event.detail == {"confirmed_new_person": True}


def test_the_warning_changes_nothing_and_other_clinics_do_not_count(
    session: Session, therapist: User
) -> None:
    _register(session, therapist, _person())
    elsewhere = make_user(session, make_clinic(session))
    assert _register(session, elsewhere, _person()).clinic_id != therapist.clinic_id
    count = len(patients.search(session=session, actor=actor(therapist), text="nunez"))
    with pytest.raises(PossibleDuplicate):
        _register(session, therapist, _person())
    assert len(patients.search(session=session, actor=actor(therapist), text="nunez")) == count


def _full_chart(session: Session, user: User, patient: patients.Patient) -> dict[str, Any]:
    """A chart with an episode, screening, consent, a signed visit, a measurement, an event."""
    who = actor(user)
    episode = make_episode(session, user, patient)
    ready_for_iastm(session, user, episode)
    visit = visits.start(
        session=session,
        actor=who,
        episode_id=episode.external_id,
        data=visits.VisitStart(tolerance_limit=6, recheck=recheck_answers()),
    )
    outcomes.record(
        session=session,
        actor=who,
        episode_id=episode.external_id,
        data=outcomes.MeasurementInput("NPRS", [5], {}, visit.external_id),
    )
    adverse_events.report(
        session=session,
        actor=who,
        patient_id=patient.external_id,
        data=adverse_events.EventInput(
            "bruise", "mild", "Small bruise", visit_id=visit.external_id
        ),
    )
    write_and_sign(session, who, visit.external_id)
    clearances.record_clearance(
        session=session,
        actor=who,
        episode_id=episode.external_id,
        rule_id="A3",
        cleared_by="Dr. Synthetic Vascular",
        cleared_at=utcnow() - timedelta(hours=2),
        note="Cleared for treatment away from the clot.",
    )
    session.flush()
    return {"episode": episode, "visit": visit}


def _rows_of(session: Session, patient: patients.Patient) -> dict[str, set[int]]:
    return {
        model.__tablename__: set(
            session.scalars(select(model.id).where(model.patient_id == patient.id)).all()
        )
        for model in REFERENCING
    }


def test_merge_moves_every_related_row_and_keeps_the_signed_note(
    session: Session, therapist: User
) -> None:
    keep = make_patient(session, therapist, given_name="Kept")
    dup = make_patient(session, therapist, given_name="Dup")
    _full_chart(session, therapist, keep)
    chart = _full_chart(session, therapist, dup)
    before_keep, before_dup = _rows_of(session, keep), _rows_of(session, dup)
    assert all(before_dup.values()), before_dup  # every referencing table has a row to move
    signed: Visit = chart["visit"]
    note = (signed.assessment, signed.plan, signed.note_digest, signed.signed_at)
    row = merges.merge(
        session=session,
        actor=actor(therapist),
        source_id=dup.external_id,
        target_id=keep.external_id,
        reason="Same person registered twice",
    )
    after = _rows_of(session, keep)
    assert after == {t: before_keep[t] | before_dup[t] for t in after}
    assert not any(_rows_of(session, dup).values())
    assert row.moved_rows == {t: sorted(ids) for t, ids in before_dup.items()}
    session.refresh(signed)
    assert (signed.assessment, signed.plan, signed.note_digest, signed.signed_at) == note
    assert signed.patient_id == keep.id
    assert dup.merged_into_id == keep.id and dup.is_entered_in_error
    actions = session.scalars(
        select(AuditEvent.patient_id).where(AuditEvent.action == "merge")
    ).all()
    assert sorted(actions) == sorted([str(dup.external_id), str(keep.external_id)])


def test_a_merged_chart_leaves_search_but_opens_by_link(session: Session, therapist: User) -> None:
    keep = make_patient(session, therapist, family_name="Merriweather")
    dup = make_patient(session, therapist, family_name="Merriweather", given_name="Ada M")
    who = actor(therapist)
    merges.merge(
        session=session,
        actor=who,
        source_id=dup.external_id,
        target_id=keep.external_id,
        reason="duplicate",
    )
    found = patients.search(session=session, actor=who, text="merriweather")
    assert [p.id for p in found] == [keep.id]
    opened = patients.get_chart(session=session, actor=who, patient_id=dup.external_id)
    view = merges.merged_view(session=session, actor=who, patient=opened)
    assert view is not None and view.target.id == keep.id
    with pytest.raises(NotFound):  # no write path reaches a merged chart
        patients.get(session=session, actor=who, patient_id=dup.external_id)


def test_unmerge_restores_the_chart_and_moves_exactly_the_moved_rows_back(
    session: Session, therapist: User
) -> None:
    keep = make_patient(session, therapist, given_name="Kept")
    dup = make_patient(session, therapist, given_name="Dup")
    _full_chart(session, therapist, keep)
    _full_chart(session, therapist, dup)
    before_keep, before_dup = _rows_of(session, keep), _rows_of(session, dup)
    who = actor(therapist)
    row = merges.merge(
        session=session,
        actor=who,
        source_id=dup.external_id,
        target_id=keep.external_id,
        reason="duplicate",
    )
    later = make_episode(session, therapist, keep)  # added to the surviving chart after merging
    merges.unmerge(session=session, actor=who, merge_id=row.external_id, reason="not the same")
    assert _rows_of(session, dup) == before_dup
    assert _rows_of(session, keep) == {
        t: ids | ({later.id} if t == "episode" else set()) for t, ids in before_keep.items()
    }
    assert dup.merged_into_id is None and not dup.is_entered_in_error
    assert row.is_entered_in_error
    assert patients.get(session=session, actor=who, patient_id=dup.external_id).id == dup.id
    with pytest.raises(Conflict):
        merges.unmerge(session=session, actor=who, merge_id=row.external_id, reason="again")


def test_cross_clinic_merge_is_refused(session: Session, therapist: User) -> None:
    keep = make_patient(session, therapist)
    other = make_patient(session, make_user(session, make_clinic(session)))
    with pytest.raises(NotFound):
        merges.merge(
            session=session,
            actor=actor(therapist),
            source_id=other.external_id,
            target_id=keep.external_id,
            reason="duplicate",
        )
    assert other.merged_into_id is None


@pytest.mark.parametrize("role", ["assistant", "researcher", "admin"])
def test_roles_without_clinical_judgement_may_not_merge(
    session: Session, therapist: User, role: str
) -> None:
    keep, dup = make_patient(session, therapist), make_patient(session, therapist)
    user = make_user(session, session.get(Clinic, therapist.clinic_id), role=role)
    with pytest.raises(NotPermitted):
        merges.merge(
            session=session,
            actor=actor(user),
            source_id=dup.external_id,
            target_id=keep.external_id,
            reason="duplicate",
        )


def test_merge_needs_a_reason_and_two_charts(session: Session, therapist: User) -> None:
    keep = make_patient(session, therapist)
    who = actor(therapist)
    with pytest.raises(InvalidInput) as caught:
        merges.merge(
            session=session,
            actor=who,
            source_id=keep.external_id,
            target_id=keep.external_id,
            reason=" ",
        )
    assert caught.value.field == "reason"
    with pytest.raises(InvalidInput) as caught:
        merges.merge(
            session=session,
            actor=who,
            source_id=keep.external_id,
            target_id=keep.external_id,
            reason="dup",
        )
    assert caught.value.code == "same_chart"


@pytest.mark.parametrize("typed", ["1975-03-09", "9.3.1975", "09/03/1975", "9/3/1975"])
def test_search_by_birth_date_formats(session: Session, therapist: User, typed: str) -> None:
    born = make_patient(session, therapist, birth_date=BORN)
    make_patient(session, therapist, birth_date=date(1975, 9, 3))
    found = patients.search(session=session, actor=actor(therapist), text=typed)
    assert [p.id for p in found] == [born.id]


def test_search_by_phone_digits_and_record_number(session: Session, therapist: User) -> None:
    who = actor(therapist)
    mine = _register(session, therapist, _person())
    _register(
        session,
        therapist,
        _person(
            given_name="Lu",
            family_name="Xi",
            birth_date=date(2000, 2, 2),
            phone="555 777 8888",
            email=None,
        ),
    )
    for typed in ("010-2000", "(555) 010 2000", "5550102000", "0102"):
        assert [p.id for p in patients.search(session=session, actor=who, text=typed)] == [
            mine.id
        ], typed
    by_number = patients.search(session=session, actor=who, text=mine.record_number.lower())
    assert [p.id for p in by_number] == [mine.id]
    both = patients.search(session=session, actor=who, text="nunez 1975-03-09")
    assert [p.id for p in both] == [mine.id]


@pytest.mark.postgres
def test_postgres_lets_a_signed_visit_change_chart_only_through_a_merge(
    session: Session, therapist: User
) -> None:
    from sqlalchemy import update
    from sqlalchemy.exc import DBAPIError

    owner = make_patient(session, therapist, given_name="Owner")
    stranger = make_patient(session, therapist, given_name="Stranger")
    visit: Visit = _full_chart(session, therapist, owner)["visit"]
    with pytest.raises(DBAPIError, match="signed note is locked"), session.begin_nested():
        session.execute(update(Visit).where(Visit.id == visit.id).values(patient_id=stranger.id))
    with pytest.raises(DBAPIError, match="signed note is locked"), session.begin_nested():
        session.execute(update(Visit).where(Visit.id == visit.id).values(plan="Changed."))
    merges.merge(
        session=session,
        actor=actor(therapist),
        source_id=owner.external_id,
        target_id=stranger.external_id,
        reason="duplicate",
    )
    session.refresh(visit)
    assert visit.patient_id == stranger.id and visit.plan == "Continue."
