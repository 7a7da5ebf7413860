"""Route lookup that skips a router whose routes cannot start with the request's first segment.

Why: FastAPI tries an included router by trying each of its routes in turn, and does so
again when it hands the request on, so every request paid for a walk through some two
hundred route patterns (about a third of a page's time, and most of a health check's) before
any of Strigil's own work began. Every Strigil route starts with a fixed segment (``/api``,
``/visits``, ``/p``), so a router is tried only when the request's first segment is one of
its own; which route answers is unchanged, since a router skipped here could not have matched.
Within one request a router's answer is also kept, since FastAPI asks for it more than once,
and a router's list of routes is taken as it stood once the app was built. Inside a router,
only the routes whose pattern has the request's number of segments are tried: the visit
page's router holds a dozen ``/visits/{id}/...`` actions that could never match ``/visits/{id}``.

This reaches into FastAPI's included-router class, which is not public: the versions are
pinned, and ``tests/web/test_routing.py`` fails if an upgrade leaves a router unguarded
(ADR 0024).
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import FastAPI
from fastapi.routing import _IncludedRouter  # noqa: PLC2701 - see the module docstring
from starlette.convertors import PathConvertor
from starlette.routing import Match
from starlette.types import Scope

_MEMO = "strigil.route_matches"
_ANY_LENGTH = -1  # a pattern that can span segments ({name:path}, a mount)
_SHAPES_KEPT = 1024  # request shapes whose narrowed route list is kept, per router

Shape = tuple[str, int]


class _SegmentGuard(_IncludedRouter):
    """An included router that says "no match" at once for a path outside its segments."""

    first_segments: frozenset[str]
    prefix: tuple[str, ...]
    next_segments: frozenset[str] | None
    frozen_candidates: list[Any]
    candidate_shapes: list[frozenset[Shape]]
    by_shape: dict[Shape, list[Any]]
    narrowing: threading.local

    def effective_candidates(self) -> Any:
        """The routes as they stood when the app was built (FastAPI checks on every call
        whether any router below has gained a route since, by walking them all; Strigil's
        routes are all added before ``guard_routers`` runs, so the answer cannot change);
        while this thread matches a request, only those that fit its shape."""
        narrowed: list[Any] | None = getattr(self.narrowing, "candidates", None)
        return self.frozen_candidates if narrowed is None else narrowed

    def candidates_for(self, shape: Shape) -> list[Any]:
        """The routes, in order, whose pattern could match a path of this shape: the rest
        could only answer "no match"."""
        found = self.by_shape.get(shape)
        if found is None:
            found = [
                candidate
                for candidate, shapes in zip(
                    self.frozen_candidates, self.candidate_shapes, strict=True
                )
                if _fits(shape, shapes)
            ]
            if len(self.by_shape) < _SHAPES_KEPT:  # a bound against made-up paths
                self.by_shape[shape] = found
        return found

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and not self.admits(_route_path(scope)):
            return Match.NONE, {}
        return super().matches(scope)

    def admits(self, path: str) -> bool:
        """Whether a route here could match ``path``: it starts with the literal segments
        they all share, and the segment after those is one of theirs (``/api/v1/visits/...``
        never asks the episodes' API router; with no shared prefix, that is the first
        segment)."""
        parts = segments(path)
        depth = len(self.prefix)
        if tuple(parts[:depth]) != self.prefix:
            return False
        return self.next_segments is None or (
            len(parts) > depth and parts[depth] in self.next_segments
        )

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
            self.narrowing.candidates = self.candidates_for(shape_of(key[2]))
            try:
                found = memo[key] = super()._match(scope)
            finally:
                self.narrowing.candidates = None
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


def shape_of(path: str) -> Shape:
    """``/visits/12/note`` -> ``("visits", 3)``: the first segment and how many there are."""
    parts = segments(path)
    return parts[0], len(parts)


def segments(path: str) -> list[str]:
    """``/visits/12/note`` -> ``["visits", "12", "note"]``, ``/`` -> ``[""]``."""
    return path.lstrip("/").split("/")


def _fits(shape: Shape, shapes: frozenset[Shape]) -> bool:
    return shape in shapes or (shape[0], _ANY_LENGTH) in shapes


def _shapes(candidate: Any) -> frozenset[Shape]:
    """The shapes of path a route (or every route of a router) could match."""
    contexts = (
        candidate.effective_route_contexts()
        if isinstance(candidate, _IncludedRouter)
        else [candidate]
    )
    found = set()
    for context in contexts:
        if context.starlette_route is not None:  # a mount, or a plain Starlette route
            found.add((first_segment(_path(context)), _ANY_LENGTH))
            continue
        first, length = shape_of(context.path_format)
        spans = any(isinstance(c, PathConvertor) for c in context.param_convertors.values())
        found.add((first, _ANY_LENGTH if spans else length))
    return frozenset(found)


def _segments(router: _IncludedRouter) -> frozenset[str] | None:
    """The first segments of every route the router holds; None if one starts with a
    parameter (such a router could answer any path, so it is never skipped)."""
    found = set()
    for path in _route_paths(router):
        segment = first_segment(path)
        if segment.startswith("{"):
            return None
        found.add(segment)
    return frozenset(found)


def fixed_prefix(router: _IncludedRouter) -> tuple[tuple[str, ...], frozenset[str] | None]:
    """The literal segments every route of the router starts with, and the literal segments
    that follow them (None when a route ends there or has a parameter there)."""
    routes = [
        [None if "{" in part else part for part in segments(path)] for path in _route_paths(router)
    ]
    prefix: list[str] = []
    while True:
        depth = len(prefix)
        column = {parts[depth] if depth < len(parts) else None for parts in routes}
        if len(column) != 1 or None in column:
            following = None if None in column else frozenset(str(part) for part in column)
            return tuple(prefix), following
        prefix.append(str(column.pop()))


def _route_paths(router: _IncludedRouter) -> list[str]:
    return [
        context.path_format if context.starlette_route is None else _path(context)
        for context in router.effective_route_contexts()
    ]


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
        prefix, following = fixed_prefix(router)
        router.__class__ = _SegmentGuard
        router.first_segments = segments  # type: ignore[attr-defined]
        router.prefix, router.next_segments = prefix, following  # type: ignore[attr-defined]
        router.frozen_candidates = candidates  # type: ignore[attr-defined]
        router.candidate_shapes = [_shapes(c) for c in candidates]  # type: ignore[attr-defined]
        router.by_shape = {}  # type: ignore[attr-defined]
        router.narrowing = threading.local()  # type: ignore[attr-defined]
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
