"""The dashboard: today's appointments and visits, recent patients and what needs attention.

Why the overview is kept: its lists scan the whole clinic (the episodes to review above all),
and the dashboard is reloaded far more often than the clinic's data changes. An overview is
reused only while the clinic's data revision and the UTC day are those it was computed at,
so a reused one shows exactly what a fresh one would; every showing is audited.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from fastapi import Request
from fastapi.responses import HTMLResponse

from strigil.services import appointments, dashboard
from strigil.services.actors import Actor, Permission
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.pages.render import page

router = handler_thread.router()
Key = tuple[int, int, str]


class OverviewCache:
    """A bounded, thread-safe map from (clinic, revision, day) to a computed overview."""

    def __init__(self, size: int = 64, lifetime_seconds: float = 60.0) -> None:
        self._size = size
        self._lifetime = lifetime_seconds
        self._items: OrderedDict[Key, tuple[float, dashboard.Overview]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key) -> dashboard.Overview | None:
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] < time.monotonic():
                self._items.pop(key, None)
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: Key, overview: dashboard.Overview) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + self._lifetime, overview)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def _overview(request: Request, db: DbSession, actor: Actor) -> dashboard.Overview:
    cache: OverviewCache = request.app.state.overview_cache
    key = dashboard.data_key(session=db, actor=actor)
    kept = cache.get(key)
    if kept is not None:
        dashboard.record_read(session=db, actor=actor)
        return kept
    overview = dashboard.overview(session=db, actor=actor)
    cache.put(key, overview)
    return overview


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    if not actor.can(Permission.READ_CLINICAL):
        return page(request, "dashboard.html", {"overview": None})
    overview = _overview(request, db, actor)
    zone = appointments.clinic_zone(session=db, actor=actor)
    return page(request, "dashboard.html", {"overview": overview, "zone": zone})
