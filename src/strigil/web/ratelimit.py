"""A per-client-IP sliding-window limit on sign-in attempts.

Why: the per-account lockout in ``services.auth`` stops guessing one account's password, but
not one address trying a few passwords against many accounts (password spraying). This limit
counts every attempt from an address, whichever account it names. It is in memory, so it is
per process: good for the one-machine deployment Strigil targets; several workers each keep
their own window.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import JSONResponse

from strigil.errors import TooManyRequests


class RateLimited(TooManyRequests):
    """Too many attempts from one address; ``retry_after`` says when the next one may come."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many sign-in attempts from this address; try again in {retry_after} seconds",
            code="rate_limited",
        )
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class SlidingWindowLimiter:
    """At most ``limit`` hits per ``window`` seconds for each key; thread-safe."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> int | None:
        """Count one attempt; return the seconds to wait if it is over the limit, else None.

        A refused attempt is not counted, so waiting out ``Retry-After`` always works.
        """
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + self.window - now))
            hits.append(now)
            self._forget_idle(now)
            return None

    def _forget_idle(self, now: float) -> None:
        """Drop keys with no recent hits so memory stays bounded by the active addresses."""
        if len(self._hits) < 10_000:
            return
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]


def login_limiter(request: Request) -> SlidingWindowLimiter:
    """The app's sign-in limiter, built from settings on first use."""
    state = request.app.state
    limiter: SlidingWindowLimiter | None = getattr(state, "login_limiter", None)
    if limiter is None:
        settings = state.settings
        limiter = SlidingWindowLimiter(
            limit=settings.login_rate_limit, window=settings.login_rate_window_seconds
        )
        state.login_limiter = limiter
    return limiter


def check_login(request: Request) -> RateLimited | None:
    """Count a sign-in attempt from the request's address; the refusal if it is over."""
    address = request.client.host if request.client else "unknown"
    wait = login_limiter(request).hit(address)
    return RateLimited(wait) if wait is not None else None


def json_refusal(error: RateLimited) -> JSONResponse:
    """The API's 429 answer, with Retry-After."""
    return JSONResponse(error.to_body(), status_code=error.status, headers=error.headers())
