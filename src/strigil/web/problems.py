"""Map errors to HTTP answers: ``{"detail", "code"}`` JSON for the API, a page for people."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from strigil.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    StrigilError,
    TooManyRequests,
    Unavailable,
)

log = logging.getLogger("strigil.web")


API_PREFIXES = ("/api/", "/fhir/", "/healthz", "/static/")


def wants_html(request: Request) -> bool:
    """Page routes answer pages, whatever the client sent in Accept (a browser that follows a
    link or posts a form must never be shown raw JSON), unless the client asks for JSON
    alone; the API, FHIR and health routes always answer ``{"detail", "code"}`` JSON."""
    if request.url.path.startswith(API_PREFIXES) or request.url.path == "/api":
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "application/json" not in accept


def _render(request: Request, error: StrigilError) -> Response:
    response = _answer(request, error)
    if isinstance(error, TooManyRequests) and error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _answer(request: Request, error: StrigilError) -> Response:
    if not wants_html(request):
        return JSONResponse(error.to_body(), status_code=error.status)
    if isinstance(error, NotAuthenticated) and "hx-request" not in request.headers:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    templates = request.app.state.templates
    fragment = "hx-request" in request.headers
    response: Response = templates.TemplateResponse(
        request,
        "_error_fragment.html" if fragment else "_error.html",
        {"error": error},
        status_code=error.status,
    )
    if fragment:
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


async def on_strigil_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StrigilError)
    return _render(request, exc)


async def on_validation_error(request: Request, exc: Exception) -> Response:
    """Pydantic's errors become one message naming the first field and its rule."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first: dict[str, Any] = errors[0] if errors else {"loc": (), "msg": "invalid input"}
    field = ".".join(str(p) for p in tuple(first.get("loc", ()))[1:]) or None
    detail = f"{field}: {first.get('msg')}" if field else str(first.get("msg"))
    error = StrigilError(detail, code="invalid_input", field=field)
    error.status = 422  # type: ignore[misc]
    if not wants_html(request):
        body = error.to_body() | {"errors": [_plain(e) for e in errors]}
        return JSONResponse(body, status_code=422)
    return _render(request, error)


def _plain(error: dict[str, Any]) -> dict[str, object]:
    return {
        "loc": [str(p) for p in error.get("loc", ())],
        "msg": str(error.get("msg")),
        "type": str(error.get("type")),
    }


async def on_stale(request: Request, exc: Exception) -> Response:  # noqa: ARG001
    return _render(
        request,
        Conflict("this record was changed by someone else; reload it", code="version_conflict"),
    )


async def on_db_error(request: Request, exc: Exception) -> Response:
    """A lost database is a 503 the client can retry, not a 500; a value the database cannot
    store (a number out of its range, say) is the client's 422. The request's transaction has
    been rolled back by then, so the connection serves the next request as usual."""
    if isinstance(exc, DataError):
        log.info("database refused a value: %s", type(exc.orig).__name__)
        return _render(
            request,
            InvalidInput("a value is out of the range the database can store", code="out_of_range"),
        )
    if isinstance(exc, OperationalError) or getattr(exc, "connection_invalidated", False):
        log.warning("database unavailable: %s", type(exc).__name__)
        return _render(
            request,
            Unavailable(
                "the database is not reachable right now; please try again shortly",
                code="database_unavailable",
            ),
        )
    raise exc


async def on_http_error(request: Request, exc: Exception) -> Response:
    """Framework errors (unparseable body, unknown route) keep the same body shape."""
    assert isinstance(exc, StarletteHTTPException)
    error = StrigilError(str(exc.detail), code=f"http_{exc.status_code}")
    error.status = exc.status_code  # type: ignore[misc]
    response = _render(request, error)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def install(app: FastAPI) -> None:
    app.add_exception_handler(StrigilError, on_strigil_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StaleDataError, on_stale)
    app.add_exception_handler(DBAPIError, on_db_error)
