"""Merge one person's duplicate chart into their other chart, and undo it.

Why: a chart made twice splits a person's history, so screening, consent and outcomes read
from one chart miss what the other holds. A merge moves every row of the duplicate (episodes,
visits, screenings, clearances, consents, measurements, adverse events) to the surviving
chart and marks the duplicate entered-in-error with a pointer to it. Signed notes move as
they are: their text, signer and digest do not change. The merge records the rows it moved,
so undoing it (marking the merge entered-in-error) moves exactly those rows back, with any
row added since to an episode or visit that goes back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from strigil.errors import Conflict, InvalidInput, NotFound
from strigil.services import audit
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import get_owned, parse_id
from strigil.store import merges as store
from strigil.store import patients as patient_store
from strigil.store import records as record_store
from strigil.store.base import utcnow
from strigil.store.merges import PatientMerge as PatientMerge
from strigil.store.patients import Patient


@dataclass(frozen=True, slots=True)
class MergeView:
    """A merge with the other chart of it: on a merged chart's page, the chart it went into;
    on the surviving chart's page, the chart that came in."""

    merge: PatientMerge
    target: Patient


@dataclass(frozen=True, slots=True)
class MergeSummary:
    """A merge as the API shows it: public ids and how many rows of each table moved."""

    id: uuid.UUID
    source_patient_id: uuid.UUID
    target_patient_id: uuid.UUID
    reason: str
    moved: dict[str, int]
    created_at: datetime
    undone_at: datetime | None


def summary(*, session: Session, actor: Actor, row: PatientMerge) -> MergeSummary:
    """The public face of a merge of the actor's clinic."""
    require(actor, Permission.READ_CLINICAL)
    charts = store.patients_by_id(
        session, actor.clinic_id, {row.source_patient_id, row.target_patient_id}
    )
    return MergeSummary(
        id=row.external_id,
        source_patient_id=charts[row.source_patient_id].external_id,
        target_patient_id=charts[row.target_patient_id].external_id,
        reason=row.reason,
        moved=_counts(row.moved_rows),
        created_at=row.created_at,
        undone_at=row.entered_in_error_at,
    )


def merge(
    *, session: Session, actor: Actor, source_id: object, target_id: object, reason: str
) -> PatientMerge:
    """Fold chart ``source_id`` into chart ``target_id`` (both of the actor's clinic).

    Raises:
        NotPermitted: the role may not merge charts.  NotFound: either chart is missing, in
        error, merged already, or of another clinic.  InvalidInput: no reason, or a chart
        merged into itself.
    """
    require(actor, Permission.MERGE_CHARTS)
    if not reason.strip():
        raise InvalidInput("say why these charts are one person", field="reason", code="required")
    source = get_owned(session, Patient, source_id, actor, field="source_patient_id")
    target = get_owned(session, Patient, target_id, actor, field="target_patient_id")
    if source.id == target.id:
        raise InvalidInput(
            "a chart cannot be merged into itself", field="source_patient_id", code="same_chart"
        )
    store.lock_charts(session, actor.clinic_id, {source.id, target.id})
    row = PatientMerge(
        clinic_id=actor.clinic_id,
        source_patient_id=source.id,
        target_patient_id=target.id,
        merged_by_id=actor.user_id,
        reason=reason.strip(),
        moved_rows={},
    )
    session.add(row)
    session.flush()  # the merge row first: on PostgreSQL it is what lets signed visits move
    moved = store.move_all(session, actor.clinic_id, source.id, target.id)
    row.moved_rows = moved
    _fold(source, target, actor, reason.strip())
    session.flush()
    _audit_both(session, actor, "merge", row, source, target, {"moved": _counts(moved)})
    return row


def merge_by_record_number(
    *, session: Session, actor: Actor, target_id: object, record_number: str, reason: str
) -> PatientMerge:
    """Merge the chart with ``record_number`` (as a person reads it off the duplicate) into
    chart ``target_id``; an unknown number is a 422 naming the field."""
    require(actor, Permission.MERGE_CHARTS)
    source = patient_store.find_by_record_number(session, actor.clinic_id, record_number)
    if source is None or source.is_entered_in_error:
        raise InvalidInput(
            f"no live chart with record number {record_number.strip() or '(empty)'}",
            field="duplicate_record_number",
            code="record_number_not_found",
        )
    return merge(
        session=session,
        actor=actor,
        source_id=source.external_id,
        target_id=target_id,
        reason=reason,
    )


