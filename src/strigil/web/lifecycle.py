"""The request lifecycle: admission with a bounded queue, then one unit of work per request.

Why: a server that lets every connection in runs out of worker threads and pooled
connections at the same moment, and then nothing can finish. Here a fixed number of requests
run at once (sized below the thread pool and the connection pool, so a running request always
finds a thread and a connection); a bounded number wait, each for a bounded time; the rest are
answered at once with 503 and Retry-After. Health checks and static files bypass the queue.

The unit of work commits when the response is about to start with a status below 400 and
rolls back otherwise, so a request that ends in a 4xx changes nothing. A handler that returns
a finished response ends the transaction by the same rule in its own worker thread
(``end_in_handler``), which saves a hand-over to another thread per request.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from html import escape
from typing import Any

from anyio import to_thread
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from strigil.services.database import UnitOfWork

log = logging.getLogger("strigil.web")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

STATE_KEY = "unit_of_work"
ENDING_KEY = "request_ending"
BYPASS_PREFIXES = ("/healthz", "/static/")


@dataclass(frozen=True)
class Capacity:
    """How many requests run at once, how many may wait, and for how long."""

    running: int
    queued: int
    wait_seconds: float
    retry_after_seconds: int = 1


class Gate:
    """Admission control: ``running`` permits, a queue of at most ``queued`` waiters."""

    def __init__(self, capacity: Capacity) -> None:
        self.capacity = capacity
        self._permits = asyncio.Semaphore(capacity.running)
        self._waiting = 0

    @property
    def waiting(self) -> int:
        return self._waiting

    async def enter(self) -> bool:
        """Take a permit; False when the queue is full or the wait ran out."""
        if not self._permits.locked():
            await self._permits.acquire()  # free: taken at once, no timer to set and cancel
            return True
        if self._waiting >= self.capacity.queued:
            return False
        self._waiting += 1
        try:
            async with asyncio.timeout(self.capacity.wait_seconds):
                await self._permits.acquire()
        except TimeoutError:
            return False
        finally:
            self._waiting -= 1
        return True

    def leave(self) -> None:
        self._permits.release()


class RequestLifecycle:
    """ASGI middleware: the gate, then a unit of work the handlers reach through ``get_db``."""

    def __init__(self, app: ASGIApp, capacity: Capacity) -> None:
        self.app = app
        self.gate = Gate(capacity)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(BYPASS_PREFIXES):
            await self.app(scope, receive, send)
            return
        if not await self.gate.enter():
            await _busy(scope, send, self.gate.capacity.retry_after_seconds)
            return
        try:
            await self._in_unit_of_work(scope, receive, send)
        finally:
            self.gate.leave()

    async def _in_unit_of_work(self, scope: Scope, receive: Receive, send: Send) -> None:
        uow = UnitOfWork(scope["app"].state.sessionmaker)
        scope.setdefault("state", {})[STATE_KEY] = uow
        ending = _Ending(uow, send, self.gate.capacity.retry_after_seconds, _wants_html(scope))
        scope["state"][ENDING_KEY] = ending
        try:
            await self.app(scope, receive, ending.send)
        except BaseException:
            await ending.finish(commit=False)
            raise
        finally:
            if uow.touched:
                await to_thread.run_sync(uow.close)


class _Ending:
    """Wraps ``send``: ends the transaction just before the response starts."""

    def __init__(self, uow: UnitOfWork, send: Send, retry_after: int, html: bool) -> None:
        self.uow, self._send, self.retry_after, self.html = uow, send, retry_after, html
        self.ended = False
        self.replaced = False
        self.instead: Message | None = None  # a failed early commit's answer

    def commits(self, status: int) -> bool:
        """Whether a response with this status keeps the request's writes."""
        return status < 400 or (status < 500 and self.uow.keep_when_refused)

    def end_here(self, status: int) -> None:
        """Commit or roll back now, in the calling thread, for a response of ``status`` that
        is complete as the handler returned it; a failed commit's answer replaces it."""
        if self.ended:
            return
        self.ended = True
        if not self.uow.touched:
            return
        try:
            self.uow.end(commit=self.commits(status))
        except Exception as error:  # noqa: BLE001 - every failed commit gets an answer
            self.instead = _failed_commit(error, self.retry_after)

    async def finish(self, *, commit: bool) -> Message | None:
        """Commit or roll back once; on a failed commit, the answer to send instead."""
        if self.ended:
            instead, self.instead = self.instead, None
            return instead
        self.ended = True
        if not self.uow.touched:
            return None
        try:
            await to_thread.run_sync(lambda: self.uow.end(commit=commit))
        except Exception as error:  # noqa: BLE001 - every failed commit gets an answer
            return _failed_commit(error, self.retry_after)
        return None

    async def send(self, message: Message) -> None:
        if self.replaced:
            return  # the handler's own answer was replaced by the failed commit's
        if message["type"] == "http.response.start":
            status = message["status"]
            instead = await self.finish(commit=self.commits(status))
            if instead is not None:
                self.replaced = True
                await _answer(self._send, *instead["args"], html=self.html)
                return
        await self._send(message)


