"""Request dependencies: the database session (one transaction per request) and the actor."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from strigil.config import Settings
from strigil.errors import NotAuthenticated, NotPermitted
from strigil.services import auth
from strigil.services.actors import Actor
from strigil.services.database import UnitOfWork, enter_clinic

SESSION_COOKIE = "strigil_session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def get_db(request: Request) -> Session:
    """The request's session, from the unit of work the request lifecycle opened.

    Async on purpose: it does no I/O (the session connects on first use), so it must not
    take a worker thread. Commit and rollback belong to the lifecycle, not to handlers.
    """
    uow: UnitOfWork = request.state.unit_of_work
    return uow.session


DbSession = Annotated[Session, Depends(get_db)]


def keep_on_refusal(request: Request) -> None:
    """Ask the unit of work to keep this request's writes even when it answers 4xx."""
    uow: UnitOfWork = request.state.unit_of_work
    uow.keep_on_refusal()


async def get_settings(request: Request) -> Settings:
    """Async: it does no I/O, so it must not take a worker thread."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def read_form_csrf(request: Request) -> str | None:
    """The ``csrf_token`` field of a submitted form (Starlette caches the parsed form)."""
    if request.method not in UNSAFE_METHODS:
        return None
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get("csrf_token")
        request.state.form_csrf = value if isinstance(value, str) else None
    return None


def get_actor(
    request: Request, db: DbSession, _form: Annotated[None, Depends(read_form_csrf)]
) -> Actor:
    """The signed-in user (cookie) or integration (bearer token) behind this request.

    Routes made by ``web.handler_thread`` do not run this dependency in a thread of its own:
    they look the actor up with ``resolve_actor`` in the handler's thread.
    """
    return resolve_actor(request, db)


async def credentials_sent(request: Request) -> Request:
    """What ``get_actor`` checks before a handler's parameters are read, for routes that look
    the actor up in the handler's thread (``web.handler_thread``).

    A request without a session cookie or a bearer token is refused at once. A write is
    checked in full here (the session, its CSRF token), so a forged or signed-out write is
    refused before its body is even parsed; a read is looked up in the handler's thread.
    """
    if _bearer(request) is None and not request.cookies.get(SESSION_COOKIE):
        raise NotAuthenticated("please sign in", code="not_signed_in")
    if request.method in UNSAFE_METHODS:
        await read_form_csrf(request)
        uow: UnitOfWork = request.state.unit_of_work
        await run_in_threadpool(resolve_actor, request, uow.session)
    return request


def resolve_actor(request: Request, db: Session) -> Actor:
    """Look up the user behind the request's cookie or bearer token, and scope ``db`` to
    their clinic.

    Cookie-authenticated unsafe requests must carry the session's CSRF token (form field or
    ``X-CSRF-Token`` header); bearer-token requests are not sent by browsers automatically and
    need none.
    """
    client_ip = request.client.host if request.client else None
    route = f"{request.method} {request.url.path}"
    token = _bearer(request)
    if token is not None:
        user = auth.user_for_token(session=db, secret=token)
        actor = auth.actor_for(user, client_ip=client_ip, route=route)
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise NotAuthenticated("please sign in", code="not_signed_in")
        login = auth.resume(session=db, token=cookie, policy=request.app.state.policy)
        request.state.csrf_token = login.csrf_token
        if request.method in UNSAFE_METHODS:
            _check_csrf(request, login.csrf_token)
        actor = auth.actor_for(login.user, client_ip=client_ip, route=route)
    request.state.actor = actor
    _scope_tenant(db, actor)
    return actor


def _check_csrf(request: Request, expected: str) -> None:
    sent = request.headers.get("x-csrf-token") or getattr(request.state, "form_csrf", None)
    if not hmac.compare_digest((sent or "").encode(), expected.encode()):
        raise NotPermitted(
            "the form is out of date; reload the page and try again", code="csrf_failed"
        )


def _scope_tenant(db: Session, actor: Actor) -> None:
    """On PostgreSQL, run the rest of the request as the restricted app role, scoped by RLS
    to the actor's clinic (sign-in itself ran as the connection's own role)."""
    enter_clinic(db, actor.clinic_id)


CurrentActor = Annotated[Actor, Depends(get_actor)]
