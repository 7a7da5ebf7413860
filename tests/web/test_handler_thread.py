"""A handler runs in one worker thread, from finding the actor to the commit, and the
lifecycle's rules hold there as they do at the response's start."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import anyio.to_thread
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, _IncludedRouter
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from tests.factories import login, make_clinic, make_patient, make_user
from tests.web.probes import add_probe, clinics_named

from strigil.store.clinics import User
from strigil.store.unit_of_work import UnitOfWork
from strigil.web.app import create_app
from strigil.web.handler_thread import HandlerThreadRoute


def _routes(app: FastAPI) -> Iterator[APIRoute]:
    for route in app.router.routes:
        if isinstance(route, _IncludedRouter):
            for context in route.effective_route_contexts():
                if isinstance(context.original_route, APIRoute):
                    yield context.original_route
        elif isinstance(route, APIRoute):
            yield route


def _sync_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """Every dependency FastAPI would run in a worker thread of its own."""
    for sub in dependant.dependencies:
        if sub.call is not None and not inspect.iscoroutinefunction(sub.call):
            yield sub.call
        yield from _sync_calls(sub)


def test_every_route_makes_one_handover_at_most() -> None:
    """A route outside ``handler_thread``, or a sync dependency, would bring back a hand-over
    to a thread of its own on every request; this names each one."""
    app = create_app()
    routes = list(_routes(app))
    assert len(routes) > 200
    outside = [r.name for r in routes if not isinstance(r, HandlerThreadRoute)]
    assert outside == ["healthz"]  # async, on its own connection and threads
    sync_deps = {
        (r.path, getattr(call, "__name__", str(call)))
        for r in routes
        for call in _sync_calls(r.dependant)
    }
    assert sync_deps == set()
    assert all(inspect.iscoroutinefunction(r.endpoint) for r in routes)


@pytest.fixture
def handovers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions handed to a worker thread while the test runs."""
    seen: list[str] = []
    real = anyio.to_thread.run_sync

    async def counting(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        called = getattr(func, "func", func)  # Starlette hands over a functools.partial
        seen.append(getattr(called, "__name__", repr(called)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    return seen


def test_a_page_read_is_one_handover(
    client: TestClient, session: Session, handovers: list[str]
) -> None:
    user = make_user(session, make_clinic(session))
    patient = make_patient(session, user)
    session.commit()
    login(client, user)
    for _ in range(2):  # drawn afresh, then again
        handovers.clear()
        response = client.get(f"/patients/{patient.external_id}")
        assert response.status_code == 200
        assert handovers == ["_call"]
    handovers.clear()
    assert client.get("/api/v1/patients").status_code == 200
    assert handovers == ["_call", "<lambda>"]  # a model answer is committed once serialised


def test_a_browser_write_is_checked_in_full_before_its_body(
    client: TestClient, session: Session, handovers: list[str]
) -> None:
    user = make_user(session, make_clinic(session))
    session.commit()
    login(client, user)
    csrf = client.headers.pop("X-CSRF-Token")
    refused = client.post("/api/v1/patients", json={"not": "a patient"})
    assert (refused.status_code, refused.json()["code"]) == (403, "csrf_failed")
    client.cookies.set("strigil_session", "not-a-session")
    client.headers["X-CSRF-Token"] = csrf
    signed_out = client.post("/api/v1/patients", json={"not": "a patient"})
    assert (signed_out.status_code, signed_out.json()["code"]) == (401, "not_signed_in")
    assert client.get("/patients", follow_redirects=False).status_code in (303, 401)


@pytest.fixture
def probe(app: FastAPI, session: Session) -> tuple[FastAPI, User]:
    """A route run by ``handler_thread`` that renames the actor's clinic, then answers the
    given status with a finished response (ended in the handler's thread)."""
    return add_probe(app, session, HandlerThreadRoute)


@pytest.mark.parametrize(("status", "kept"), [(200, 1), (303, 1), (404, 0), (409, 0), (599, 0)])
def test_the_handler_thread_commits_only_what_succeeded(
    probe: tuple[FastAPI, User], session: Session, status: int, kept: int
) -> None:
    app, user = probe
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        login(client, user)
        answered = client.post(f"/_probe/write/{status}/probe-{status}", follow_redirects=False)
    assert answered.status_code == (500 if status == 599 else status)
    assert clinics_named(session, f"probe-{status}") == kept


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (StaleDataError("changed"), 409, "version_conflict"),
        (OperationalError("COMMIT", {}, Exception("gone")), 503, "database_unavailable"),
        (RuntimeError("disk full"), 500, "commit_failed"),
    ],
)
def test_a_commit_that_fails_in_the_handler_thread_is_answered(
    probe: tuple[FastAPI, User],
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    status: int,
    code: str,
) -> None:
    app, user = probe
    with TestClient(app, base_url="http://127.0.0.1") as client:
        login(client, user)

        def fail(self: UnitOfWork) -> None:
            raise error

        monkeypatch.setattr(UnitOfWork, "commit", fail)
        answered = client.post("/_probe/write/200/never-saved")
    assert (answered.status_code, answered.json()["code"]) == (status, code)
    assert clinics_named(session, "never-saved") == 0
