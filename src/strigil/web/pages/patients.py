"""Patient pages: search as you type, register and edit (version-checked), the patient page."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from strigil.errors import Conflict, InvalidInput
from strigil.services import adverse_events, episodes, merges, patients, visits
from strigil.services.actors import Actor, Permission
from strigil.services.patients import Patient
from strigil.services.records import ADVERSE_EVENT_CATEGORIES
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession, keep_on_refusal
from strigil.web.pages.common import (
    Form,
    PageNo,
    errors_of,
    go,
    is_hx,
    paged,
    required_int,
    text,
    view,
)
from strigil.web.pages.render import page

router = handler_thread.router()


@router.get("/patients", response_class=HTMLResponse)
def patient_list(
    request: Request, db: DbSession, actor: CurrentActor, q: str = "", page_no: PageNo = 1
) -> HTMLResponse:
    rows, more = paged(
        lambda limit, offset: patients.search(
            session=db, actor=actor, text=q, limit=limit, offset=offset
        ),
        page_no,
    )
    ctx = {"rows": rows, "q": q, "page_no": page_no, "more": more}
    return view(request, "patients/list.html", "patients/_rows.html", ctx)


@router.get("/patients/new", response_class=HTMLResponse)
def new_patient(request: Request, actor: CurrentActor) -> HTMLResponse:  # noqa: ARG001
    return page(request, "patients/form.html", {"patient": None, "values": {}, "errors": {}})


def _values(form: FormData) -> dict[str, str]:
    names = ("given_name", "family_name", "birth_date", "sex", "phone", "email", "notes")
    return {name: text(form, name) for name in names}


def _input(values: dict[str, str]) -> patients.PatientInput:
    try:
        born = date.fromisoformat(values["birth_date"])
    except ValueError:
        raise InvalidInput(
            "birth date must be a date like 1980-05-17", field="birth_date", code="invalid_date"
        ) from None
    return patients.PatientInput(
        given_name=values["given_name"],
        family_name=values["family_name"],
        birth_date=born,
        sex=values["sex"] or "unknown",
        phone=values["phone"] or None,
        email=values["email"] or None,
        notes=values["notes"] or None,
    )


@router.post("/patients", response_model=None)
def create_patient(request: Request, db: DbSession, actor: CurrentActor, form: Form) -> Response:
    values = _values(form)
    confirmed = text(form, "confirm_new_person") == "yes"
    ctx: dict[str, Any] = {"patient": None, "values": values, "errors": {}}
    try:
        patient = patients.register(
            session=db, actor=actor, data=_input(values), confirm_new_person=confirmed
        )
    except patients.PossibleDuplicate as error:
        keep_on_refusal(request)  # the candidates shown are a read: their audit row stays
        ctx["duplicates"] = error.extra["candidates"]
        return page(request, "patients/form.html", ctx, status_code=409)
    except InvalidInput as error:
        return page(request, "patients/form.html", ctx | {"errors": errors_of(error)}, 422)
    return go(request, f"/patients/{patient.external_id}")


@router.get("/patients/{patient_id}/edit", response_class=HTMLResponse)
def edit_patient(
    request: Request, patient_id: str, db: DbSession, actor: CurrentActor
) -> HTMLResponse:
    patient = patients.get(session=db, actor=actor, patient_id=patient_id)
    values = {k: "" if v is None else str(v) for k, v in _current(patient).items()}
    ctx = {"patient": patient, "values": values, "errors": {}, "version": patient.version}
    return page(request, "patients/form.html", ctx)


def _current(patient: Patient) -> dict[str, Any]:
    return {name: getattr(patient, name) for name in patients.EDITABLE}


@router.post("/patients/{patient_id}/edit", response_model=None)
def update_patient(
    request: Request, patient_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    values = _values(form)
    patient = patients.get(session=db, actor=actor, patient_id=patient_id)
    version = required_int(form, "version")
    ctx: dict[str, Any] = {"patient": patient, "values": values, "version": version}
    try:
        patients.update(
            session=db, actor=actor, patient_id=patient_id, data=_input(values), version=version
        )
    except Conflict as error:
        ctx |= {"errors": {}, "conflict": error, "version": error.extra.get("current_version")}
        return page(request, "patients/form.html", ctx, status_code=409)
    except InvalidInput as error:
        return page(request, "patients/form.html", ctx | {"errors": errors_of(error)}, 422)
    return go(request, f"/patients/{patient_id}")


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(
    request: Request, patient_id: str, db: DbSession, actor: CurrentActor
) -> HTMLResponse:
    patient = patients.get_chart(session=db, actor=actor, patient_id=patient_id)
    merged = merges.merged_view(session=db, actor=actor, patient=patient)
    if merged is not None:
        ctx = {"patient": patient, "merged": merged, "can_merge": can_merge(actor)}
        return page(request, "patients/merged.html", ctx)
    ctx = chart_context(db, actor, patient, 1) | {"can_merge": can_merge(actor)}
    return page(request, "patients/detail.html", ctx)


def can_merge(actor: Actor) -> bool:
    return actor.can(Permission.MERGE_CHARTS)


def chart_context(db: Session, actor: Actor, patient: Patient, page_no: int) -> dict[str, Any]:
    return {
        "patient": patient,
        "episodes": episodes.list_for_patient(session=db, actor=actor, patient=patient),
        "events": adverse_events.for_patient(session=db, actor=actor, patient=patient),
        "categories": ADVERSE_EVENT_CATEGORIES,
        "severities": adverse_events.SEVERITIES,
        "merged_here": merges.merged_here(session=db, actor=actor, patient=patient),
        **_visit_page(db, actor, patient, page_no),
    }


def _visit_page(db: Session, actor: Actor, patient: Patient, page_no: int) -> dict[str, Any]:
    page_no = max(page_no, 1)
    rows, more = paged(
        lambda limit, offset: visits.list_for_patient(
            session=db, actor=actor, patient_id=patient.id, limit=limit, offset=offset
        ),
        page_no,
    )
    return {"visits": rows, "visits_page": page_no, "more": more}


@router.get("/patients/{patient_id}/visits", response_class=HTMLResponse)
def patient_visits(
    request: Request, patient_id: str, db: DbSession, actor: CurrentActor, page_no: PageNo = 1
) -> HTMLResponse:
    """One page of the visit history: a fragment for HTMX, the patient page otherwise."""
    patient = patients.get(session=db, actor=actor, patient_id=patient_id)
    if is_hx(request):
        ctx = {"patient": patient, **_visit_page(db, actor, patient, page_no)}
    else:
        ctx = chart_context(db, actor, patient, page_no)
    return view(request, "patients/detail.html", "patients/_visits.html", ctx)


@router.post("/patients/{patient_id}/adverse-events", response_model=None)
def report_event(
    request: Request, patient_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    data = adverse_events.EventInput(
        category=text(form, "category"),
        severity=text(form, "severity"),
        description=text(form, "description"),
        referral_made=text(form, "referral_made") == "yes",
        visit_id=text(form, "visit_id") or None,
    )
    adverse_events.report(session=db, actor=actor, patient_id=patient_id, data=data)
    back = text(form, "back") or f"/patients/{patient_id}"
    return go(request, back if back.startswith("/") and not back.startswith("//") else "/")


@router.post("/adverse-events/{event_id}/follow-up", response_model=None)
def follow_up_event(
    request: Request, event_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    row = adverse_events.follow_up(
        session=db,
        actor=actor,
        event_id=event_id,
        note=text(form, "note"),
        resolved=text(form, "resolved") == "yes",
        version=required_int(form, "version"),
    )
    patient_id = patients.public_id(session=db, actor=actor, row_id=row.patient_id)
    return go(request, f"/patients/{patient_id}#adverse-events")
