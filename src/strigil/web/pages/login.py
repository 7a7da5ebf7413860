"""Sign-in and sign-out pages."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from strigil.errors import NotAuthenticated, NotPermitted
from strigil.services import auth
from strigil.web import handler_thread
from strigil.web.api.sessions import set_session_cookie, signin_policy
from strigil.web.deps import SESSION_COOKIE, DbSession, SettingsDep, keep_on_refusal
from strigil.web.pages.render import page

router = handler_thread.router()


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect would let a link send a user elsewhere."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:  # noqa: A002
    return page(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login")
def login_submit(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form()] = "/",  # noqa: A002
) -> Response:
    ip = request.client.host if request.client else None
    try:
        result = auth.login(
            session=db,
            email=email,
            password=password,
            client_ip=ip,
            policy=signin_policy(request),
        )
    except (NotAuthenticated, auth.Throttled) as error:
        keep_on_refusal(request)  # the failure counts drive the throttle
        refused = page(
            request,
            "login.html",
            {"next": _safe_next(next), "error": error.detail, "email": email},
            status_code=error.status,
        )
        if isinstance(error, auth.Throttled):
            refused.headers["Retry-After"] = str(error.retry_after)
        return refused
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, result.token, settings)
    return response


@router.post("/logout")
def logout(
    request: Request, db: DbSession, csrf_token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """Sign out; the form's CSRF token must match, so another site cannot sign a user out."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        try:
            login = auth.resume(session=db, token=cookie, policy=request.app.state.policy)
        except NotAuthenticated:
            login = None
        if login is not None:
            if not hmac.compare_digest(csrf_token.encode(), login.csrf_token.encode()):
                raise NotPermitted(
                    "the form is out of date; reload the page and try again", code="csrf_failed"
                )
            auth.logout(session=db, token=cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
