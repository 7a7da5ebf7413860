"""The request lifecycle: one unit of work per request, the scope at every begin, the gate."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from tests.factories import login, make_clinic, make_patient, make_user
from tests.liveserver import in_own_loop
from tests.web.probes import add_probe, clinics_named

from strigil.config import Settings
from strigil.store import tenancy
from strigil.store.clinics import User
from strigil.store.patients import Patient
from strigil.web.app import OwnerLoginRefused, create_app
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.lifecycle import Capacity, Gate, RequestLifecycle


@pytest.fixture
def probe(app: FastAPI, session: Session) -> tuple[FastAPI, User]:
    """A test-only route that renames the actor's clinic, then ends with the given status."""
    return add_probe(app, session)


@pytest.mark.parametrize(("status", "kept"), [(200, 1), (201, 1), (404, 0), (409, 0), (422, 0)])
def test_a_request_commits_only_when_it_succeeds(
    probe: tuple[FastAPI, User], session: Session, status: int, kept: int
) -> None:
    app, user = probe
    name = f"probe-{status}"
    with TestClient(app, base_url="http://127.0.0.1") as client:
        login(client, user)
        assert client.post(f"/_probe/write/{status}/{name}").status_code == status
    assert clinics_named(session, name) == kept


def test_a_failing_handler_rolls_back(probe: tuple[FastAPI, User], session: Session) -> None:
    app, user = probe
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        login(c, user)
        assert c.post("/_probe/write/599/probe-crash").status_code == 500
    assert clinics_named(session, "probe-crash") == 0


def test_health_answers_without_the_queue(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["database"] == "ok"


def test_the_gate_refuses_at_once_when_the_queue_is_full() -> None:
    async def scenario() -> list[bool]:
        gate = Gate(Capacity(running=1, queued=1, wait_seconds=5))
        assert await gate.enter()  # running
        waiter = asyncio.create_task(gate.enter())  # queued
        await asyncio.sleep(0.01)
        refused = await asyncio.wait_for(gate.enter(), 0.5)  # queue full: no waiting
        gate.leave()
        admitted = await asyncio.wait_for(waiter, 1)
        gate.leave()
        return [refused, admitted, gate.waiting == 0]

    assert in_own_loop(scenario()) == [False, True, True]


def test_a_queued_request_gives_up_after_its_wait() -> None:
    async def scenario() -> bool:
        gate = Gate(Capacity(running=1, queued=5, wait_seconds=0.05))
        assert await gate.enter()
        late = await gate.enter()
        gate.leave()
        again = await gate.enter()  # the timed-out waiter took no permit with it
        gate.leave()
        return not late and again

    assert in_own_loop(scenario())


def test_beyond_capacity_the_server_answers_503_with_retry_after(app: FastAPI) -> None:
    lifecycle = next(m for m in app.user_middleware if m.cls is RequestLifecycle)
    lifecycle.kwargs["capacity"] = Capacity(running=1, queued=0, wait_seconds=0.01)

    async def hold(db: DbSession) -> JSONResponse:
        await asyncio.sleep(0.3)
        return JSONResponse({})

    app.add_api_route("/_probe/hold", hold)
    answers: list[int] = []
    with TestClient(app, base_url="http://127.0.0.1") as client:
        first = threading.Thread(
            target=lambda: answers.append(client.get("/_probe/hold").status_code)
        )
        first.start()
        time.sleep(0.1)
        busy = client.get("/_probe/hold")
        first.join(5)
    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["code"] == "busy"
    assert answers == [200]


@pytest.mark.postgres
def test_scope_survives_savepoint_and_rollback_inside_a_request(
    app: FastAPI, session: Session, is_postgres: bool
) -> None:
    """After a failed savepoint and a full rollback mid-request, the rest of the request still
    runs as the app role and sees only the actor's clinic."""
    assert is_postgres
    mine, other = make_clinic(session), make_clinic(session)
    me = make_user(session, mine)
    make_patient(session, me)
    make_patient(session, make_user(session, other))
    make_patient(session, make_user(session, other))
    session.commit()

    def probe(actor: CurrentActor, db: DbSession) -> dict[str, object]:
        try:
            with db.begin_nested():
                db.execute(text("SELECT 1/0"))
        except Exception:  # noqa: BLE001 - the failure is the point
            pass
        after_savepoint = int(db.scalar(select(func.count()).select_from(Patient)) or 0)
        db.rollback()
        after_rollback = int(db.scalar(select(func.count()).select_from(Patient)) or 0)
        role = db.scalar(text("SELECT current_user"))
        return {"savepoint": after_savepoint, "rollback": after_rollback, "role": role}

    app.add_api_route("/_probe/scope", probe)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        login(client, me)
        body = client.get("/_probe/scope").json()
    assert body == {"savepoint": 1, "rollback": 1, "role": tenancy.APP_ROLE}


def test_a_person_beyond_capacity_gets_a_page(app: FastAPI) -> None:
    lifecycle = next(m for m in app.user_middleware if m.cls is RequestLifecycle)
    lifecycle.kwargs["capacity"] = Capacity(running=1, queued=0, wait_seconds=0.01)

    async def hold(db: DbSession) -> JSONResponse:
        await asyncio.sleep(0.3)
        return JSONResponse({})

    app.add_api_route("/_probe/hold", hold)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        first = threading.Thread(target=lambda: client.get("/_probe/hold"))
        first.start()
        time.sleep(0.1)
        busy = client.get("/_probe/hold", headers={"accept": "text/html"})
        first.join(5)
    assert busy.status_code == 503
    assert busy.headers["content-type"].startswith("text/html")
    assert "server is busy" in busy.text and "nothing from this request was saved" in busy.text


def test_starting_as_the_owner_warns_and_can_be_refused(
    settings: Settings, is_postgres: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """The suite connects as PostgreSQL's superuser: the server says so at start-up, and
    refuses to start when told to; SQLite has no roles and starts quietly."""
    with caplog.at_level("WARNING", logger="strigil.web"), TestClient(create_app(settings)):
        pass
    warned = [r.getMessage() for r in caplog.records if "strigil db app-login" in r.getMessage()]
    assert bool(warned) == is_postgres
    strict = settings.model_copy(update={"refuse_owner_login": True})
    if is_postgres:
        with pytest.raises(OwnerLoginRefused, match="superuser"), TestClient(create_app(strict)):
            pass
    else:
        with TestClient(create_app(strict)) as client:
            assert client.get("/healthz").status_code == 200


def test_warm_up_compiles_every_page_and_opens_the_pool(app: FastAPI) -> None:
    """The first visits after a restart must not each compile the page templates (most of
    a second) or open a database connection: ready means both were done at start."""
    with TestClient(app, base_url="http://127.0.0.1") as client:
        deadline = time.monotonic() + 120
        while client.get("/healthz").json()["search_index"] != "ready":
            assert time.monotonic() < deadline, "the warm-up did not finish"
            time.sleep(0.2)
        env = app.state.templates.env
        compiled = {template.name for template in env.cache.values()}
        pages = set(env.list_templates(filter_func=lambda name: name.endswith(".html")))
        assert pages and pages <= compiled
        assert app.state.engine.pool.checkedin() >= app.state.capacity.running