def end_in_handler(state: Any, status: int) -> None:
    """End the request's transaction in the handler's worker thread, by the lifecycle's rule,
    for a response that is complete as returned (nothing is read from the database while it
    is sent). Outside a unit of work (a bypassed path), there is nothing to end."""
    ending: _Ending | None = getattr(state, ENDING_KEY, None)
    if ending is not None:
        ending.end_here(status)


def _failed_commit(error: Exception, retry_after: int) -> Message:
    if isinstance(error, StaleDataError):
        body = {"detail": "this record was changed by someone else; reload it",
                "code": "version_conflict"}  # fmt: skip
        return {"args": (409, body, {})}
    if isinstance(error, OperationalError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    ):
        log.warning("commit failed, database unavailable: %s", type(error).__name__)
        body = {"detail": "the database is not reachable right now; please try again shortly",
                "code": "database_unavailable"}  # fmt: skip
        return {"args": (503, body, {"retry-after": str(retry_after)})}
    log.exception("commit failed", exc_info=error)
    return {"args": (500, {"detail": "the change could not be saved", "code": "commit_failed"}, {})}


async def _busy(scope: Scope, send: Send, retry_after: int) -> None:
    body = {"detail": "the server is busy; please try again in a moment", "code": "busy"}
    await _answer(send, 503, body, {"retry-after": str(retry_after)}, html=_wants_html(scope))


def _wants_html(scope: Scope) -> bool:
    """People get a page, programs JSON (the rule of web/problems.py, without a Request)."""
    if scope["path"].startswith(("/api/", "/fhir/")):
        return False
    headers = dict(scope.get("headers") or [])
    return b"text/html" in headers.get(b"accept", b"") or b"hx-request" in headers


async def _answer(
    send: Send, status: int, body: dict[str, str], headers: dict[str, str], *, html: bool
) -> None:
    if html:
        payload = _PAGE.format(title=_TITLES.get(status, "Error"), detail=escape(body["detail"]))
        content_type = b"text/html; charset=utf-8"
    else:
        payload = json.dumps(body)
        content_type = b"application/json"
    data = payload.encode()
    raw = [(b"content-type", content_type), (b"content-length", str(len(data)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


_TITLES = {409: "Changed by someone else", 503: "Please try again", 500: "Not saved"}
_PAGE = (
    "<!doctype html><html lang=en><head><meta charset=utf-8>"
    '<meta name=viewport content="width=device-width, initial-scale=1">'
    "<title>{title} · Strigil</title><link rel=stylesheet href=/static/css/strigil.css></head>"
    "<body><main class=container><h1>{title}</h1><p>{detail}.</p>"
    "<p>Reload this page in a moment; nothing from this request was saved. "
    '<a href="/">Back to the dashboard</a></p></main></body></html>'
)
