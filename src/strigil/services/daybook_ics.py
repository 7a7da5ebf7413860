"""The day book as iCalendar: export a therapist's schedule, import appointments from a file.

Matching rule on import: an event names its patient by clinic record number, either in
parentheses at the end of its SUMMARY ("Ada Lovelace (P-1A2B3C4D5E)") or on a DESCRIPTION line
"Record: P-1A2B3C4D5E". That is what the export writes, so an exported file imports back.
Events that name no known patient, are all-day, recur, or clash with a booked slot are
reported line by line and not imported; everything else is booked through the same service
as a booking on the page. A file that is not iCalendar is refused before anything is written.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
from sqlalchemy.orm import Session

from strigil.errors import Conflict, InvalidInput
from strigil.services import appointments, audit
from strigil.services.actors import Actor, Permission, require
from strigil.services.appointments import AppointmentInput, AppointmentLine
from strigil.store import appointments as store
from strigil.store import records

MAX_BYTES = 2_000_000
PRODID = "-//Strigil//Day book//EN"
_IN_SUMMARY = re.compile(r"\(([A-Za-z0-9][A-Za-z0-9-]{0,39})\)\s*$")
_IN_DESCRIPTION = re.compile(r"^\s*Record:\s*([A-Za-z0-9][A-Za-z0-9-]{0,39})\s*$", re.M)


def export(
    *, session: Session, actor: Actor, therapist_id: object, since: date, days: int = 62
) -> bytes:
    """The therapist's non-cancelled appointments from ``since`` as an .ics calendar."""
    lines = appointments.schedule(
        session=session, actor=actor, since=since, days=days, therapist_id=therapist_id
    )
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    for line in lines:
        if line.status != "cancelled":
            calendar.add_component(_event(line))
    return calendar.to_ical()


def _event(line: AppointmentLine) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", f"{line.appointment_id}@strigil")
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", line.starts_at.astimezone(UTC))
    event.add("dtend", line.ends_at.astimezone(UTC))
    event.add("summary", f"{line.patient_name} ({line.record_number})")
    description = f"Record: {line.record_number}\nStatus: {line.status}"
    event.add("description", description + (f"\n{line.note}" if line.note else ""))
    event.add("status", "CONFIRMED")
    return event


@dataclass(frozen=True, slots=True)
class Skipped:
    """An event of the file that was not imported, and why."""

    number: int  # the event's position in the file, from 1
    uid: str
    summary: str
    reason: str


@dataclass(frozen=True, slots=True)
class ImportResult:
    booked: Sequence[appointments.Appointment] = ()
    skipped: Sequence[Skipped] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Item:
    number: int
    uid: str
    summary: str
    record: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    problem: str | None


def parse(content: bytes) -> list[_Item]:
    """The events of an iCalendar file, each with its record number and times or a problem.

    Raises:
        InvalidInput: the file is empty, too big, or not an iCalendar VCALENDAR.
    """
    if not content.strip():
        raise InvalidInput("the file is empty", field="file", code="empty_file")
    if len(content) > MAX_BYTES:
        raise InvalidInput(
            f"the file must be at most {MAX_BYTES:,} bytes", field="file", code="too_large"
        )
    try:
        calendar = icalendar.Calendar.from_ical(content)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError) as error:
        raise InvalidInput(
            f"the file is not iCalendar (RFC 5545): {str(error)[:120]}",
            field="file",
            code="not_icalendar",
        ) from None
    if getattr(calendar, "name", None) != "VCALENDAR":
        raise InvalidInput(
            "the file is not iCalendar: it must start with BEGIN:VCALENDAR",
            field="file",
            code="not_icalendar",
        )
    return [_item(n, e) for n, e in enumerate(calendar.walk("VEVENT"), start=1)]


def _item(number: int, event: Any) -> _Item:
    uid = str(event.get("uid", ""))
    summary = str(event.get("summary", ""))
    record = _record_number(summary, str(event.get("description", "")))
    try:
        starts_at, ends_at, problem = _times(event)
    except (ValueError, TypeError, AttributeError, OverflowError, KeyError):
        starts_at, ends_at, problem = None, None, "its start or end cannot be read"
    if problem is None and event.get("rrule") is not None:
        problem = "recurring events are not imported; book the series in Strigil"
    return _Item(number, uid, summary, record, starts_at, ends_at, problem)


