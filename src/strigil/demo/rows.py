"""Row-building helpers shared by the demo generator: explicit ids, batches, stamps."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any


@dataclass
class Ids:
    """Next explicit id per table, read once from the database."""

    next: dict[str, int] = field(default_factory=dict)

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


@dataclass
class Batch:
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.rows.setdefault(table, []).append(row)


@dataclass(frozen=True, slots=True)
class Staff:
    clinic_id: int
    therapists: tuple[int, ...]
    assistant: int


def new_uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def meta(created: datetime, versioned: bool = True, in_error: bool = True) -> dict[str, Any]:
    row: dict[str, Any] = {"created_at": created}
    if versioned:
        row |= {"version": 1, "updated_at": created}
    if in_error:
        row |= {
            "entered_in_error_at": None,
            "entered_in_error_reason": None,
            "entered_in_error_by_id": None,
        }
    return row


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)
