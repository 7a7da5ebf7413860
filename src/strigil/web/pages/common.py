"""Helpers the page routers share: HTMX detection, fragments, redirects, form parsing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from strigil.errors import InvalidInput, StrigilError
from strigil.web.pages.render import page

PAGE_SIZE = 20
PageNo = Annotated[int, Query(alias="page", ge=1, le=1_000_000)]
Row = TypeVar("Row")


def paged(fetch: Callable[[int, int], Sequence[Row]], page_no: int) -> tuple[list[Row], bool]:
    """One page of rows from ``fetch(limit, offset)`` and whether another page follows.

    One row more than a page is asked for, so "more" costs no count query.
    """
    rows = fetch(PAGE_SIZE + 1, (max(page_no, 1) - 1) * PAGE_SIZE)
    return list(rows[:PAGE_SIZE]), len(rows) > PAGE_SIZE


def is_hx(request: Request) -> bool:
    """True when HTMX sent the request (it wants a fragment, not a page)."""
    return request.headers.get("hx-request") == "true"


def view(
    request: Request,
    full: str,
    fragment: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    """The full page, or just the fragment for HTMX; caches must keep the two apart."""
    response = page(request, fragment if is_hx(request) else full, context, status_code)
    response.headers["Vary"] = "HX-Request"
    return response


def go(request: Request, url: str) -> Response:
    """After a successful POST: a 303 for plain forms, ``HX-Redirect`` for HTMX."""
    if is_hx(request):
        # A redirect to the page already shown that differs only by #anchor would not reload.
        current = urlsplit(request.headers.get("hx-current-url", ""))
        if current.path == urlsplit(url).path:
            return Response(status_code=204, headers={"HX-Refresh": "true"})
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


async def _form(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(_form)]


def text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else default


def optional_int(form: FormData, name: str, label: str | None = None) -> int | None:
    """A whole number from a form field, None when blank, else a 422 naming the field."""
    raw = text(form, name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        label = label or name.replace("_", " ")
        raise InvalidInput(
            f"{label} must be a whole number", field=name, code="not_a_number"
        ) from None


def required_int(form: FormData, name: str, label: str | None = None) -> int:
    value = optional_int(form, name, label)
    if value is None:
        raise InvalidInput(
            f"{(label or name).replace('_', ' ')} is required", field=name, code="required"
        )
    return value


def errors_of(error: StrigilError) -> dict[str, str]:
    """Field errors for re-rendering a form: ``{field: message}`` (``_form`` when unnamed)."""
    return {error.field or "_form": error.detail}
