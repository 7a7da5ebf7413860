"""The visit as a record: pre/post tests, billing codes, corrections, signature, PDFs, charges.

Thin handlers: each reads a form, calls one service and goes back to the visit page.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from strigil.core import i18n
from strigil.errors import InvalidInput
from strigil.services import charges, corrections, documents, measurements, visits
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.pages.common import Form, go, required_int, text
from strigil.web.pages.render import page

router = handler_thread.router()


def _number(form: FormData, name: str) -> float | None:
    raw = text(form, name).replace(",", ".")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        label = name.replace("_", " ")
        raise InvalidInput(f"{label} must be a number", field=name, code="not_a_number") from None


def _measurement(form: FormData) -> measurements.MeasurementInput:
    better = {"higher": True, "lower": False}.get(text(form, "direction"))
    return measurements.MeasurementInput(
        kind=text(form, "kind"),
        name=text(form, "name"),
        joint=text(form, "joint"),
        motion=text(form, "motion"),
        side=text(form, "side") or "na",
        unit=text(form, "unit"),
        pre_value=_number(form, "pre_value"),
        post_value=_number(form, "post_value"),
        higher_is_better=better,
    )


@router.post("/visits/{visit_id}/measurements", response_model=None)
def add_measurement(
    request: Request, visit_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    measurements.add(session=db, actor=actor, visit_id=visit_id, data=_measurement(form))
    return go(request, f"/visits/{visit_id}#tests")


@router.post("/measurements/{measurement_id}/post", response_model=None)
def record_post(
    request: Request, measurement_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    value = _number(form, "post_value")
    if value is None:
        raise InvalidInput("give the post-test value", field="post_value", code="required")
    row = measurements.record_post(
        session=db, actor=actor, measurement_id=measurement_id, value=value
    )
    visit_id = visits.public_id(session=db, actor=actor, row_id=row.visit_id)
    return go(request, f"/visits/{visit_id}#tests")


@router.post("/visits/{visit_id}/billing-lines", response_model=None)
def add_billing_line(
    request: Request, visit_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    raw = text(form, "time")
    seconds = corrections.parse_clock(raw, "time") if raw else None
    charges.add_line(
        session=db, actor=actor, visit_id=visit_id, code=text(form, "code"), seconds=seconds
    )
    return go(request, f"/visits/{visit_id}#billing")


def _clock_on(day: date, raw: str, zone: ZoneInfo, field: str) -> datetime:
    try:
        hours, minutes = (int(x) for x in raw.split(":"))
        return datetime.combine(day, time(hours, minutes), tzinfo=zone)
    except ValueError:
        raise InvalidInput("give the time as HH:MM", field=field, code="not_a_time") from None


@router.post("/visits/{visit_id}/times", response_model=None)
def set_times(
    request: Request, visit_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    """The visit's start and end (HH:MM, clinic time); timed work must fit between them."""
    visit = visits.get(session=db, actor=actor, visit_id=visit_id)
    zone = ZoneInfo(visits.clinic_of(db, visit).timezone or "UTC")
    day = visit.started_at.astimezone(zone).date()
    started = _clock_on(day, text(form, "started"), zone, "started_at")
    ended = _clock_on(day, text(form, "ended"), zone, "ended_at") if text(form, "ended") else None
    corrections.set_times(
        session=db,
        actor=actor,
        visit_id=visit_id,
        started_at=started,
        ended_at=ended,
        version=required_int(form, "version"),
    )
    return go(request, f"/visits/{visit_id}#billing")


@router.post("/visits/{visit_id}/in-error", response_model=None)
def mark_in_error(
    request: Request, visit_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    """Mark one recorded item of the visit entered-in-error, with the reason given."""
    corrections.mark_in_error(
        session=db,
        actor=actor,
        visit_id=visit_id,
        kind=text(form, "kind"),
        record_id=text(form, "record_id"),
        reason=text(form, "reason"),
    )
    return go(request, f"/visits/{visit_id}#{text(form, 'back') or 'areas'}")


@router.post("/areas/{area_id}/time", response_model=None)
def correct_time(
    request: Request, area_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    """Typed time on an area (mm:ss), correctable until the note is signed."""
    seconds = corrections.parse_clock(text(form, "time"), "time")
    area = corrections.correct_time(
        session=db,
        actor=actor,
        treated_area_id=area_id,
        seconds=seconds,
        version=required_int(form, "version"),
    )
    visit_id = visits.public_id(session=db, actor=actor, row_id=area.visit_id)
    return go(request, f"/visits/{visit_id}#area-{area.external_id}")


@router.post("/findings/{finding_id}/area", response_model=None)
def link_finding(
    request: Request, finding_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    finding = corrections.link_finding(
        session=db,
        actor=actor,
        finding_id=finding_id,
        treated_area_id=text(form, "treated_area_id") or None,
    )
    visit_id = visits.public_id(session=db, actor=actor, row_id=finding.visit_id)
    return go(request, f"/visits/{visit_id}#chart")


@router.post("/visits/{visit_id}/cosign", response_model=None)
def cosign(request: Request, visit_id: str, db: DbSession, actor: CurrentActor) -> Response:
    visits.cosign(session=db, actor=actor, visit_id=visit_id)
    return go(request, f"/visits/{visit_id}#note")


def _pdf(data: bytes, name: str) -> Response:
    headers = {"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"}
    return Response(data, media_type="application/pdf", headers=headers)


@router.get("/visits/{visit_id}/note.pdf", response_model=None)
def note_pdf(visit_id: str, db: DbSession, actor: CurrentActor) -> Response:
    """The signed note as a PDF (409 until it is signed)."""
    return _pdf(documents.note_pdf(session=db, actor=actor, visit_id=visit_id), "note.pdf")


@router.get("/visits/{visit_id}/aftercare.pdf", response_model=None)
def aftercare_pdf(
    visit_id: str, db: DbSession, actor: CurrentActor, lang: str | None = None
) -> Response:
    """The patient's after-care sheet as a PDF, in ``lang`` when Strigil speaks it."""
    data = documents.aftercare_pdf(
        session=db, actor=actor, visit_id=visit_id, language=i18n.supported(lang)
    )
    return _pdf(data, "aftercare.pdf")


@router.get("/visits/{visit_id}/superbill", response_class=HTMLResponse)
def superbill(request: Request, visit_id: str, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    """The visit's superbill: clinic, patient, diagnosis, and every code with its units."""
    visit = visits.get(session=db, actor=actor, visit_id=visit_id)
    ctx = {
        "visit": visit,
        "patient": visit.episode.patient,
        "episode": visit.episode,
        "clinic": visits.clinic_of(db, visit),
        "charges": visits.charges_for(db, visit),
    }
    return page(request, "visits/superbill.html", ctx)


@router.get("/charges.csv", response_model=None)
def day_charges(db: DbSession, actor: CurrentActor, day: str = "") -> Response:
    """A day's charges as CSV (``?day=YYYY-MM-DD``, default today, UTC)."""
    try:
        on = date.fromisoformat(day) if day else date.today()
    except ValueError:
        raise InvalidInput(
            "day must be a date (YYYY-MM-DD)", field="day", code="not_a_date"
        ) from None
    body = charges.day_csv(charges.day_charges(session=db, actor=actor, on=on))
    headers = {"Content-Disposition": f'attachment; filename="charges-{on.isoformat()}.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
