"""Shared record rules: public ids, clinic ownership, optimistic locking, entered-in-error,
and the lock of a signed note (every service that writes into a visit checks it here, so none
of them needs the visit services for it).

The visit record types and the adverse-event categories are re-exported here too, so that
pages and the API can name them without importing the store.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from strigil.errors import Conflict, InvalidInput, NotFound
from strigil.services import audit
from strigil.services.actors import Actor
from strigil.store import records
from strigil.store.adverse_events import CATEGORIES
from strigil.store.base import utcnow
from strigil.store.visits import TreatedArea as TreatedArea
from strigil.store.visits import Visit as Visit

ADVERSE_EVENT_CATEGORIES = CATEGORIES

T = TypeVar("T")


def parse_id(value: object, *, field: str) -> uuid.UUID:
    """A public id as a UUID, or a 422 naming the field."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidInput(f"{field} must be a UUID", field=field, code="malformed_id") from None


def get_owned(
    session: Session, model: type[T], public_id: object, actor: Actor, *, field: str
) -> T:
    """Load a row of the actor's clinic by public id.

    Raises:
        InvalidInput: the id is not a UUID.
        NotFound: no such row, entered in error, or it belongs to another clinic (not told apart,
            so ids of other clinics reveal nothing).
    """
    key = parse_id(public_id, field=field)
    row = records.find_owned(session, model, key, actor.clinic_id)
    if row is None or getattr(row, "entered_in_error_at", None) is not None:
        noun = field.removesuffix("_id").replace("_", " ")
        raise NotFound(
            f"no {noun} with id {key}", field=field, code=f"{field.removesuffix('_id')}_not_found"
        )
    return row


def check_version(row: Any, expected: int | None, fields: tuple[str, ...]) -> None:
    """Refuse a save based on an old copy, and hand back the current values.

    Raises:
        Conflict: someone saved the record since ``expected`` was read.
    """
    if expected is None or row.version == expected:
        return
    current = {name: _plain(getattr(row, name)) for name in fields}
    raise Conflict(
        "this record was changed by someone else since you opened it; "
        "review the current values and save again",
        code="version_conflict",
        extra={"current": current, "current_version": row.version},
    )


def editable(visit: Visit) -> None:
    """Refuse changes to a signed visit (409 ``note_signed``)."""
    if visit.status == "signed":
        raise Conflict(
            "the note is signed and locked; add an addendum instead",
            code="note_signed",
            field="visit_id",
        )


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def mark_entered_in_error(
    session: Session,
    row: Any,
    actor: Actor,
    *,
    reason: str,
    entity_type: str,
    patient_id: object | None = None,
) -> None:
    """Hide a clinical row from every view without deleting it."""
    if not reason.strip():
        raise InvalidInput("say why the record is in error", field="reason", code="required")
    if row.entered_in_error_at is not None:
        raise Conflict("already marked entered-in-error", code="already_in_error")
    row.entered_in_error_at = utcnow()
    row.entered_in_error_by_id = actor.user_id
    row.entered_in_error_reason = reason.strip()
    audit.record(
        session=session,
        actor=actor,
        action="entered_in_error",
        entity_type=entity_type,
        entity_id=row.external_id,
        patient_id=patient_id,
        detail={"reason": reason},
    )
