"""Every route × every role × own clinic and another clinic: allowed or denied as classified.

Denied means 403 for a role without the permission and 404 for another clinic's ids (never a
2xx, never a 500). Routes are read from the app when the test runs, so a new route that is
not classified in ``tests/security/routes.py`` fails here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session
from tests.factories import login
from tests.security.conftest import Site, World
from tests.security.routes import QUERIES, RULES, Call, Route, app_routes, ordered, unclassified

from strigil.services.actors import PERMISSIONS, Role

DENIED = {401, 403, 404}


@dataclass
class Outcome:
    route: Route
    clinic: str
    status: int
    body: str

    def __str__(self) -> str:
        return f"{self.route.method} {self.route.path} [{self.clinic}] -> {self.status}: " + (
            self.body[:160].replace("\n", " ")
        )


def request(
    client: TestClient, route: Route, site: Site, role: Role, session: Session, *, own: bool
) -> Response:
    """Send ``route`` with its path filled from ``site`` (and ``role``'s token there)."""
    rule = RULES[(route.method, route.path)]
    session.expire_all()
    call = Call(site=site, session=session)
    if rule.prepare is not None and own:
        rule.prepare(call)
    ids = {**site.ids, "token_id": site.tokens[role]}
    kwargs: dict[str, object] = {"params": QUERIES.get(route.path, {})}
    if rule.json is not None:
        kwargs["json"] = rule.json(call)
    elif rule.form is not None:
        kwargs["data"] = rule.form(call)
    elif route.method in {"POST", "PUT", "PATCH"}:
        kwargs["json"] = {}
    return client.request(route.method, route.url(ids), **kwargs)  # type: ignore[arg-type]


def test_every_route_is_classified(app: FastAPI) -> None:
    routes = app_routes(app)
    assert len(routes) >= 50
    missing = unclassified(routes)
    assert not missing, "classify these routes in tests/security/routes.py: " + ", ".join(missing)
    assert {"patient_id", "episode_id", "visit_id", "area_id", "event_id"} <= {
        p for r in routes for p in r.params
    }


def _walk(
    client: TestClient, app: FastAPI, world: World, session: Session, role: Role
) -> list[str]:
    """Run every classified route for ``role``; return the failures as readable lines."""
    user = world.home.users[role]
    login(client, user)
    failures: list[str] = []
    routes = ordered([r for r in app_routes(app) if (r.method, r.path) in RULES])
    for route in [r for r in routes if r.params]:  # another clinic's ids first: they change nothing
        res = request(client, route, world.other, role, session, own=False)
        out = Outcome(route, "other", res.status_code, res.text)
        if not rule_loads(route) and res.status_code < 500:
            continue
        if res.status_code >= 500 or res.status_code not in {403, 404}:
            failures.append(f"expected 404 (or 403) for another clinic's ids: {out}")
        elif role_may(role, route) and res.status_code != 404 and rule_loads(route):
            failures.append(f"expected 404 for another clinic's ids: {out}")
    for route in routes:
        rule = RULES[(route.method, route.path)]
        res = request(client, route, world.home, role, session, own=True)
        out = Outcome(route, "own", res.status_code, res.text)
        if res.status_code >= 500:
            failures.append(f"server error: {out}")
        elif role_may(role, route) and res.status_code in DENIED:
            failures.append(f"expected allowed: {out}")
        elif not role_may(role, route) and res.status_code != 403:
            failures.append(f"expected 403: {out}")
        if rule.relogin:
            login(client, user)
    return failures


def rule_loads(route: Route) -> bool:
    return RULES[(route.method, route.path)].loads_path_record


def role_may(role: Role, route: Route) -> bool:
    permission = RULES[(route.method, route.path)].permission
    return permission is None or permission in PERMISSIONS[role]


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_role_matrix(
    client: TestClient, app: FastAPI, world: World, session: Session, role: Role
) -> None:
    failures = _walk(client, app, world, session, role)
    assert not failures, f"{len(failures)} problems for {role.value}:\n" + "\n".join(failures)


def test_therapist_walk_mostly_succeeds(
    client: TestClient, app: FastAPI, world: World, session: Session
) -> None:
    """Guard against a matrix that passes because every request is malformed."""
    login(client, world.home.users[Role.THERAPIST])
    routes = ordered([r for r in app_routes(app) if (r.method, r.path) in RULES])
    allowed = [r for r in routes if role_may(Role.THERAPIST, r)]
    statuses = {
        f"{r.method} {r.path}": request(
            client, r, world.home, Role.THERAPIST, session, own=True
        ).status_code
        for r in allowed
        if not RULES[(r.method, r.path)].relogin and RULES[(r.method, r.path)].expect_success
    }
    failed = {k: v for k, v in statuses.items() if not 200 <= v < 400}
    assert not failed, failed
