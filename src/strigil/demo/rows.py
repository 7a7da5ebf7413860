"""Row-building helpers shared by the demo generator: explicit ids, batches, stamps."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any


@dataclass
class Ids:
    """Next explicit id per table, within an optional block per table (the first id past it)."""

    next: dict[str, int] = field(default_factory=dict)
    end: dict[str, int] = field(default_factory=dict)

    def take(self, table: str) -> int:
        value = self.next[table]
        if value >= self.end.get(table, value + 1):
            raise OverflowError(f"{table}: the id block of this patient is used up")
        self.next[table] = value + 1
        return value

    @classmethod
    def block(cls, base: dict[str, int], per_patient: dict[str, int], index: int) -> Ids:
        """Patient ``index``'s own id range in every table: ``per_patient[t]`` ids from
        ``base[t] + index * per_patient[t]``. Fixed ranges let any process build any patient
        and give the same rows whatever the number of processes; the unused rest of a range
        is a gap in the ids, as a rolled-back insert leaves one."""
        start = {t: base[t] + index * n for t, n in per_patient.items()}
        return cls(dict(start), {t: start[t] + n for t, n in per_patient.items()})


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


@dataclass(frozen=True, slots=True)
class Signer:
    """A user as a signed note records them (``services.notes.seal_unsealed`` writes the same)."""

    name: str
    role: str
    credentials: str | None


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
