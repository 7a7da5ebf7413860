"""Pages a patient opens from a link (no account, no session), and the clinic's buttons that
issue and revoke links and turn a worrying check-in into an adverse event."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from strigil.errors import InvalidInput, NotFound, TooManyRequests
from strigil.services import patient_links
from strigil.web.deps import CurrentActor, DbSession, SettingsDep, keep_on_refusal
from strigil.web.pages.common import Form, errors_of, go, text
from strigil.web.pages.render import page

router = APIRouter()
FIELDS = ("soreness", "bruising", "skin_broken", "calf_pain", "numbness", "other")
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _patient_page(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    response = page(request, template, context, status_code)
    response.headers.update(_PRIVATE)
    return response


def _refused(request: Request, error: Exception, status: int) -> HTMLResponse:
    """A kind page for a closed, unknown or throttled link; the refusal's count is kept."""
    keep_on_refusal(request)
    message = getattr(error, "detail", "This link cannot be used.")
    response = _patient_page(request, "patient/closed.html", {"message": message}, status)
    if isinstance(error, TooManyRequests) and error.retry_after:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


@router.get("/p/{token}", response_class=HTMLResponse)
def checkin_form(request: Request, token: str, db: DbSession) -> HTMLResponse:
    """The 48-hour check-in form, when the link is open."""
    try:
        patient_links.open_for_patient(
            session=db,
            token=token,
            purpose=patient_links.CHECKIN,
            client_ip=_client(request),
            throttle=request.app.state.link_throttle,
        )
    except (NotFound, patient_links.LinkClosed, TooManyRequests) as error:
        return _refused(request, error, getattr(error, "status", 404))
    return _patient_page(request, "patient/checkin.html", {"errors": {}, "values": {}})


@router.post("/p/{token}", response_class=HTMLResponse)
def checkin_submit(request: Request, token: str, db: DbSession, form: Form) -> HTMLResponse:
    """Store the answers and close the link; bad answers re-show the form with the rule."""
    values = {name: text(form, name) for name in FIELDS}
    try:
        patient_links.submit_checkin(
            session=db,
            token=token,
            fields=values,
            client_ip=_client(request),
            throttle=request.app.state.link_throttle,
        )
    except InvalidInput as error:
        context = {"errors": errors_of(error), "values": values}
        return _patient_page(request, "patient/checkin.html", context, 422)
    except (NotFound, patient_links.LinkClosed, TooManyRequests) as error:
        return _refused(request, error, getattr(error, "status", 404))
    return _patient_page(request, "patient/thanks.html", {})


@router.post("/visits/{visit_id}/checkin-link", response_class=HTMLResponse)
def issue_checkin_link(
    request: Request, visit_id: str, db: DbSession, actor: CurrentActor, settings: SettingsDep
) -> HTMLResponse:
    """Issue a check-in link and show it once, printable (only its digest is kept)."""
    token, link = patient_links.issue_checkin(
        session=db, actor=actor, visit_id=visit_id, hours=settings.checkin_link_hours
    )
    url = str(request.base_url).rstrip("/") + patient_links.link_path(token)
    context = {"url": url, "link": link, "visit_id": visit_id}
    response = page(request, "visits/checkin_link.html", context)
    response.headers.update(_PRIVATE)
    return response


@router.post("/patient-links/{link_id}/revoke", response_model=None)
def revoke_link(request: Request, link_id: str, db: DbSession, actor: CurrentActor) -> Response:
    link = patient_links.revoke(session=db, actor=actor, link_id=link_id)
    return go(request, f"/visits/{patient_links.visit_external_id(db, link)}#checkins")


@router.post("/checkins/{checkin_id}/adverse-event", response_model=None)
def checkin_to_event(
    request: Request, checkin_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    """Record the check-in's warning answers as an adverse event (it leaves the list)."""
    severity = text(form, "severity") or "moderate"
    patient_links.to_adverse_event(
        session=db, actor=actor, checkin_id=checkin_id, severity=severity
    )
    return go(request, "/#attention")
