"""The dashboard."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from strigil.services import patients
from strigil.services.actors import Permission
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.pages.render import page

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    recent = (
        patients.search(session=db, actor=actor, limit=10)
        if actor.can(Permission.READ_CLINICAL)
        else []
    )
    return page(request, "dashboard.html", {"recent": recent})
