"""Rendering helpers shared by the page routers."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse


def page(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a template with the request, the actor, what the actor may do (``may``: the
    permission names, so a page offers only the actions the role may take) and the CSRF token.
    """
    actor = getattr(request.state, "actor", None)
    ctx = {
        "actor": actor,
        "may": frozenset(p.value for p in actor.permissions) if actor is not None else frozenset(),
        "csrf_token": getattr(request.state, "csrf_token", ""),
    }
    ctx.update(context or {})
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, ctx, status_code=status_code
    )
    return response
