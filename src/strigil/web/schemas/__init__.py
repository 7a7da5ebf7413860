"""Pydantic request and response models of the JSON API, one module per domain."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Self

from fastapi import Query
from pydantic import BaseModel, ConfigDict

MAX_OFFSET = 1_000_000
Offset = Annotated[
    int,
    Query(ge=0, le=MAX_OFFSET, description=f"Rows to skip, 0 to {MAX_OFFSET:,}"),
]


class Schema(BaseModel):
    """Base of every API model: unknown fields are refused so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


class RecordRead(Schema):
    """A stored row as the API shows it: ``id`` is its public UUID, never the database key."""

    id: uuid.UUID

    @classmethod
    def of(cls, row: Any, **given: Any) -> Self:
        """Copy the fields by name from ``row``; ``given`` supplies those that are not plain
        attributes (e.g. a parent's public id)."""
        taken = given.keys() | {"id"}
        fields = {k: getattr(row, k) for k in cls.model_fields if k not in taken}
        return cls(id=row.external_id, **fields, **given)
