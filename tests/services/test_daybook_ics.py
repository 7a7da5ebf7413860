"""iCalendar: a therapist's schedule exports, imports back, and a bad file changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_patient, make_user

from strigil.errors import InvalidInput, NotPermitted
from strigil.services import appointments, daybook_ics
from strigil.services.appointments import AppointmentInput, Repeat
from strigil.store.appointments import Appointment
from strigil.store.clinics import User

NINE = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def therapist(session: Session) -> User:
    return make_user(session, make_clinic(session))


def _count(session: Session, clinic_id: int) -> int:
    query = select(func.count()).select_from(Appointment)
    return int(session.scalar(query.where(Appointment.clinic_id == clinic_id)) or 0)


def _event(summary: str, start: str, end: str = "", extra: str = "") -> str:
    lines = ["BEGIN:VEVENT", f"UID:{summary[:8]}-{start}@example.org", f"DTSTART:{start}"]
    lines += [f"DTEND:{end}"] if end else []
    lines += [f"SUMMARY:{summary}", *([extra] if extra else []), "END:VEVENT"]
    return "\r\n".join(lines)


def _calendar(*events: str) -> bytes:
    body = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Synthetic//Test//EN", *events]
    return ("\r\n".join([*body, "END:VCALENDAR"]) + "\r\n").encode()


def test_export_then_import_round_trip(session: Session, therapist: User) -> None:
    who = actor(therapist)
    patient = make_patient(session, therapist, given_name="Ada", family_name="Roundtrip")
    appointments.book(
        session=session,
        actor=who,
        data=AppointmentInput(
            patient.external_id,
            therapist.external_id,
            NINE,
            30,
            "Bring shorts",
            None,
            Repeat(count=3),
        ),
    )
    content = daybook_ics.export(
        session=session, actor=who, therapist_id=therapist.external_id, since=NINE.date()
    )
    calendar = icalendar.Calendar.from_ical(content)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 3
    assert str(events[0]["summary"]) == f"Ada Roundtrip ({patient.record_number})"
    assert events[0].decoded("dtstart") == NINE
    assert events[0].decoded("dtend") == NINE + timedelta(minutes=30)
    # The same file again: every event is already in the day book.
    again = daybook_ics.import_calendar(
        session=session, actor=who, therapist_id=therapist.external_id, content=content
    )
    assert again.booked == [] and len(again.skipped) == 3
    assert all("already" in s.reason for s in again.skipped)
    # Into a colleague's empty day book: all three are booked with the same times.
    colleague = make_user(session, therapist.clinic)
    result = daybook_ics.import_calendar(
        session=session,
        actor=who,
        therapist_id=colleague.external_id,
        content=content.replace(b"@strigil", b"@elsewhere"),
    )
    assert result.skipped == []
    assert [(a.starts_at, a.minutes, a.patient_id) for a in result.booked] == [
        (NINE + timedelta(weeks=i), 30, patient.id) for i in range(3)
    ]


def test_import_matches_by_record_number_and_reports_the_rest(
    session: Session, therapist: User
) -> None:
    who = actor(therapist)
    patient = make_patient(session, therapist)
    blocker = make_patient(session, therapist)
    appointments.book(
        session=session,
        actor=who,
        data=AppointmentInput(blocker.external_id, therapist.external_id, NINE + timedelta(days=1)),
    )
    content = _calendar(
        _event(f"Follow-up ({patient.record_number})", "20261207T090000Z", "20261207T094500Z"),
        _event(
            "Follow-up",
            "20261207T100000Z",
            "20261207T103000Z",
            f"DESCRIPTION:Record: {patient.record_number}",
        ),
        _event("Someone (P-NOSUCH0000)", "20261207T110000Z", "20261207T113000Z"),
        _event("No number at all", "20261207T120000Z", "20261207T123000Z"),
        _event(f"All day ({patient.record_number})", "20261207"),
        _event(f"Clash ({patient.record_number})", "20261208T091500Z", "20261208T093000Z"),
    ).replace(b"DTSTART:20261207\r\n", b"DTSTART;VALUE=DATE:20261207\r\n")
    result = daybook_ics.import_calendar(
        session=session, actor=who, therapist_id=therapist.external_id, content=content
    )
    assert [a.starts_at.hour for a in result.booked] == [9, 10]
    reasons = {s.number: s.reason for s in result.skipped}
    assert set(reasons) == {3, 4, 5, 6}
    assert "P-NOSUCH0000" in reasons[3]
    assert "record number" in reasons[4]
    assert "all-day" in reasons[5]
    assert "overlaps" in reasons[6]
    assert _count(session, therapist.clinic_id) == 3


@pytest.mark.parametrize(
    "content",
    [b"", b"this is not a calendar", b"BEGIN:VEVENT\r\nEND:VEVENT\r\n", b"\x89PNG\r\n\x1a\n"],
    ids=["empty", "text", "bare-event", "binary"],
)
def test_not_icalendar_is_refused_and_changes_nothing(
    session: Session, therapist: User, content: bytes
) -> None:
    with pytest.raises(InvalidInput) as caught:
        daybook_ics.import_calendar(
            session=session,
            actor=actor(therapist),
            therapist_id=therapist.external_id,
            content=content,
        )
    assert caught.value.field == "file"
    assert _count(session, therapist.clinic_id) == 0


def test_researcher_may_not_import(session: Session, therapist: User) -> None:
    researcher = make_user(session, therapist.clinic, role="researcher")
    with pytest.raises(NotPermitted):
        daybook_ics.import_calendar(
            session=session,
            actor=actor(researcher),
            therapist_id=therapist.external_id,
            content=_calendar(),
        )


def test_an_event_at_the_end_of_the_calendar_is_reported_not_a_crash(
    session: Session, therapist: User
) -> None:
    patient = make_patient(session, therapist)
    content = _calendar(
        _event(f"Far ({patient.record_number})", "99991231T233000Z", extra="DURATION:PT2H")
    )
    result = daybook_ics.import_calendar(
        session=session,
        actor=actor(therapist),
        therapist_id=therapist.external_id,
        content=content,
    )
    assert result.booked == [] and len(result.skipped) == 1
