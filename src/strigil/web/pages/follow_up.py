"""Copy forward on the visit page, and the clinic's visit templates."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from strigil.core import catalog
from strigil.errors import Conflict, InvalidInput
from strigil.services import follow_up, visit_templates, visits
from strigil.services.actors import Actor
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.pages.common import Form, errors_of, go, optional_int, text
from strigil.web.pages.render import page
from strigil.web.pages.visits import visit_ctx

router = handler_thread.router()


def _taken(
    request: Request,
    db: Session,
    visit_id: str,
    take: Callable[[], object],
    anchor: str,
) -> Response:
    """Take items from the offer in a savepoint: all of them, or none and the reason shown."""
    try:
        with db.begin_nested():
            take()
    except (InvalidInput, Conflict) as error:
        actor: Actor = request.state.actor
        visit = visits.get(session=db, actor=actor, visit_id=visit_id)
        ctx = visit_ctx(db, visit, actor) | {"carry_error": error}
        return page(request, "visits/visit.html", ctx, error.status)
    return go(request, f"/visits/{visit_id}#{anchor}")


@router.post("/visits/{visit_id}/carry/areas", response_model=None)
def carry_areas(
    request: Request, visit_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    keys = [k for k in form.getlist("area") if isinstance(k, str)]
    return _taken(
        request,
        db,
        visit_id,
        lambda: follow_up.start_areas(session=db, actor=actor, visit_id=visit_id, keys=keys),
        "areas",
    )


@router.post("/visits/{visit_id}/carry/exercises", response_model=None)
def carry_exercises(
    request: Request, visit_id: str, db: DbSession, actor: CurrentActor
) -> Response:
    return _taken(
        request,
        db,
        visit_id,
        lambda: follow_up.prescribe_programme(session=db, actor=actor, visit_id=visit_id),
        "aftercare",
    )


@router.post("/visits/{visit_id}/carry/tests", response_model=None)
def carry_tests(
    request: Request, visit_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    def take() -> object:
        values = {
            name.removeprefix("test-"): _number(form, name)
            for name in form
            if name.startswith("test-")
        }
        return follow_up.record_tests(session=db, actor=actor, visit_id=visit_id, values=values)

    return _taken(request, db, visit_id, take, "tests-h")


def _number(form: FormData, name: str) -> float | None:
    raw = text(form, name).replace(",", ".")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidInput("a test value must be a number", field=name, code="not_a_number")
    return value


@router.post("/visits/{visit_id}/template", response_model=None)
def save_template(
    request: Request, visit_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    return _taken(
        request,
        db,
        visit_id,
        lambda: visit_templates.save_from_visit(
            session=db,
            actor=actor,
            visit_id=visit_id,
            name=text(form, "name"),
            condition_prefix=text(form, "condition_prefix"),
        ),
        "aftercare",
    )


# ------------------------------------------------------------------------------ templates


@router.get("/templates", response_class=HTMLResponse)
def templates_page(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    return _templates(request, db, actor, {}, 200)


def _templates(
    request: Request, db: Session, actor: Actor, extra: dict[str, Any], status: int
) -> HTMLResponse:
    rows = visit_templates.list_templates(session=db, actor=actor, include_retired=True)
    ctx = {
        "templates": rows,
        "errors": {},
        "error_for": None,
        "sites": {s.code: s.label for s in catalog.body_sites()},
        "exercise_names": {e.code: e.name for e in catalog.exercises()},
    } | extra
    return page(request, "visits/templates.html", ctx, status)


@router.post("/templates/{template_id}", response_model=None)
def update_template(
    request: Request, template_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    try:
        with db.begin_nested():
            visit_templates.update(
                session=db,
                actor=actor,
                template_id=template_id,
                name=text(form, "name"),
                condition_prefix=text(form, "condition_prefix"),
                version=optional_int(form, "version"),
            )
    except (InvalidInput, Conflict) as error:
        extra = {"errors": errors_of(error), "error_for": template_id}
        return _templates(request, db, actor, extra, error.status)
    return go(request, "/templates")


@router.post("/templates/{template_id}/items", response_model=None)
def remove_template_items(
    request: Request, template_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    remove = {
        name: [int(v) for v in form.getlist(name) if isinstance(v, str) and v.isdigit()]
        for name in visit_templates.ITEMS
    }
    try:
        with db.begin_nested():
            visit_templates.remove_items(
                session=db,
                actor=actor,
                template_id=template_id,
                remove=remove,
                version=optional_int(form, "version"),
            )
    except (InvalidInput, Conflict) as error:
        extra = {"errors": errors_of(error), "error_for": template_id}
        return _templates(request, db, actor, extra, error.status)
    return go(request, "/templates")


@router.post("/templates/{template_id}/retire", response_model=None)
def retire_template(
    request: Request, template_id: str, db: DbSession, actor: CurrentActor
) -> Response:
    visit_templates.retire(session=db, actor=actor, template_id=template_id)
    return go(request, "/templates")
