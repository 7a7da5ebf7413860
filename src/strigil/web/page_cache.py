"""Rendered visit pages, reused while nothing in the clinic has changed.

Why: the visit page draws on some fifteen tables and is reopened far more often than any one
of them changes (a reload, a second tab, a colleague's glance). A page is reused only for
the same person, session and role, and only while the revisions it was rendered at (the
patient's and the clinic's shared rows, moved on in the same transaction as every clinical
change, see ``store/revisions.py``) still stand, so a reused page shows exactly what a
fresh one would. A short lifetime bounds what depends on the clock alone, and every reuse
is audited like a fresh read.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from fastapi import Request

from strigil.services.actors import Actor

Key = tuple[str, str, int, str, int, tuple[int, ...]]


@dataclass(frozen=True)
class Rendered:
    """A page as sent, and what its read is audited against."""

    body: bytes
    visit_id: uuid.UUID
    patient_id: uuid.UUID
    expires: float


class PageCache:
    """A bounded, thread-safe, least-recently-used map from a page's key to its HTML."""

    def __init__(self, size: int = 256, lifetime_seconds: float = 30.0) -> None:
        self._size = size
        self._lifetime = lifetime_seconds
        self._pages: OrderedDict[Key, Rendered] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(request: Request, actor: Actor, revision: tuple[int, ...]) -> Key | None:
        """The page's identity, or None when it must not be reused (htmx fragments)."""
        if request.headers.get("hx-request"):
            return None
        csrf = str(getattr(request.state, "csrf_token", ""))
        path = request.url.path + "?" + request.url.query
        return (path, csrf, actor.user_id, actor.role.value, actor.clinic_id, revision)

    def get(self, key: Key) -> Rendered | None:
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                return None
            if page.expires < time.monotonic():
                del self._pages[key]
                return None
            self._pages.move_to_end(key)
            return page

    def put(
        self,
        key: Key,
        body: bytes,
        visit_id: uuid.UUID,
        patient_id: uuid.UUID,
        *,
        true_for: float = float("inf"),
    ) -> None:
        """Keep a page; ``true_for`` (seconds) ends it sooner when something on it turns
        with the clock alone (a patient link shown as open that is about to expire)."""
        lifetime = min(self._lifetime, max(true_for, 0.0))
        if lifetime <= 0:
            return
        page = Rendered(body, visit_id, patient_id, time.monotonic() + lifetime)
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self._size:
                self._pages.popitem(last=False)
