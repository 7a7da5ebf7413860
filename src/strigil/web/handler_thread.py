"""Routes whose handler runs in one worker thread, from finding the actor to the commit.

Why: FastAPI runs each sync dependency and each sync handler in a worker thread of its own,
and the request lifecycle then ended the transaction in yet another. Every hand-over between
the event loop and a thread costs about 0.15 ms of CPU on a 2-core machine (more on a slow
one), and a cached visit page made three of them: a third of its time. A route made here
turns a sync handler into one function run in one thread: it looks up the actor (what
``deps.get_actor`` does), calls the handler, and, when the handler returned a finished
response, ends the transaction there by the lifecycle's own rule (``end_in_handler``).

Nothing is checked later than before relative to the handler: the session lookup, the CSRF
check and the clinic scope all run before the handler's first line. A request without
credentials is refused before anything else is read, and a write is checked in full before
its body is parsed (``deps.credentials_sent``); a read with a cookie or token that turns out
not to be valid may now be told about a malformed query parameter (422) before it is told to
sign in (401). An exception or a streamed body still ends in the lifecycle as before
(ADR 0025). ``tests/web/test_handler_thread.py`` fails if a route escapes this or a sync
dependency brings an extra hand-over back.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Request, Response
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from strigil.services.actors import Actor
from strigil.web import lifecycle
from strigil.web.deps import credentials_sent, get_actor, get_db, resolve_actor

_REQUEST = "_handler_thread_request"
_CREDENTIALS = "_handler_thread_credentials"
_Credentials = Annotated[Request, Depends(credentials_sent)]


class HandlerThreadRoute(APIRoute):
    """An ``APIRoute`` whose sync handler runs as one function in one worker thread."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = in_one_thread(endpoint)
        super().__init__(path, endpoint, **kwargs)


def router(**kwargs: Any) -> APIRouter:
    """An ``APIRouter`` whose routes are ``HandlerThreadRoute``s."""
    return APIRouter(route_class=HandlerThreadRoute, **kwargs)


def in_one_thread(handler: Callable[..., Any]) -> Callable[..., Any]:
    """``handler`` as an async function that makes one hand-over to a worker thread.

    Its parameters stay as declared, except two that the thread fills in itself: the actor
    (``CurrentActor``), looked up there rather than by a dependency of its own, and the
    database session (``DbSession``), the request's unit of work. Each such dependency
    FastAPI no longer solves saves a little on every request.
    """
    signature = inspect.signature(handler, eval_str=True)
    filled = {
        name: kind for name, p in signature.parameters.items() if (kind := _filled(p.annotation))
    }
    params = [p for name, p in signature.parameters.items() if name not in filled]
    takes = next((p.name for p in params if p.annotation is Request), None)
    keyword = inspect.Parameter.KEYWORD_ONLY
    if "actor" in filled.values():
        params.append(inspect.Parameter(_CREDENTIALS, keyword, annotation=_Credentials))
    if takes is None:
        params.append(inspect.Parameter(_REQUEST, keyword, annotation=Request))

    async def run(**arguments: Any) -> Any:
        arguments.pop(_CREDENTIALS, None)
        request: Request = arguments.pop(_REQUEST) if takes is None else arguments[takes]
        return await run_in_threadpool(_call, handler, request, filled, arguments)

    functools.update_wrapper(run, handler)
    run.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return run


def _call(
    handler: Callable[..., Any],
    request: Request,
    filled: dict[str, str],
    arguments: dict[str, Any],
) -> Any:
    """The worker thread's whole part of a request."""
    if filled:  # a handler that needs neither opens no session
        session = request.state.unit_of_work.session
        actor = _actor(request, session) if "actor" in filled.values() else None
        for name, kind in filled.items():
            arguments[name] = actor if kind == "actor" else session
    result = handler(**arguments)
    if isinstance(result, Response) and hasattr(result, "body"):  # not streamed
        lifecycle.end_in_handler(request.state, result.status_code)
    return result


def _actor(request: Request, session: Session) -> Actor:
    """The request's actor: a write's was found before its body was read."""
    found: Actor | None = getattr(request.state, "actor", None)
    return found if found is not None else resolve_actor(request, session)


def _filled(annotation: Any) -> str | None:
    """The kind ("actor" or "session") of a parameter the thread fills in, else None."""
    for meta in get_args(annotation)[1:]:
        if isinstance(meta, DependsParam) and meta.dependency is get_actor:
            return "actor"
        if isinstance(meta, DependsParam) and meta.dependency is get_db:
            return "session"
    return None
