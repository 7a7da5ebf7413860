"""Every route that reads or writes patient data leaves an audit row: who, when, what, where."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories import login
from tests.security.conftest import World
from tests.security.routes import RULES, Route, app_routes, ordered
from tests.security.test_role_matrix import request

from strigil.services.actors import Role
from strigil.store.audit import AuditEvent


def _patient_routes(app: FastAPI) -> list[Route]:
    routes = [r for r in app_routes(app) if (r.method, r.path) in RULES]
    chosen = [r for r in routes if RULES[(r.method, r.path)].reads_or_writes_patient_data]
    return ordered([r for r in chosen if r.method in {"GET", "POST", "PUT"}])


def _new_rows(session: Session, clinic_id: int, after: int) -> list[AuditEvent]:
    session.expire_all()
    query = select(AuditEvent).where(AuditEvent.clinic_id == clinic_id, AuditEvent.id > after)
    return list(session.scalars(query.order_by(AuditEvent.id)))


def _last_id(session: Session) -> int:
    rows = session.scalars(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)).all()
    return rows[0] if rows else 0


def test_every_patient_data_route_is_audited(
    client: TestClient, app: FastAPI, world: World, session: Session
) -> None:
    therapist = world.home.users[Role.THERAPIST]
    login(client, therapist)
    routes = _patient_routes(app)
    assert len(routes) >= 30
    problems: list[str] = []
    for route in routes:
        before = _last_id(session)
        res = request(client, route, world.home, Role.THERAPIST, session, own=True)
        label = f"{route.method} {route.path}"
        if not 200 <= res.status_code < 400:
            if RULES[(route.method, route.path)].expect_success:
                problems.append(f"{label}: {res.status_code} {res.text[:120]}")
            continue  # a refusal rolls back and discloses nothing: there is no read to audit
        rows = _new_rows(session, world.home.clinic.id, before)
        mine = [r for r in rows if r.user_id == therapist.id]
        if not mine:
            problems.append(f"{label}: no audit row")
            continue
        row = mine[-1]
        if row.client_ip is None or row.route is None or row.at is None:
            problems.append(f"{label}: audit row lacks where/when ({row.route}, {row.client_ip})")
        if route.params and not any(r.patient_id for r in mine) and "/admin" not in route.path:
            problems.append(f"{label}: audit rows do not name the patient")
    assert not problems, "\n".join(problems)


def test_a_refused_request_leaves_no_write_but_reading_is_never_unrecorded(
    client: TestClient, world: World, session: Session
) -> None:
    """A role refused by the services writes nothing, not even a partial audit row."""
    login(client, world.home.users[Role.RESEARCHER])
    before = _last_id(session)
    res = client.get(f"/api/v1/patients/{world.home.ids['patient_id']}")
    assert res.status_code == 403
    assert _new_rows(session, world.home.clinic.id, before) == []


def test_audit_search_and_csv_export(client: TestClient, world: World, session: Session) -> None:
    login(client, world.home.users[Role.THERAPIST])
    patient_id = world.home.ids["patient_id"]
    assert client.get(f"/api/v1/patients/{patient_id}").status_code == 200
    login(client, world.home.users[Role.ADMIN])
    found = client.get("/api/v1/admin/audit", params={"patient_id": patient_id, "action": "read"})
    assert found.status_code == 200
    rows = found.json()
    assert rows and all(r["patient_id"] == patient_id and r["action"] == "read" for r in rows)
    assert rows[0]["route"] == f"GET /api/v1/patients/{patient_id}"
    assert rows[0]["user"] == world.home.users[Role.THERAPIST].display_name
    csv = client.get("/admin/audit.csv", params={"patient_id": patient_id})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("at,user,action") and len(lines) >= 2
    assert all(patient_id in line for line in lines[1:])
    page = client.get("/admin/audit", params={"patient_id": patient_id})
    assert page.status_code == 200 and patient_id in page.text
    other = world.other.ids["patient_id"]
    assert client.get("/api/v1/admin/audit", params={"patient_id": other}).json() == []
    bad = client.get("/admin/audit", params={"since": "2026-13-40"})
    assert bad.status_code == 422 and "since must be a date" in bad.text
    order = client.get("/api/v1/admin/audit", params={"since": "2026-02-02", "until": "2026-01-01"})
    assert order.status_code == 422 and order.json()["field"] == "until"
    del session
