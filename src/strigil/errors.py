"""The one error tree every layer raises and every adapter maps.

::

    StrigilError                 (400)
    ├── InvalidInput             (422)  input breaks a rule; names the field and the rule
    ├── NotFound                 (404)  no such record, or not visible to this clinic
    ├── NotPermitted             (403)  the user's role or clinic may not do this
    ├── NotAuthenticated         (401)  no valid login or token
    ├── Conflict                 (409)  the record changed, is locked, or the state forbids it
    ├── TooManyRequests          (429)  too many attempts; says when to retry
    └── Unavailable              (503)  the database or another dependency is down

Each error carries a stable machine ``code`` and, where it applies, the ``field`` at fault.
The web layer answers ``{"detail": ..., "code": ..., "field": ...}``; the CLI prints the same
detail and exits non-zero.
"""

from __future__ import annotations

from typing import Any, ClassVar


class StrigilError(Exception):
    """Base of every error Strigil raises on purpose."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "error"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.field = field
        self.extra = extra or {}

    def to_body(self) -> dict[str, Any]:
        """The JSON body the API answers with."""
        body: dict[str, Any] = {"detail": self.detail, "code": self.code}
        if self.field is not None:
            body["field"] = self.field
        body.update(self.extra)
        return body


class InvalidInput(StrigilError):
    """A value breaks a rule; ``field`` names it and ``detail`` names the rule."""

    status = 422
    default_code = "invalid_input"


class NotFound(StrigilError):
    """No such record, or it belongs to another clinic (the two are not told apart)."""

    status = 404
    default_code = "not_found"


class NotPermitted(StrigilError):
    """The user is known but their role or clinic may not do this."""

    status = 403
    default_code = "not_permitted"


class NotAuthenticated(StrigilError):
    """No valid login session or API token."""

    status = 401
    default_code = "not_authenticated"


class Conflict(StrigilError):
    """The record changed since it was read, is signed and locked, or its state forbids this."""

    status = 409
    default_code = "conflict"


class TooManyRequests(StrigilError):
    """Too many attempts; ``retry_after`` (seconds) becomes the ``Retry-After`` header."""

    status = 429
    default_code = "too_many_requests"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        field: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail, code=code, field=field)
        self.retry_after = retry_after


class Unavailable(StrigilError):
    """A dependency such as the database cannot be reached; retrying later may succeed."""

    status = 503
    default_code = "unavailable"
