"""Route lookup that skips a router whose routes cannot start with the request's first segment.

Why: FastAPI tries an included router by trying each of its routes in turn, and does so
again when it hands the request on, so every request paid for a walk through some two
hundred route patterns (about a third of a page's time, and most of a health check's) before
any of Strigil's own work began. Every Strigil route starts with a fixed segment (``/api``,
``/visits``, ``/p``), so a router is tried only when the request's first segment is one of
its own; which route answers is unchanged, since a router skipped here could not have matched.
Within one request a router's answer is also kept, since FastAPI asks for it more than once,
and a router's list of routes is taken as it stood once the app was built.

This reaches into FastAPI's included-router class, which is not public: the versions are
pinned, and ``tests/web/test_routing.py`` fails if an upgrade leaves a router unguarded
(ADR 0024).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import _IncludedRouter  # noqa: PLC2701 - see the module docstring
from starlette.routing import Match
from starlette.types import Scope

_MEMO = "strigil.route_matches"


class _SegmentGuard(_IncludedRouter):
    """An included router that says "no match" at once for a path outside its segments."""

    first_segments: frozenset[str]
    frozen_candidates: list[Any]

    def effective_candidates(self) -> Any:
        """The routes as they stood when the app was built. FastAPI checks on every call
        whether any router below has gained a route since, by walking them all; Strigil's
        routes are all added before ``guard_routers`` runs, so the answer cannot change."""
        return self.frozen_candidates

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and first_segment(_route_path(scope)) not in self.first_segments:
            return Match.NONE, {}
        return super().matches(scope)

    def _match(self, scope: Scope) -> Any:
        """FastAPI asks each router on the way down twice (to choose it, then to hand the
        request on) and each asks its own routers again; the answer cannot change within a
        request, so the second asking reuses the first."""
        if scope["type"] != "http":
            return super()._match(scope)
        memo: dict[tuple[int, str, str], Any] = scope.setdefault(_MEMO, {})
        key = (id(self), scope["method"], _route_path(scope))
        found = memo.get(key)
        if found is None:
            found = memo[key] = super()._match(scope)
        return found


def _route_path(scope: Scope) -> str:
    """The path the routes see: without the prefix a proxy mounts the app under."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def first_segment(path: str) -> str:
    """``/visits/12/note`` -> ``visits``, ``/`` -> ``""``; a pattern's ``{param}`` segment is
    kept as written."""
    return path.lstrip("/").split("/", 1)[0]


def _segments(router: _IncludedRouter) -> frozenset[str] | None:
    """The first segments of every route the router holds; None if one starts with a
    parameter (such a router could answer any path, so it is never skipped)."""
    found = set()
    for context in router.effective_route_contexts():
        path = context.path_format if context.starlette_route is None else _path(context)
        segment = first_segment(path)
        if segment.startswith("{"):
            return None
        found.add(segment)
    return frozenset(found)


def _path(context: Any) -> str:
    return str(getattr(context.starlette_route, "path", "") or "")


def guard_routers(app: FastAPI) -> int:
    """Guard every included router of the app, nested ones too; how many were guarded."""
    return sum(_guard(route) for route in app.router.routes if isinstance(route, _IncludedRouter))


def _guard(router: _IncludedRouter) -> int:
    guarded = 0
    segments = _segments(router)
    candidates = router.effective_candidates()
    if segments is not None:
        router.__class__ = _SegmentGuard
        router.first_segments = segments  # type: ignore[attr-defined]
        router.frozen_candidates = candidates  # type: ignore[attr-defined]
        guarded = 1
    children = (c for c in candidates if isinstance(c, _IncludedRouter))
    return guarded + sum(_guard(child) for child in children)


def unguarded(app: FastAPI) -> list[str]:
    """Included routers that are not guarded (for the test that pins this to FastAPI)."""
    out: list[str] = []

    def walk(router: _IncludedRouter) -> None:
        if not isinstance(router, _SegmentGuard):
            out.append(repr(sorted(_segments(router) or ["{parameter}"]))[:80])
        for child in router.effective_candidates():
            if isinstance(child, _IncludedRouter):
                walk(child)

    for route in app.router.routes:
        if isinstance(route, _IncludedRouter):
            walk(route)
    return out
