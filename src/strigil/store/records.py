"""Lookups every clinical table shares: a row of one clinic by its public id."""

from __future__ import annotations

import uuid
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

T = TypeVar("T")


def find_owned(session: Session, model: type[T], key: uuid.UUID, clinic_id: int) -> T | None:
    """The row of ``model`` with public id ``key`` in ``clinic_id``, or None.

    Rows of other clinics are not told apart from missing ones, so ids of other clinics reveal
    nothing; entered-in-error rows are returned (callers decide whether to hide them).
    """
    row: T | None = session.scalar(
        select(model).where(  # type: ignore[arg-type]
            model.external_id == key,  # type: ignore[attr-defined]
            model.clinic_id == clinic_id,  # type: ignore[attr-defined]
        )
    )
    return row
