"""Append the audit trail: every read and write of patient data says who, what, when, where."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from strigil.services.actors import Actor, Permission, require
from strigil.store import audit as store
from strigil.store.audit import AuditEvent as AuditEvent


def record(
    *,
    session: Session,
    actor: Actor | None,
    action: str,
    entity_type: str,
    entity_id: object | None = None,
    patient_id: object | None = None,
    detail: dict[str, Any] | None = None,
    clinic_id: int | None = None,
) -> None:
    """Add one audit row in the caller's transaction (it commits or rolls back with the work)."""
    store.append(
        session,
        clinic_id=actor.clinic_id if actor else clinic_id,
        user_id=actor.user_id if actor else None,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id) if entity_id is not None else None,
        patient_id=str(patient_id) if patient_id is not None else None,
        route=actor.route if actor else None,
        client_ip=actor.client_ip if actor else None,
        detail=detail or {},
    )


def _now() -> datetime:
    return datetime.now(UTC)


def record_at_most_every(
    *,
    session: Session,
    actor: Actor,
    seconds: float,
    action: str,
    entity_type: str,
    entity_id: object,
    patient_id: object,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Record a repeated read once per ``seconds`` per user, entity and route (a page that
    polls every second would otherwise write one row a second and prove nothing more);
    returns whether a row was written."""
    since = _now() - timedelta(seconds=seconds)
    if store.seen_since(
        session,
        actor.clinic_id,
        user_id=actor.user_id,
        entity_type=entity_type,
        entity_id=str(entity_id),
        action=action,
        route=actor.route,
        since=since,
    ):
        return False
    record(
        session=session,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        patient_id=patient_id,
        detail=detail,
    )
    return True


def search(
    *,
    session: Session,
    actor: Actor,
    patient_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
    offset: int = 0,
) -> Sequence[AuditEvent]:
    """The clinic's audit rows, newest first; admins only."""
    require(actor, Permission.READ_AUDIT)
    return store.list_events(
        session,
        actor.clinic_id,
        patient_id=patient_id or None,
        action=action or None,
        since=since or None,
        limit=limit,
        offset=offset,
    )
