"""Admin pages: users, instruments and the audit trail (search and CSV export).

The services decide who may do what; these handlers only read forms, call them and render.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from strigil.core import catalog
from strigil.errors import Conflict, InvalidInput
from strigil.services import admin
from strigil.services.actors import Actor, Permission, Role, require
from strigil.web import handler_thread
from strigil.web.api.admin import csv_response
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.pages.common import Form, errors_of, go, required_int, text
from strigil.web.pages.render import page

router = handler_thread.router(prefix="/admin")


def _date(raw: str | None, name: str) -> date | None:
    """A YYYY-MM-DD filter, None when blank, else a 422 naming the field."""
    if not raw:
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(f"{name} must be a date (YYYY-MM-DD)", field=name, code="date") from None


def _audit_query(request: Request) -> admin.AuditQuery:
    params = request.query_params
    return admin.AuditQuery(
        patient_id=(params.get("patient_id") or "").strip() or None,
        action=(params.get("action") or "").strip() or None,
        since=_date(params.get("since"), "since"),
        until=_date(params.get("until"), "until"),
    )


@router.get("", response_class=HTMLResponse)
def index(request: Request, actor: CurrentActor) -> HTMLResponse:
    """Links to the admin pages the role may open."""
    require(actor, Permission.READ_AUDIT)
    return page(request, "admin/index.html", {})


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    """Search the audit trail by patient id, action and date."""
    require(actor, Permission.READ_AUDIT)
    values = dict(request.query_params)
    try:
        query = _audit_query(request)
        rows = admin.search_audit(session=db, actor=actor, query=query)
    except InvalidInput as error:
        ctx: dict[str, Any] = {"rows": [], "names": {}, "values": values}
        ctx["errors"] = errors_of(error)
        return page(request, "admin/audit.html", ctx, status_code=error.status)
    names = admin.user_names(session=db, actor=actor)
    found: dict[str, Any] = {"rows": rows, "names": names, "values": values, "errors": {}}
    return page(request, "admin/audit.html", found)


@router.get("/audit.csv", response_class=Response)
def audit_csv(request: Request, db: DbSession, actor: CurrentActor) -> Response:
    """The audit search as a CSV download."""
    return csv_response(db, actor, _audit_query(request))


def _users_page(
    request: Request, db: DbSession, actor: Actor, values: dict[str, Any], errors: dict[str, str]
) -> HTMLResponse:
    users = admin.list_users(session=db, actor=actor)
    roles = [(r.value, r.value.title()) for r in Role]
    ctx = {"users": users, "roles": roles, "values": values, "errors": errors}
    return page(request, "admin/users.html", ctx, status_code=422 if errors else 200)


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    """The clinic's users and a form to add one."""
    return _users_page(request, db, actor, {"role": Role.THERAPIST.value}, {})


@router.post("/users")
def add_user(request: Request, db: DbSession, actor: CurrentActor, form: Form) -> Response:
    """Add a user; on a bad field the form comes back with the error beside it."""
    values = {
        k: text(form, k) for k in ("email", "display_name", "role", "credentials", "licence_number")
    }
    try:
        admin.add_user(session=db, actor=actor, password=_raw(form, "password"), **values)
    except (InvalidInput, Conflict) as error:
        return _users_page(request, db, actor, values, errors_of(error))
    return go(request, "/admin/users")


@router.post("/users/{user_id}/credentials")
def set_credentials(
    request: Request, user_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    """Credentials and licence number, printed with the user's signature."""
    admin.set_credentials(
        session=db,
        actor=actor,
        user_id=user_id,
        credentials=text(form, "credentials"),
        licence_number=text(form, "licence_number"),
    )
    return go(request, "/admin/users")


def _clinic_page(
    request: Request, db: DbSession, actor: Actor, errors: dict[str, str]
) -> HTMLResponse:
    clinic = admin.get_clinic(session=db, actor=actor)
    ctx = {"clinic": clinic, "errors": errors}
    return page(request, "admin/clinic.html", ctx, status_code=422 if errors else 200)


@router.get("/clinic", response_class=HTMLResponse)
def clinic_page(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    """The clinic's letterhead and its billing and co-signature settings."""
    return _clinic_page(request, db, actor, {})


@router.post("/clinic")
def update_clinic(request: Request, db: DbSession, actor: CurrentActor, form: Form) -> Response:
    data = admin.ClinicDetails(
        address=text(form, "address"),
        phone=text(form, "phone"),
        billing_rule=text(form, "billing_rule") or "cms",
        assistant_notes_need_cosign=text(form, "assistant_notes_need_cosign") == "yes",
    )
    try:
        with db.begin_nested():
            admin.update_clinic(session=db, actor=actor, data=data)
    except InvalidInput as error:
        return _clinic_page(request, db, actor, errors_of(error))
    return go(request, "/admin/clinic")


def _raw(form: FormData, name: str) -> str:
    """A secret field exactly as typed (no trimming: spaces may be part of a password)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _instruments_page(
    request: Request, db: DbSession, actor: Actor, values: dict[str, Any], errors: dict[str, str]
) -> HTMLResponse:
    rows = admin.list_instruments(session=db, actor=actor)
    types = [(t.code, t.label) for t in catalog.instrument_types()]
    families = [(f.code, f.name) for f in catalog.instrument_families()]
    ctx = {
        "instruments": rows,
        "types": types,
        "families": families,
        "values": values,
        "errors": errors,
    }
    return page(request, "admin/instruments.html", ctx, status_code=422 if errors else 200)


@router.get("/instruments", response_class=HTMLResponse)
def instruments_page(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    """The clinic's instruments, with add and retire."""
    return _instruments_page(request, db, actor, {}, {})


@router.post("/instruments")
def add_instrument(request: Request, db: DbSession, actor: CurrentActor, form: Form) -> Response:
    """Put an instrument into service."""
    values = {k: text(form, k) for k in ("label", "type_code", "family", "notes")}
    data = admin.InstrumentInput(
        label=values["label"],
        type_code=values["type_code"],
        family=values["family"] or None,
        notes=values["notes"] or None,
    )
    try:
        admin.add_instrument(session=db, actor=actor, data=data)
    except InvalidInput as error:
        return _instruments_page(request, db, actor, values, errors_of(error))
    return go(request, "/admin/instruments")


@router.post("/instruments/{instrument_id}/retire")
def retire_instrument(
    instrument_id: str, request: Request, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    """Retire an instrument (it stays on record)."""
    version = required_int(form, "version")
    admin.retire_instrument(session=db, actor=actor, instrument_id=instrument_id, version=version)
    return go(request, "/admin/instruments")