def _record_number(summary: str, description: str) -> str | None:
    found = _IN_SUMMARY.search(summary) or _IN_DESCRIPTION.search(description)
    return found.group(1) if found else None


def _times(event: Any) -> tuple[datetime | None, datetime | None, str | None]:
    if event.get("dtstart") is None:
        return None, None, "it has no start (DTSTART)"
    start = event.decoded("dtstart")
    if not isinstance(start, datetime):
        return None, None, "all-day events are not appointments"
    start = _aware(start)
    if event.get("dtend") is not None:
        end = event.decoded("dtend")
        end = _aware(end) if isinstance(end, datetime) else None
    elif event.get("duration") is not None:
        end = start + event.decoded("duration")
    else:
        end = start + timedelta(minutes=45)
    if end is None or end <= start:
        return start, end, "it ends before it starts"
    return start, end, None


def _aware(moment: datetime) -> datetime:
    """A floating (zone-less) time is read as UTC, the zone the day book keeps."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def import_calendar(
    *, session: Session, actor: Actor, therapist_id: object, content: bytes
) -> ImportResult:
    """Book the file's events for the therapist; report those that could not be matched.

    The whole import is one unit of work: a file that is not iCalendar raises before any
    write, and the caller's transaction commits the bookings together.
    """
    require(actor, Permission.BOOK)
    therapist = appointments.therapist(session=session, actor=actor, therapist_id=therapist_id)
    items = parse(content)
    numbers = [i.record for i in items if i.record]
    patients = store.find_patients_by_record_numbers(session, actor.clinic_id, numbers)
    booked: list[appointments.Appointment] = []
    skipped: list[Skipped] = []
    for item in items:
        reason = _refusal(session, actor, item, patients)
        if reason is None:
            try:
                booked += _book(session, actor, therapist.external_id, item, patients)
            except Conflict as error:
                reason = error.detail
            except InvalidInput as error:
                reason = error.detail
        if reason is not None:
            skipped.append(Skipped(item.number, item.uid, item.summary[:200], reason))
    _audit(session, actor, therapist_id, len(booked), len(skipped))
    return ImportResult(booked=booked, skipped=skipped)


def _refusal(session: Session, actor: Actor, item: _Item, patients: dict[str, Any]) -> str | None:
    if item.problem is not None:
        return item.problem
    if item.record is None:
        return (
            "no record number: end the summary with it in parentheses, e.g. "
            "'Ada Lovelace (P-1A2B3C4D5E)', or add a line 'Record: P-1A2B3C4D5E'"
        )
    if item.record not in patients:
        return f"no patient with record number {item.record}"
    if _already_booked(session, actor, item.uid):
        return "already in the day book (same UID)"
    return None


def _already_booked(session: Session, actor: Actor, uid: str) -> bool:
    key = uid.removesuffix("@strigil")
    try:
        public_id = uuid.UUID(key)
    except ValueError:
        return False
    found = records.find_owned(session, appointments.Appointment, public_id, actor.clinic_id)
    return found is not None


def _book(
    session: Session, actor: Actor, therapist_id: object, item: _Item, patients: dict[str, Any]
) -> list[appointments.Appointment]:
    assert item.starts_at is not None and item.ends_at is not None and item.record is not None
    minutes = int((item.ends_at - item.starts_at).total_seconds() // 60)
    data = AppointmentInput(
        patient_id=patients[item.record].external_id,
        therapist_id=therapist_id,
        starts_at=item.starts_at,
        minutes=minutes,
        note=f"Imported from iCalendar ({item.uid[:80]})" if item.uid else "Imported",
    )
    with session.begin_nested():
        return appointments.book(session=session, actor=actor, data=data)


def _audit(session: Session, actor: Actor, therapist_id: object, booked: int, skipped: int) -> None:
    audit.record(
        session=session,
        actor=actor,
        action="import",
        entity_type="appointment_schedule",
        detail={"therapist_id": str(therapist_id), "booked": booked, "skipped": skipped},
    )
