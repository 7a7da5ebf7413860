"""The day book's rules: no double booking, series must end, statuses, visits, tenancy."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, recheck_answers

from strigil.errors import Conflict, InvalidInput, NotFound, NotPermitted
from strigil.services import appointments, visits
from strigil.services.appointments import AppointmentInput, Repeat
from strigil.store.appointments import Appointment
from strigil.store.clinics import User
from strigil.store.patients import Patient

NINE = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def therapist(session: Session) -> User:
    return make_user(session, make_clinic(session))


@pytest.fixture
def patient(session: Session, therapist: User) -> Patient:
    return make_patient(session, therapist)


def _book(
    session: Session, who: User, patient: Patient, at: datetime = NINE, **kw: object
) -> list[Appointment]:
    data = AppointmentInput(
        patient_id=patient.external_id,
        therapist_id=kw.pop("therapist_id", who.external_id),
        starts_at=at,
        **kw,  # type: ignore[arg-type]
    )
    return appointments.book(session=session, actor=actor(who), data=data)


def _count(session: Session, clinic_id: int) -> int:
    query = select(func.count()).select_from(Appointment)
    return int(session.scalar(query.where(Appointment.clinic_id == clinic_id)) or 0)


def test_book_one(session: Session, therapist: User, patient: Patient) -> None:
    [row] = _book(session, therapist, patient, minutes=30, note="First visit")
    assert row.status == "booked" and row.minutes == 30 and row.series_id is None
    assert row.ends_at == NINE + timedelta(minutes=30)


def test_overlap_is_refused_and_names_the_conflict(
    session: Session, therapist: User, patient: Patient
) -> None:
    [first] = _book(session, therapist, patient, minutes=45)
    with pytest.raises(Conflict) as caught:
        _book(session, therapist, patient, NINE + timedelta(minutes=30), minutes=30)
    assert caught.value.code == "appointment_overlap"
    assert caught.value.extra["conflict"]["appointment_id"] == str(first.external_id)
    assert "09:00" in caught.value.detail
    assert _count(session, therapist.clinic_id) == 1


def test_back_to_back_and_other_therapist_are_fine(
    session: Session, therapist: User, patient: Patient
) -> None:
    _book(session, therapist, patient, minutes=45)
    _book(session, therapist, patient, NINE + timedelta(minutes=45), minutes=45)
    colleague = make_user(session, therapist.clinic)
    _book(session, therapist, patient, NINE, therapist_id=colleague.external_id)
    assert _count(session, therapist.clinic_id) == 3


def test_cancelled_slot_can_be_booked_again(
    session: Session, therapist: User, patient: Patient
) -> None:
    [row] = _book(session, therapist, patient)
    appointments.set_status(
        session=session,
        actor=actor(therapist),
        appointment_id=row.external_id,
        status="cancelled",
        version=row.version,
    )
    _book(session, therapist, patient)
    assert _count(session, therapist.clinic_id) == 2


def test_series_without_end_is_refused(session: Session, therapist: User, patient: Patient) -> None:
    with pytest.raises(InvalidInput) as caught:
        _book(session, therapist, patient, repeat=Repeat(every_weeks=1))
    assert caught.value.code == "series_without_end" and caught.value.field == "repeat"
    assert _count(session, therapist.clinic_id) == 0


def test_weekly_series_by_count_and_by_date(
    session: Session, therapist: User, patient: Patient
) -> None:
    rows = _book(session, therapist, patient, repeat=Repeat(count=4))
    assert [r.starts_at for r in rows] == [NINE + timedelta(weeks=i) for i in range(4)]
    assert len({r.series_id for r in rows}) == 1 and rows[0].series_id is not None
    later = NINE + timedelta(hours=3)
    rows = _book(session, therapist, patient, later, repeat=Repeat(2, until=date(2027, 1, 4)))
    assert [r.starts_at.date() for r in rows] == [
        date(2026, 12, 7),
        date(2026, 12, 21),
        date(2027, 1, 4),
    ]


def test_a_series_with_one_clash_writes_nothing(
    session: Session, therapist: User, patient: Patient
) -> None:
    _book(session, therapist, patient, NINE + timedelta(weeks=2))
    with pytest.raises(Conflict):
        _book(session, therapist, patient, repeat=Repeat(count=5))
    assert _count(session, therapist.clinic_id) == 1


def test_bad_input_names_the_field(session: Session, therapist: User, patient: Patient) -> None:
    with pytest.raises(InvalidInput) as caught:
        _book(session, therapist, patient, minutes=0)
    assert caught.value.field == "minutes"
    with pytest.raises(InvalidInput) as caught:
        _book(session, therapist, patient, NINE.replace(tzinfo=None))
    assert caught.value.field == "starts_at"
    with pytest.raises(InvalidInput) as caught:
        _book(session, therapist, patient, repeat=Repeat(count=3, until=date(2027, 1, 1)))
    assert caught.value.code == "series_two_ends"


def test_status_transitions(session: Session, therapist: User, patient: Patient) -> None:
    who = actor(therapist)
    [row] = _book(session, therapist, patient)

    def move(status: str) -> None:
        appointments.set_status(
            session=session, actor=who, appointment_id=row.external_id, status=status, version=None
        )

    move("no_show")
    assert row.status == "no_show"
    with pytest.raises(Conflict):
        move("arrived")
    move("booked")
    move("arrived")
    move("cancelled")
    with pytest.raises(Conflict) as caught:
        move("booked")
    assert caught.value.code == "status_transition"
    with pytest.raises(InvalidInput):
        move("gone")


def test_stale_version_is_refused(session: Session, therapist: User, patient: Patient) -> None:
    [row] = _book(session, therapist, patient)
    with pytest.raises(Conflict) as caught:
        appointments.set_status(
            session=session,
            actor=actor(therapist),
            appointment_id=row.external_id,
            status="arrived",
            version=row.version + 5,
        )
    assert caught.value.code == "version_conflict"


def test_reschedule_checks_overlap(session: Session, therapist: User, patient: Patient) -> None:
    [a] = _book(session, therapist, patient)
    [b] = _book(session, therapist, patient, NINE + timedelta(hours=2))
    with pytest.raises(Conflict):
        appointments.reschedule(
            session=session,
            actor=actor(therapist),
            appointment_id=b.external_id,
            starts_at=NINE + timedelta(minutes=15),
            minutes=30,
            note="",
            version=b.version,
        )
    appointments.reschedule(
        session=session,
        actor=actor(therapist),
        appointment_id=a.external_id,
        starts_at=NINE + timedelta(minutes=15),
        minutes=30,
        note="Moved",
        version=a.version,
    )
    assert a.starts_at == NINE + timedelta(minutes=15) and a.note == "Moved"


def test_assistant_books_researcher_may_not(session: Session, therapist: User) -> None:
    patient = make_patient(session, therapist)
    assistant = make_user(session, therapist.clinic, role="assistant")
    rows = appointments.book(
        session=session,
        actor=actor(assistant),
        data=AppointmentInput(patient.external_id, therapist.external_id, NINE),
    )
    assert rows[0].created_by_id == assistant.id
    researcher = make_user(session, therapist.clinic, role="researcher")
    with pytest.raises(NotPermitted):
        appointments.book(
            session=session,
            actor=actor(researcher),
            data=AppointmentInput(patient.external_id, therapist.external_id, NINE),
        )
    with pytest.raises(InvalidInput) as caught:  # an assistant's time is not booked
        appointments.book(
            session=session,
            actor=actor(assistant),
            data=AppointmentInput(patient.external_id, assistant.external_id, NINE),
        )
    assert caught.value.code == "not_therapist"


def test_start_visit_links_and_marks_arrived(
    session: Session, therapist: User, patient: Patient
) -> None:
    episode = make_episode(session, therapist, patient)
    ready_for_iastm(session, therapist, episode)
    [row] = _book(session, therapist, patient)
    line = appointments.episode_for(
        session=session, actor=actor(therapist), appointment_id=row.external_id
    )
    assert line.episode_id == episode.external_id
    visit = appointments.start_visit(
        session=session,
        actor=actor(therapist),
        appointment_id=row.external_id,
        data=visits.VisitStart(tolerance_limit=6, recheck=recheck_answers()),
    )
    assert row.visit_id == visit.id and row.status == "arrived"
    assert row.episode_id == episode.id and visit.episode_id == episode.id
    with pytest.raises(Conflict):
        appointments.start_visit(
            session=session,
            actor=actor(therapist),
            appointment_id=row.external_id,
            data=visits.VisitStart(tolerance_limit=6, recheck=recheck_answers()),
        )
    with pytest.raises(Conflict):
        appointments.set_status(
            session=session,
            actor=actor(therapist),
            appointment_id=row.external_id,
            status="cancelled",
            version=None,
        )


def test_start_visit_needs_an_episode(session: Session, therapist: User, patient: Patient) -> None:
    [row] = _book(session, therapist, patient)
    with pytest.raises(InvalidInput) as caught:
        appointments.start_visit(
            session=session,
            actor=actor(therapist),
            appointment_id=row.external_id,
            data=visits.VisitStart(tolerance_limit=6, recheck=recheck_answers()),
        )
    assert caught.value.field == "episode_id"
    assert row.visit_id is None and row.status == "booked"


def test_schedule_and_today(session: Session, therapist: User, patient: Patient) -> None:
    colleague = make_user(session, therapist.clinic)
    _book(session, therapist, patient, repeat=Repeat(count=3))
    _book(session, therapist, patient, NINE, therapist_id=colleague.external_id)
    who = actor(therapist)
    week = appointments.schedule(
        session=session, actor=who, since=NINE.date(), days=7, therapist_id=therapist.external_id
    )
    assert len(week) == 1 and week[0].patient_name == patient.display_name
    assert len(appointments.schedule(session=session, actor=who, since=NINE.date(), days=21)) == 4
    assert len(appointments.today(session=session, actor=who, now=NINE)) == 2


def test_other_clinic_sees_nothing(session: Session, therapist: User, patient: Patient) -> None:
    [row] = _book(session, therapist, patient)
    stranger = make_user(session, make_clinic(session))
    who = actor(stranger)
    with pytest.raises(NotFound):
        appointments.get(session=session, actor=who, appointment_id=row.external_id)
    with pytest.raises(NotFound):
        appointments.set_status(
            session=session,
            actor=who,
            appointment_id=row.external_id,
            status="cancelled",
            version=None,
        )
    with pytest.raises(NotFound):  # another clinic's patient and therapist cannot be booked
        appointments.book(
            session=session,
            actor=who,
            data=AppointmentInput(patient.external_id, stranger.external_id, NINE),
        )
    with pytest.raises(NotFound):
        appointments.book(
            session=session,
            actor=who,
            data=AppointmentInput(
                make_patient(session, stranger).external_id, therapist.external_id, NINE
            ),
        )
    assert appointments.schedule(session=session, actor=who, since=NINE.date(), days=7) == []
    assert row.status == "booked"


def test_dates_outside_the_day_book_are_refused(
    session: Session, therapist: User, patient: Patient
) -> None:
    with pytest.raises(InvalidInput) as caught:
        _book(session, therapist, patient, datetime(9999, 12, 31, 23, 30, tzinfo=UTC))
    assert caught.value.field == "starts_at" and caught.value.code == "out_of_range"
    with pytest.raises(InvalidInput) as caught:
        appointments.schedule(session=session, actor=actor(therapist), since=date(9999, 12, 31))
    assert caught.value.field == "since"


def test_the_day_book_keeps_the_clinics_own_days_and_local_times(
    session: Session, therapist: User, patient: Patient
) -> None:
    """A New York clinic: its day ends at 05:00 UTC the next morning, and a weekly 09:00 series
    stays at 09:00 local across the change to daylight-saving time (2027-03-14)."""
    from zoneinfo import ZoneInfo

    therapist.clinic.timezone = "America/New_York"
    new_york = ZoneInfo("America/New_York")
    evening = datetime(2026, 12, 7, 21, 30, tzinfo=new_york)  # 02:30 UTC on the 8th
    [late] = _book(session, therapist, patient, at=evening)
    who = actor(therapist)
    assert appointments.clinic_zone(session=session, actor=who) == new_york
    on_the_7th = appointments.schedule(session=session, actor=who, since=date(2026, 12, 7))
    assert [a.appointment_id for a in on_the_7th] == [late.external_id]
    assert appointments.schedule(session=session, actor=who, since=date(2026, 12, 8)) == []
    before_midnight = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)  # 23:00 on the 7th in New York
    today = appointments.today(session=session, actor=who, now=before_midnight)
    assert [a.appointment_id for a in today] == [late.external_id]
    series = _book(
        session,
        therapist,
        patient,
        at=datetime(2027, 3, 8, 9, 0, tzinfo=new_york),
        repeat=Repeat(every_weeks=1, count=2),
    )
    assert [a.starts_at.astimezone(UTC).hour for a in series] == [14, 13]  # EST, then EDT
    assert {a.starts_at.astimezone(new_york).hour for a in series} == {9}
