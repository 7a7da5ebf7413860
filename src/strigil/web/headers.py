"""Security headers, a request id and a timing log line on every answer (pure ASGI).

Why pure ASGI: Starlette's ``BaseHTTPMiddleware`` runs the rest of the app in a separate
task and re-streams its answer, which costs more than many of Strigil's requests do.
"""

from __future__ import annotations

import logging
import time
import uuid

from strigil.web.lifecycle import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("strigil.web")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
_SECURITY = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
# Records must not outlive the session in a shared browser or a proxy: a clinic computer's
# back button after sign-out, or a cache between clinic and server, would show them again.
_NO_STORE = (b"cache-control", b"no-store")


class ResponseHeaders:
    """Adds the security headers and ``Cache-Control: no-store`` (unless the handler set its
    own), X-Request-ID and Vary."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_headers = dict(scope["headers"])
        request_id = request_headers.get(b"x-request-id", b"").decode("latin-1")[:64]
        request_id = request_id or uuid.uuid4().hex[:16]
        vary = b"hx-request" in request_headers or scope["path"].startswith("/patients")
        private = not scope["path"].startswith("/static/")
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in _SECURITY if k not in present]
                if private and _NO_STORE[0] not in present:
                    headers.append(_NO_STORE)
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                if vary:
                    headers.append((b"vary", b"HX-Request"))
                message["headers"] = headers
                _log(scope, message["status"], request_id, started)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _log(scope: Scope, status: int, request_id: str, started: float) -> None:
    if status >= 500:
        log.error("request %s %s -> %s", scope["method"], scope["path"], status)
    if log.isEnabledFor(logging.DEBUG):
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.debug(
            "request_id=%s path=%s status=%s ms=%.1f", request_id, scope["path"], status, elapsed_ms
        )
