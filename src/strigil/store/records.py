"""Lookups every clinical table shares: a row of one clinic by its public id."""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

T = TypeVar("T")


def find_owned(session: Session, model: type[T], key: uuid.UUID, clinic_id: int) -> T | None:
    """The row of ``model`` with public id ``key`` in ``clinic_id``, or None.

    Rows of other clinics are not told apart from missing ones, so ids of other clinics reveal
    nothing; entered-in-error rows are returned (callers decide whether to hide them).
    """
    query = _owned(model)  # type: ignore[arg-type]  # classes are hashable
    row: T | None = session.scalar(query, {"key": key, "clinic_id": clinic_id})
    return row


@cache
def _owned(model: type[Any]) -> Select[Any]:
    """Built once per model: building a statement costs more than running it on an index."""
    return select(model).where(
        model.external_id == bindparam("key"), model.clinic_id == bindparam("clinic_id")
    )
