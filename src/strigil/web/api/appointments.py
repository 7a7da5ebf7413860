"""The day book in the JSON API: book, move, change status, start the visit, iCalendar."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Query
from fastapi.responses import Response

from strigil.services import appointments, daybook_ics
from strigil.web import handler_thread
from strigil.web.api.visits import VisitCreate, VisitRead
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.schemas.appointments import (
    AppointmentBooked,
    AppointmentCreate,
    AppointmentRead,
    AppointmentUpdate,
    CalendarImport,
    CalendarImported,
    SkippedEvent,
    StatusUpdate,
)

router = handler_thread.router(prefix="/appointments", tags=["appointments"])


@router.get("", response_model=list[AppointmentRead])
def list_appointments(
    db: DbSession,
    actor: CurrentActor,
    since: date,
    days: Annotated[int, Query(ge=1, le=62)] = 1,
    therapist_id: uuid.UUID | None = None,
) -> list[AppointmentRead]:
    """A therapist's (or the clinic's) appointments over ``days`` UTC days from ``since``."""
    lines = appointments.schedule(
        session=db, actor=actor, since=since, days=days, therapist_id=therapist_id
    )
    return [AppointmentRead.of(line) for line in lines]


@router.post("", response_model=AppointmentBooked, status_code=201)
def book(body: AppointmentCreate, db: DbSession, actor: CurrentActor) -> AppointmentBooked:
    """Book an appointment or a weekly series that ends; 409 names an overlapping one."""
    rows = appointments.book(session=db, actor=actor, data=body.to_input())
    return AppointmentBooked.of(rows)


@router.get(".ics", response_class=Response)
def export_calendar(
    db: DbSession,
    actor: CurrentActor,
    therapist_id: uuid.UUID,
    since: date | None = None,
    days: Annotated[int, Query(ge=1, le=62)] = 62,
) -> Response:
    """A therapist's schedule as an iCalendar file."""
    content = daybook_ics.export(
        session=db,
        actor=actor,
        therapist_id=therapist_id,
        since=since or datetime.now(UTC).date(),
        days=days,
    )
    return Response(
        content,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="day-book.ics"'},
    )


@router.post("/import", response_model=CalendarImported)
def import_calendar(body: CalendarImport, db: DbSession, actor: CurrentActor) -> CalendarImported:
    """Book the events of an iCalendar file; those that could not be matched are listed."""
    result = daybook_ics.import_calendar(
        session=db,
        actor=actor,
        therapist_id=body.therapist_id,
        content=body.calendar.encode("utf-8"),
    )
    return CalendarImported(
        booked=[a.external_id for a in result.booked],
        skipped=[SkippedEvent(**_skip(s)) for s in result.skipped],
    )


def _skip(s: daybook_ics.Skipped) -> dict[str, object]:
    return {"number": s.number, "uid": s.uid, "summary": s.summary, "reason": s.reason}


@router.get("/{appointment_id}", response_model=AppointmentRead)
def get_appointment(appointment_id: str, db: DbSession, actor: CurrentActor) -> AppointmentRead:
    """One appointment."""
    return AppointmentRead.of(
        appointments.get(session=db, actor=actor, appointment_id=appointment_id)
    )


@router.put("/{appointment_id}", response_model=AppointmentRead)
def reschedule(
    appointment_id: str, body: AppointmentUpdate, db: DbSession, actor: CurrentActor
) -> AppointmentRead:
    """Move a booked appointment; 409 for a stale version or an overlap."""
    appointments.reschedule(
        session=db,
        actor=actor,
        appointment_id=appointment_id,
        starts_at=body.starts_at,
        minutes=body.minutes,
        note=body.note,
        version=body.version,
        therapist_id=body.therapist_id,
    )
    return get_appointment(appointment_id, db, actor)


@router.post("/{appointment_id}/status", response_model=AppointmentRead)
def set_status(
    appointment_id: str, body: StatusUpdate, db: DbSession, actor: CurrentActor
) -> AppointmentRead:
    """Mark arrived, no_show or cancelled (or back to booked)."""
    appointments.set_status(
        session=db,
        actor=actor,
        appointment_id=appointment_id,
        status=body.status,
        version=body.version,
    )
    return get_appointment(appointment_id, db, actor)


@router.post("/{appointment_id}/visit", response_model=VisitRead, status_code=201)
def start_visit(
    appointment_id: str,
    body: VisitCreate,
    db: DbSession,
    actor: CurrentActor,
    episode_id: uuid.UUID | None = None,
) -> VisitRead:
    """Start the visit of an appointment (the visit's own rules apply) and mark it arrived."""
    visit = appointments.start_visit(
        session=db,
        actor=actor,
        appointment_id=appointment_id,
        data=body.to_start(),
        episode_id=episode_id,
    )
    return VisitRead.of(visit)
