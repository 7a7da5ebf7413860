"""Adverse events: recorded, followed up, and resolved; open ones flag the dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from strigil.errors import Conflict, InvalidInput
from strigil.services import audit
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import check_version, get_owned
from strigil.store import adverse_events as store
from strigil.store import patients as patient_store
from strigil.store.adverse_events import CATEGORIES, AdverseEvent
from strigil.store.base import utcnow
from strigil.store.patients import Patient
from strigil.store.visits import Visit

SEVERITIES = ("mild", "moderate", "severe")


@dataclass(frozen=True, slots=True)
class EventInput:
    category: str
    severity: str
    description: str
    onset_at: datetime | None = None
    referral_made: bool = False
    visit_id: object | None = None


def report(*, session: Session, actor: Actor, patient_id: object, data: EventInput) -> AdverseEvent:
    """Record an adverse event for a patient (optionally tied to a visit).

    Raises:
        InvalidInput: unknown category or severity, empty description, onset in the future.
    """
    require(actor, Permission.RECORD_READINGS)
    patient = get_owned(session, Patient, patient_id, actor, field="patient_id")
    _validate(data)
    visit = (
        get_owned(session, Visit, data.visit_id, actor, field="visit_id") if data.visit_id else None
    )
    row = AdverseEvent(
        clinic_id=actor.clinic_id,
        patient_id=patient.id,
        visit_id=visit.id if visit else None,
        treated_area_id=None,
        category=data.category,
        severity=data.severity,
        description=data.description.strip(),
        onset_at=data.onset_at or utcnow(),
        referral_made=data.referral_made,
        recorded_by_id=actor.user_id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="create",
        entity_type="adverse_event",
        entity_id=row.external_id,
        patient_id=patient.external_id,
    )
    return row


def _validate(data: EventInput) -> None:
    if data.category not in CATEGORIES:
        raise InvalidInput(
            f"category must be one of {', '.join(CATEGORIES)}",
            field="category",
            code="unknown_category",
        )
    if data.severity not in SEVERITIES:
        raise InvalidInput(
            f"severity must be one of {', '.join(SEVERITIES)}",
            field="severity",
            code="unknown_severity",
        )
    if not data.description.strip():
        raise InvalidInput("describe what happened", field="description", code="required")
    if data.onset_at and data.onset_at > utcnow():
        raise InvalidInput("onset cannot be in the future", field="onset_at", code="in_future")


def follow_up(
    *,
    session: Session,
    actor: Actor,
    event_id: object,
    note: str,
    resolved: bool,
    version: int | None,
    referral_made: bool | None = None,
) -> AdverseEvent:
    """Add a dated follow-up note, and resolve the event when it has settled."""
    require(actor, Permission.RECORD_READINGS)
    row = get_owned(session, AdverseEvent, event_id, actor, field="event_id")
    check_version(row, version, ("status", "follow_up"))
    if row.status == "resolved":
        raise Conflict("the event is already resolved", code="already_resolved")
    if not note.strip():
        raise InvalidInput("write the follow-up note", field="note", code="required")
    stamp = utcnow()
    row.follow_up = (row.follow_up + "\n" if row.follow_up else "") + (
        f"{stamp:%Y-%m-%d %H:%M} UTC: {note.strip()}"
    )
    if referral_made is not None:
        row.referral_made = referral_made
    if resolved:
        row.status, row.resolved_at = "resolved", stamp
    session.flush()
    patient = patient_store.find_patient(session, actor.clinic_id, row.patient_id)
    audit.record(
        session=session,
        actor=actor,
        action="update",
        entity_type="adverse_event",
        entity_id=row.external_id,
        patient_id=patient.external_id if patient else None,
        detail={"resolved": resolved},
    )
    return row


def open_events(*, session: Session, actor: Actor, limit: int = 50) -> Sequence[AdverseEvent]:
    """The clinic's unresolved adverse events, oldest first (the listing is audited)."""
    require(actor, Permission.READ_CLINICAL)
    rows = store.list_open(session, actor.clinic_id, limit=limit)
    audit.record(
        session=session,
        actor=actor,
        action="list",
        entity_type="adverse_event",
        detail={"count": len(rows)},
    )
    return rows


def for_patient(*, session: Session, actor: Actor, patient: Patient) -> Sequence[AdverseEvent]:
    """The patient's adverse events, newest first."""
    require(actor, Permission.READ_CLINICAL)
    return store.list_for_patient(session, actor.clinic_id, patient.id)
