"""Refuse NUL characters in every path, query, form and JSON value before a handler runs.

Why: PostgreSQL cannot store a NUL in text (the driver raises mid-transaction, a 500), while
SQLite stores it silently, so the same request behaved differently on the two databases and a
stored NUL truncates the value in C-based tools downstream. No field of Strigil has a use for
one, so the request is refused with a 422 naming the field, before anything is read or written.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from strigil.errors import InvalidInput

NUL = "\x00"
_JSON_NUL = b"\\u0000"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _refuse(field: str) -> InvalidInput:
    return InvalidInput(
        f"{field}: text may not contain a NUL character (\\u0000)",
        field=field,
        code="nul_character",
    )


def _check(value: str, field: str) -> None:
    if NUL in value:
        raise _refuse(field)


def _walk(value: Any, field: str) -> None:
    """Every string and key of a parsed JSON document, named by its dotted path."""
    if isinstance(value, str):
        _check(value, field or "body")
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{field}.{key}" if field else str(key)
            _check(str(key), name)
            _walk(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{field}.{index}" if field else str(index))


async def refuse_nul(request: Request) -> None:
    """A router dependency: 422 ``nul_character`` for a NUL anywhere the app reads text."""
    for name, value in request.path_params.items():
        if isinstance(value, str):
            _check(value, name)
    for name, value in request.query_params.multi_items():
        _check(name, name.replace(NUL, "?"))
        _check(value, name)
    if request.method not in _UNSAFE:
        return
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(_FORMS):
        for name, value in (await request.form()).multi_items():
            _check(name, name.replace(NUL, "?"))
            _check((value.filename or "") if isinstance(value, UploadFile) else value, name)
        return
    body = await request.body()
    if _JSON_NUL in body:  # only then is the full parse worth doing
        try:
            document = json.loads(body)
        except ValueError:
            return  # not JSON: the route's own parsing answers
        _walk(document, "")