def _fold(source: Patient, target: Patient, actor: Actor, reason: str) -> None:
    """Hide the duplicate from every list and write path; its page points to the target."""
    source.merged_into_id = target.id
    source.entered_in_error_at = utcnow()
    source.entered_in_error_by_id = actor.user_id
    source.entered_in_error_reason = f"merged into chart {target.record_number}: {reason}"


def unmerge(*, session: Session, actor: Actor, merge_id: object, reason: str) -> PatientMerge:
    """Undo a merge: mark it entered-in-error, restore the duplicate and move its rows back.

    Raises:
        NotPermitted, NotFound, InvalidInput (no reason), Conflict (already undone, or the
        surviving chart was itself merged or marked in error since).
    """
    require(actor, Permission.MERGE_CHARTS)
    if not reason.strip():
        raise InvalidInput("say why the merge was wrong", field="reason", code="required")
    row = _owned_merge(session, actor, merge_id)
    if row.entered_in_error_at is not None:
        raise Conflict("this merge was already undone", code="already_in_error")
    patients = store.patients_by_id(
        session, actor.clinic_id, {row.source_patient_id, row.target_patient_id}
    )
    source, target = patients[row.source_patient_id], patients[row.target_patient_id]
    if target.is_entered_in_error:
        raise Conflict(
            "the chart this one went into was itself merged or marked in error since; "
            "undo that first",
            code="target_not_live",
            field="merge_id",
        )
    store.lock_charts(session, actor.clinic_id, {source.id, target.id})
    back, followed = store.move_back(session, actor.clinic_id, row)
    row.entered_in_error_at = utcnow()
    row.entered_in_error_by_id = actor.user_id
    row.entered_in_error_reason = reason.strip()
    source.merged_into_id = None
    source.entered_in_error_at = None
    source.entered_in_error_by_id = None
    source.entered_in_error_reason = None
    session.flush()
    detail = {"moved_back": _counts(back), "followed": followed, "reason": reason.strip()}
    _audit_both(session, actor, "unmerge", row, source, target, detail)
    return row


def _owned_merge(session: Session, actor: Actor, merge_id: object) -> PatientMerge:
    key = parse_id(merge_id, field="merge_id")
    row = record_store.find_owned(session, PatientMerge, key, actor.clinic_id)
    if row is None:
        raise NotFound(f"no merge with id {key}", field="merge_id", code="merge_not_found")
    return row


def merged_view(*, session: Session, actor: Actor, patient: Patient) -> MergeView | None:
    """For a chart merged into another: the merge and the chart it went into."""
    require(actor, Permission.READ_CLINICAL)
    if patient.merged_into_id is None:
        return None
    row = store.find_merge(session, actor.clinic_id, patient.id)
    target = store.patients_by_id(session, actor.clinic_id, {patient.merged_into_id})
    if row is None or patient.merged_into_id not in target:
        return None
    return MergeView(merge=row, target=target[patient.merged_into_id])


def merged_here(*, session: Session, actor: Actor, patient: Patient) -> list[MergeView]:
    """The charts merged into ``patient`` (newest first), each with its merge, for links."""
    require(actor, Permission.READ_CLINICAL)
    rows = store.merged_into(session, actor.clinic_id, patient.id)
    sources = store.patients_by_id(session, actor.clinic_id, {r.source_patient_id for r in rows})
    return [MergeView(merge=r, target=sources[r.source_patient_id]) for r in rows]


def _counts(moved: dict[str, list[int]]) -> dict[str, int]:
    return {table: len(ids) for table, ids in moved.items()}


def _audit_both(
    session: Session,
    actor: Actor,
    action: str,
    row: PatientMerge,
    source: Patient,
    target: Patient,
    detail: dict[str, object],
) -> None:
    """One audit row under each chart, so either chart's trail shows the merge."""
    common: dict[str, object] = {
        "source_patient_id": str(source.external_id),
        "target_patient_id": str(target.external_id),
        **detail,
    }
    for patient in (source, target):
        audit.record(
            session=session,
            actor=actor,
            action=action,
            entity_type="patient_merge",
            entity_id=row.external_id,
            patient_id=patient.external_id,
            detail=common,
        )
