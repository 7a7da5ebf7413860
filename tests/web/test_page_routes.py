"""Page routers may be listed in any order: no route of one matches a path of another.

Why: routes are tried in order, and the busiest routers are listed first (see
``strigil.web.pages``); that is only safe while no path could be answered by two routers, which
would make the order decide what a clinician sees.
"""

from __future__ import annotations

import re
import uuid
from itertools import permutations

from fastapi.routing import APIRoute

from strigil.web.pages import PAGES, evidence


def _routes(module: object) -> list[APIRoute]:
    return [r for r in module.router.routes if isinstance(r, APIRoute)]  # type: ignore[attr-defined]


def _sample(path: str) -> str:
    """A concrete path for a route's pattern (every parameter a UUID, as ids are)."""
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def test_no_page_route_answers_another_routers_path() -> None:
    modules = [*PAGES, evidence]
    clashes = [
        f"{a.__name__} {route.path} also matches {b.__name__} {other.path}"
        for a, b in permutations(modules, 2)
        for route in _routes(a)
        for other in _routes(b)
        if route.path_regex.match(_sample(other.path)) and set(route.methods) & set(other.methods)
    ]
    assert clashes == []


def test_the_check_sees_a_clash_when_there_is_one() -> None:
    visit = next(r for r in _routes(PAGES[0]) if r.path == "/visits/{visit_id}")
    assert visit.path_regex.match(_sample("/visits/{other_id}"))
    assert not visit.path_regex.match(_sample("/visits/{visit_id}/note"))
