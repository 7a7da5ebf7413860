"""What a browser needs: CSRF tokens on every unsafe cookie request, and security headers
(CSP without inline script, no framing, no referrer leaks, no MIME sniffing) everywhere."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories import login, make_clinic, make_user
from tests.security.conftest import World
from tests.security.routes import RULES, Route, app_routes
from tests.security.test_role_matrix import request

from strigil.services.actors import PERMISSIONS, Role
from strigil.store.audit import AuditEvent

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _role_for(route: Route) -> Role:
    permission = RULES[(route.method, route.path)].permission
    if permission is None or permission in PERMISSIONS[Role.THERAPIST]:
        return Role.THERAPIST
    return Role.ADMIN


def _audit_count(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


@pytest.mark.parametrize("sent", [None, "wrong-token"], ids=["missing", "wrong"])
def test_every_unsafe_cookie_route_needs_the_csrf_token(
    client: TestClient, app: FastAPI, world: World, session: Session, sent: str | None
) -> None:
    routes = [r for r in app_routes(app) if r.method in UNSAFE and (r.method, r.path) in RULES]
    assert len(routes) >= 25
    problems = []
    with TestClient(app, base_url="http://127.0.0.1") as admin_client:
        clients = {Role.THERAPIST: client, Role.ADMIN: admin_client}
        for role, each in clients.items():
            login(each, world.home.users[role])
            del each.headers["X-CSRF-Token"]
            if sent is not None:
                each.headers["X-CSRF-Token"] = sent
        for route in routes:
            role = _role_for(route)
            before = _audit_count(session)
            res = request(clients[role], route, world.home, role, session, own=False)  # no set-up
            if route.path.startswith("/api/"):
                code = res.json().get("code")
            else:  # a person gets a page that says what happened, not JSON
                is_page = "text/html" in res.headers.get("content-type", "")
                code = "csrf_failed" if is_page and 'data-code="csrf_failed"' in res.text else None
            if res.status_code != 403 or code != "csrf_failed":
                problems.append(f"{route.method} {route.path}: {res.status_code} {res.text[:100]}")
            elif _audit_count(session) != before:
                problems.append(f"{route.method} {route.path}: refused but wrote audit rows")
    assert not problems, "\n".join(problems)


def test_the_form_field_token_is_accepted(client: TestClient, session: Session) -> None:
    clinic = make_clinic(session)
    token = login(client, make_user(session, clinic, role="admin"))
    del client.headers["X-CSRF-Token"]
    res = client.post(
        "/admin/instruments",
        data={"csrf_token": token, "label": "Form blade", "type_code": "ceramic"},
        follow_redirects=False,
    )
    assert res.status_code == 303


def _assert_headers(headers: object, where: str) -> None:
    h = dict(headers)  # type: ignore[call-overload]
    h = {k.lower(): v for k, v in h.items()}
    csp = h.get("content-security-policy", "")
    directives = {d.split()[0]: d for d in csp.split(";") if d.strip() for d in [d.strip()]}
    assert "script-src" in directives or "default-src" in directives, where
    script = directives.get("script-src", directives.get("default-src", ""))
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script, where
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", where
    assert directives.get("object-src") == "object-src 'none'", where
    assert h.get("x-content-type-options") == "nosniff", where
    assert h.get("referrer-policy") in {"same-origin", "no-referrer", "strict-origin"}, where
    assert h.get("x-frame-options") == "DENY", where


def test_security_headers_on_pages_api_and_errors(client: TestClient, session: Session) -> None:
    for path in (
        "/login",
        "/healthz",
        "/api/v1/auth/me",
        "/api/v1/nope",
        "/static/css/strigil.css",
    ):
        _assert_headers(client.get(path).headers, path)
    login(client, make_user(session, make_clinic(session)))
    for path in ("/", "/api/v1/auth/me", "/api/v1/patients", "/admin/audit"):
        _assert_headers(client.get(path).headers, path)
        assert client.get(path).headers["cache-control"] == "no-store", path


def test_records_are_not_stored_by_browsers_or_proxies_but_assets_are(
    client: TestClient, session: Session
) -> None:
    login(client, make_user(session, make_clinic(session)))
    assert client.get("/patients").headers["cache-control"] == "no-store"
    assert client.get("/api/v1/patients").headers["cache-control"] == "no-store"
    assert "no-store" not in client.get("/static/css/strigil.css").headers.get("cache-control", "")


def test_session_cookie_flags(client: TestClient, session: Session) -> None:
    user = make_user(session, make_clinic(session))
    res = client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": "synthetic-pass-123"}
    )
    cookie = res.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
STYLE_ATTR = re.compile(r"\sstyle\s*=", re.I)


def test_templates_need_no_inline_script_or_style() -> None:
    """The CSP would block them; catching them here is kinder than a blank button."""
    root = Path(str(files("strigil.web") / "templates"))
    problems = []
    for template in sorted(root.rglob("*.html")):
        source = template.read_text()
        for name, pattern in (
            ("inline <script>", INLINE_SCRIPT),
            ("on* handler", INLINE_HANDLER),
            ("style attribute", STYLE_ATTR),
        ):
            if pattern.search(source):
                problems.append(f"{template.relative_to(root)}: {name}")
    assert not problems, "\n".join(problems)
