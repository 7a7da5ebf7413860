"""The dashboard: today's visits, recent patients and what needs attention."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from strigil.services import dashboard
from strigil.services.actors import Permission
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.pages.render import page

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    overview = (
        dashboard.overview(session=db, actor=actor) if actor.can(Permission.READ_CLINICAL) else None
    )
    return page(request, "dashboard.html", {"overview": overview})
