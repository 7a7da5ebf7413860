"""The route guard changes how fast a route is found, never which route answers.

Pinned to FastAPI's included-router class (not public): if an upgrade changes it, the first
test fails rather than the guard silently doing nothing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import _IncludedRouter
from starlette.routing import Match

from strigil.web import app as app_module
from strigil.web import routing


def _app(*, guarded: bool, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    if not guarded:
        monkeypatch.setattr(routing, "guard_routers", lambda app: 0)
    built = app_module.create_app()
    monkeypatch.undo()
    return built


def _resolve(app: FastAPI, path: str, method: str) -> str:
    """The endpoint that would answer ``method path`` (or how the router would refuse)."""
    scope = {"type": "http", "path": path, "method": method, "root_path": "",
             "headers": [], "query_string": b"", "app": app}  # fmt: skip
    partial = None
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return _descend(route, scope)
        if match == Match.PARTIAL and partial is None:
            partial = route
    return "405" if partial is not None else "404"


def _descend(route: object, scope: dict[str, object]) -> str:
    while isinstance(route, _IncludedRouter):
        match, _, route, _ = route._match(scope)
        if route is None or match != Match.FULL:
            return f"nested {match}"
    endpoint = getattr(route, "endpoint", None)
    return f"{endpoint.__module__}.{endpoint.__name__}" if endpoint else str(route)


def _requests(app: FastAPI) -> Iterator[tuple[str, str]]:
    """Every route's pattern made concrete, with each of its methods and one it lacks."""
    for route in app.router.routes:
        contexts = route.effective_route_contexts() if isinstance(route, _IncludedRouter) else []
        for context in contexts:
            path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), context.path_format)
            for method in sorted(context.methods or {"GET"}) + ["PATCH"]:
                yield path, method
    yield from [("/healthz", "GET"), ("/", "GET"), ("/nowhere", "GET"), ("/api/v1/x", "GET")]


def test_every_included_router_is_guarded() -> None:
    app = app_module.create_app()
    assert routing.unguarded(app) == []
    assert routing.guard_routers(app_module.create_app()) > 30


def test_every_request_reaches_the_same_route_with_and_without_the_guard(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = _app(guarded=False, monkeypatch=monkeypatch)
    guarded = _app(guarded=True, monkeypatch=monkeypatch)
    requests = list(_requests(plain))
    assert len(requests) > 400
    differ = [
        (method, path, a, b)
        for path, method in requests
        if (a := _resolve(plain, path, method)) != (b := _resolve(guarded, path, method))
    ]
    assert differ == []
    assert _resolve(guarded, "/healthz", "GET").endswith(".healthz")


def test_a_router_whose_route_starts_with_a_parameter_is_never_skipped() -> None:
    from fastapi import APIRouter

    app, open_router = FastAPI(), APIRouter()
    open_router.add_api_route("/{anything}", lambda anything: anything)
    app.include_router(open_router)
    assert routing.guard_routers(app) == 0
    assert routing.first_segment("/visits/1/note") == "visits"
    assert routing.first_segment("/") == ""


def test_a_parameter_that_spans_segments_still_answers_every_length() -> None:
    from fastapi import APIRouter
    from fastapi.testclient import TestClient

    app, files = FastAPI(), APIRouter()
    files.add_api_route("/files/one", lambda: "one")
    files.add_api_route("/files/{rest:path}", lambda rest: f"path {rest}")
    files.add_api_route("/files/{a}/{b}", lambda a, b: f"two {a} {b}", methods=["POST"])
    app.include_router(files)
    assert routing.guard_routers(app) == 1
    with TestClient(app) as client:
        assert client.get("/files/one").json() == "one"
        assert client.get("/files/a/b/c").json() == "path a/b/c"
        assert client.post("/files/a/b").json() == "two a b"
        assert client.get("/other/a").status_code == 404


def test_a_router_tries_only_the_routes_shaped_like_the_request() -> None:
    app = app_module.create_app()
    pattern = "/visits/{visit_id}"
    holder = next(
        router
        for router in _guarded_routers(app)
        if any(getattr(c, "path_format", None) == pattern for c in router.frozen_candidates)
    )
    tried = holder.candidates_for(routing.shape_of("/visits/0f7c"))
    paths = [getattr(c, "path_format", None) for c in tried]
    assert pattern in paths
    assert all(p is None or p.count("/") == 2 for p in paths)  # no /visits/{id}/... action
    assert len(tried) < len(holder.frozen_candidates) / 2
    assert routing.shape_of("/") == ("", 1)
    assert routing.shape_of("/visits/1/note") == ("visits", 3)


def _guarded_routers(app: FastAPI) -> Iterator[_IncludedRouter]:
    stack = [r for r in app.router.routes if isinstance(r, _IncludedRouter)]
    while stack:
        router = stack.pop()
        yield router
        stack.extend(c for c in router.frozen_candidates if isinstance(c, _IncludedRouter))


def test_a_router_is_skipped_past_the_literal_segments_its_routes_share() -> None:
    app = app_module.create_app()
    holder = next(
        router
        for router in _guarded_routers(app)
        if any(
            getattr(c, "path_format", None) == "/api/v1/visits/{visit_id}"
            for c in router.frozen_candidates
        )
    )
    assert holder.prefix == ("api", "v1")
    assert holder.next_segments is not None and "visits" in holder.next_segments
    assert holder.admits("/api/v1/visits/0f7c")
    assert not holder.admits("/api/v1/patients/0f7c")
    assert not holder.admits("/api/v2/visits/0f7c")
    assert not holder.admits("/api")
    top = [r for r in app.router.routes if isinstance(r, _IncludedRouter)]
    pages = next(r for r in top if "visits" in r.first_segments)
    assert pages.prefix == ()  # pages start with many different segments
    assert pages.admits("/") and pages.admits("/visits/1") and not pages.admits("/api/v1")
