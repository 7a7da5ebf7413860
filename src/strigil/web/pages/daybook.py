"""Day book pages: a therapist's day or week, booking, status changes, start the visit,
iCalendar export and import."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from strigil.errors import Conflict, InvalidInput, StrigilError
from strigil.services import appointments, daybook_ics
from strigil.services.actors import Actor
from strigil.services.appointments import AppointmentLine
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.pages.common import Form, errors_of, go, optional_int, required_int, text
from strigil.web.pages.render import page

router = handler_thread.router()
STATUS_LABELS = {
    "booked": "booked",
    "arrived": "arrived",
    "no_show": "no-show",
    "cancelled": "cancelled",
}
View = Annotated[str, Query(pattern="^(day|week)$")]


def _day(raw: str, field: str = "day", zone: tzinfo = UTC) -> date:
    if not raw:
        return appointments.local_today(zone)
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 2100:
        raise InvalidInput(
            f"{field} must be a date like 2026-12-07, from 2000 to 2100",
            field=field,
            code="invalid_date",
        )
    return day


def _context(db: Session, actor: Actor, therapist: str, day: date, view: str) -> dict[str, Any]:
    """Everything the day book page shows for one therapist and one day or week."""
    staff = appointments.therapists(session=db, actor=actor)
    chosen = therapist or _default_therapist(actor, staff)
    first = day - timedelta(days=day.weekday()) if view == "week" else day
    days = 7 if view == "week" else 1
    lines = (
        appointments.schedule(session=db, actor=actor, since=first, days=days, therapist_id=chosen)
        if chosen
        else []
    )
    zone = appointments.clinic_zone(session=db, actor=actor)
    by_day: dict[date, list[AppointmentLine]] = {first + timedelta(days=i): [] for i in range(days)}
    for line in lines:
        by_day.setdefault(line.starts_at.astimezone(zone).date(), []).append(line)
    step = timedelta(days=days)
    return {
        "zone": zone,
        "therapists": [(str(u.external_id), u.display_name) for u in staff],
        "therapist": chosen,
        "day": day,
        "view": view,
        "by_day": by_day,
        "previous": first - step,
        "next": first + step,
        "labels": STATUS_LABELS,
        "values": {"day": day.isoformat(), "time": "09:00", "minutes": "45"},
        "errors": {},
    }


def _default_therapist(actor: Actor, staff: Any) -> str:
    mine = [u for u in staff if u.external_id == actor.user_external_id]
    picked = mine or list(staff)[:1]
    return str(picked[0].external_id) if picked else ""


@router.get("/daybook", response_class=HTMLResponse)
def daybook(
    request: Request,
    db: DbSession,
    actor: CurrentActor,
    therapist: str = "",
    day: str = "",
    view: View = "day",
) -> HTMLResponse:
    zone = appointments.clinic_zone(session=db, actor=actor)
    ctx = _context(db, actor, therapist, _day(day, zone=zone), view)
    return page(request, "daybook/daybook.html", ctx)


def _booking(db: Session, actor: Actor, form: FormData) -> appointments.AppointmentInput:
    """The booking form as the service's input (times are the clinic's, as the day book shows
    them)."""
    zone = appointments.clinic_zone(session=db, actor=actor)
    when = _day(text(form, "day"), zone=zone)
    try:
        clock = time.fromisoformat(text(form, "time"))
    except ValueError:
        raise InvalidInput("time must be like 09:30", field="time", code="invalid_time") from None
    patient_id = appointments.patient_by_record_number(
        session=db, actor=actor, record_number=text(form, "patient")
    )
    return appointments.AppointmentInput(
        patient_id=patient_id,
        therapist_id=text(form, "therapist"),
        starts_at=datetime.combine(when, clock, tzinfo=zone),
        minutes=required_int(form, "minutes"),
        note=text(form, "note"),
        repeat=_repeat(form),
    )


def _repeat(form: FormData) -> appointments.Repeat | None:
    every = optional_int(form, "every_weeks", "repeat every")
    if not every:
        return None
    until = text(form, "until")
    return appointments.Repeat(
        every_weeks=every,
        until=_day(until, "until") if until else None,
        count=optional_int(form, "count"),
    )


@router.post("/daybook/appointments", response_model=None)
def book(request: Request, db: DbSession, actor: CurrentActor, form: Form) -> Response:
    therapist = text(form, "therapist")
    try:
        with db.begin_nested():
            rows = appointments.book(session=db, actor=actor, data=_booking(db, actor, form))
    except (InvalidInput, Conflict) as error:
        return _refused(request, db, actor, form, therapist, error)
    first = rows[0].starts_at.date().isoformat()
    return go(request, f"/daybook?therapist={therapist}&day={first}")


def _refused(
    request: Request,
    db: Session,
    actor: Actor,
    form: FormData,
    therapist: str,
    error: StrigilError,
) -> HTMLResponse:
    """The day book again with the form as typed and the error beside its field."""
    zone = appointments.clinic_zone(session=db, actor=actor)
    try:
        day = _day(text(form, "day"), zone=zone)
    except InvalidInput:
        day = appointments.local_today(zone)
    ctx = _context(db, actor, therapist, day, "day")
    names = ("patient", "day", "time", "minutes", "note", "every_weeks", "until", "count")
    ctx["values"] = {name: text(form, name) for name in names}
    ctx["errors"] = {**errors_of(error), "_form": error.detail}
    return page(request, "daybook/daybook.html", ctx, status_code=error.status)


@router.get("/daybook/appointments/{appointment_id}", response_class=HTMLResponse)
def appointment_page(
    request: Request, appointment_id: str, db: DbSession, actor: CurrentActor
) -> HTMLResponse:
    line = appointments.get(session=db, actor=actor, appointment_id=appointment_id)
    zone = appointments.clinic_zone(session=db, actor=actor)
    return page(request, "daybook/appointment.html", _appointment_ctx(line, {}, {}, zone))


def _appointment_ctx(
    line: AppointmentLine, values: dict[str, str], errors: dict[str, str], zone: tzinfo
) -> dict[str, Any]:
    start = line.starts_at.astimezone(zone)
    defaults = {
        "day": start.date().isoformat(),
        "time": start.strftime("%H:%M"),
        "minutes": str(int((line.ends_at - line.starts_at).total_seconds() // 60)),
        "note": line.note,
    }
    return {
        "a": line,
        "zone": zone,
        "labels": STATUS_LABELS,
        "values": defaults | values,
        "errors": errors,
    }


@router.post("/daybook/appointments/{appointment_id}/edit", response_model=None)
def reschedule(
    request: Request, appointment_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    values = {name: text(form, name) for name in ("day", "time", "minutes", "note")}
    zone = appointments.clinic_zone(session=db, actor=actor)
    try:
        with db.begin_nested():
            when = _day(values["day"])
            try:
                clock = time.fromisoformat(values["time"])
            except ValueError:
                raise InvalidInput(
                    "time must be like 09:30", field="time", code="invalid_time"
                ) from None
            appointments.reschedule(
                session=db,
                actor=actor,
                appointment_id=appointment_id,
                starts_at=datetime.combine(when, clock, tzinfo=zone),
                minutes=required_int(form, "minutes"),
                note=values["note"],
                version=required_int(form, "version"),
            )
    except (InvalidInput, Conflict) as error:
        line = appointments.get(session=db, actor=actor, appointment_id=appointment_id)
        ctx = _appointment_ctx(line, values, {**errors_of(error), "_form": error.detail}, zone)
        return page(request, "daybook/appointment.html", ctx, status_code=error.status)
    return go(request, f"/daybook/appointments/{appointment_id}")


@router.post("/daybook/appointments/{appointment_id}/status", response_model=None)
def set_status(
    request: Request, appointment_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    row = appointments.set_status(
        session=db,
        actor=actor,
        appointment_id=appointment_id,
        status=text(form, "status"),
        version=required_int(form, "version"),
    )
    back = text(form, "back")
    if back.startswith("/") and not back.startswith("//"):
        return go(request, back)
    return go(request, f"/daybook/appointments/{row.external_id}")


@router.get("/daybook/appointments/{appointment_id}/visit", response_model=None)
def visit_of(request: Request, appointment_id: str, db: DbSession, actor: CurrentActor) -> Response:
    """Open the appointment's visit, or the start form of its episode (the patient page when
    no single active episode can be chosen)."""
    line = appointments.episode_for(session=db, actor=actor, appointment_id=appointment_id)
    if line.visit_id is not None:
        return go(request, f"/visits/{line.visit_id}")
    if line.episode_id is None:
        return go(request, f"/patients/{line.patient_id}")
    return go(request, f"/episodes/{line.episode_id}/visits/new?appointment={appointment_id}")


@router.get("/daybook.ics", response_class=Response)
def export_calendar(
    db: DbSession, actor: CurrentActor, therapist: str = "", day: str = ""
) -> Response:
    """The therapist's schedule for the next 62 days as an iCalendar file."""
    content = daybook_ics.export(
        session=db,
        actor=actor,
        therapist_id=therapist or str(actor.user_external_id),
        since=_day(day),
    )
    return Response(
        content,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="day-book.ics"'},
    )


def _content(form: FormData) -> bytes:
    """The uploaded file's bytes (a pasted calendar in the same field is taken as text).

    The form was read into a spooled file before the handler ran, so this does no network I/O.
    """
    value = form.get("file")
    if isinstance(value, UploadFile):
        data: bytes = value.file.read(daybook_ics.MAX_BYTES + 1)
        return data
    return value.encode("utf-8") if isinstance(value, str) else b""


@router.post("/daybook/import", response_model=None)
def import_calendar(request: Request, db: DbSession, actor: CurrentActor, form: Form) -> Response:
    therapist = text(form, "therapist")
    today = appointments.local_today(appointments.clinic_zone(session=db, actor=actor))
    try:
        with db.begin_nested():
            result = daybook_ics.import_calendar(
                session=db, actor=actor, therapist_id=therapist, content=_content(form)
            )
    except InvalidInput as error:
        ctx = _context(db, actor, therapist, today, "day")
        ctx["import_errors"] = {**errors_of(error), "_form": error.detail}
        return page(request, "daybook/daybook.html", ctx, status_code=422)
    ctx = _context(db, actor, therapist, today, "day")
    ctx["imported"] = result
    return page(request, "daybook/daybook.html", ctx)
