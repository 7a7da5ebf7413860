"""The signed-in user's own account page (API tokens, log out everywhere) and the admin's
view of every API token of the clinic."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from strigil.services import auth
from strigil.services.actors import Permission, require
from strigil.web import handler_thread
from strigil.web.deps import SESSION_COOKIE, CurrentActor, DbSession
from strigil.web.pages.common import go
from strigil.web.pages.render import page

router = handler_thread.router()


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    """Your API tokens and the "log out everywhere" button."""
    return page(
        request, "account/index.html", {"tokens": auth.list_tokens(session=db, actor=actor)}
    )


@router.post("/account/tokens/{token_id}/revoke")
def revoke_own(request: Request, token_id: str, db: DbSession, actor: CurrentActor) -> Response:
    """Revoke one of your tokens."""
    auth.revoke_token(session=db, actor=actor, token_id=token_id)
    return go(request, "/account")


@router.post("/account/logout-everywhere")
def logout_everywhere(db: DbSession, actor: CurrentActor) -> Response:
    """End every session (this one too) and revoke every token, then show the sign-in page."""
    auth.logout_everywhere(session=db, actor=actor)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/admin/tokens", response_class=HTMLResponse)
def clinic_tokens(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    """Every API token of the clinic's users (admins only)."""
    rows = auth.list_clinic_tokens(session=db, actor=actor)
    return page(request, "admin/tokens.html", {"tokens": rows})


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_any(request: Request, token_id: str, db: DbSession, actor: CurrentActor) -> Response:
    """Revoke any token of the clinic (admins only; everyone revokes their own on /account)."""
    require(actor, Permission.MANAGE_USERS)
    auth.revoke_token(session=db, actor=actor, token_id=token_id)
    return go(request, "/admin/tokens")
