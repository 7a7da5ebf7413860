"""Patients in the JSON API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request

from strigil.services import merges, patients
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession, keep_on_refusal
from strigil.web.schemas import Offset, Schema
from strigil.web.schemas.patients import (
    MergeCreate,
    MergeRead,
    PatientCreate,
    PatientPage,
    PatientRead,
    PatientRegister,
    PatientUpdate,
)

router = handler_thread.router(prefix="/patients", tags=["patients"])


class EnteredInError(Schema):
    reason: str


@router.get("", response_model=PatientPage)
def list_patients(
    db: DbSession,
    actor: CurrentActor,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    offset: Offset = 0,
) -> PatientPage:
    """Search live patients: each term a name part, a birth date (1980-05-17, 17.5.1980 or
    17/5/1980, day first), phone digits (any punctuation) or part of a record number."""
    rows = patients.search(session=db, actor=actor, text=q, limit=limit, offset=offset)
    return PatientPage(items=[PatientRead.of(r) for r in rows], limit=limit, offset=offset)


@router.post("", response_model=PatientRead, status_code=201)
def create_patient(
    request: Request, body: PatientRegister, db: DbSession, actor: CurrentActor
) -> PatientRead:
    """Register a patient. A chart with the same name and birth date, phone or email answers
    409 ``possible_duplicate`` with ``candidates``, unless ``confirm_new_person`` is true."""
    try:
        row = patients.register(
            session=db,
            actor=actor,
            data=body.to_input(),
            confirm_new_person=body.confirm_new_person,
        )
    except patients.PossibleDuplicate:
        keep_on_refusal(request)  # the candidates shown are a read: their audit row stays
        raise
    return PatientRead.of(row)


@router.get("/{patient_id}", response_model=PatientRead)
def get_patient(patient_id: str, db: DbSession, actor: CurrentActor) -> PatientRead:
    """One patient; a chart merged into another says which in ``merged_into``."""
    row = patients.get_chart(session=db, actor=actor, patient_id=patient_id)
    merged = merges.merged_view(session=db, actor=actor, patient=row)
    return PatientRead.of(row, merged.target.external_id if merged else None)


@router.post("/{patient_id}/merges", response_model=MergeRead, status_code=201)
def merge_into(patient_id: str, body: MergeCreate, db: DbSession, actor: CurrentActor) -> MergeRead:
    """Merge the duplicate chart ``source_patient_id`` into this chart (reversible)."""
    row = merges.merge(
        session=db,
        actor=actor,
        source_id=body.source_patient_id,
        target_id=patient_id,
        reason=body.reason,
    )
    return MergeRead(**_fields(merges.summary(session=db, actor=actor, row=row)))


@router.put("/{patient_id}", response_model=PatientRead)
def update_patient(
    patient_id: str, body: PatientUpdate, db: DbSession, actor: CurrentActor
) -> PatientRead:
    """Edit a patient; send the version you read (409 with current values if stale)."""
    data = PatientCreate(**body.model_dump(exclude={"version"})).to_input()
    row = patients.update(
        session=db, actor=actor, patient_id=patient_id, data=data, version=body.version
    )
    return PatientRead.of(row)


@router.post("/{patient_id}/entered-in-error", status_code=204)
def mark_in_error(
    patient_id: str, body: EnteredInError, db: DbSession, actor: CurrentActor
) -> None:
    """Mark a patient registered in error; nothing is deleted."""
    patients.mark_in_error(session=db, actor=actor, patient_id=patient_id, reason=body.reason)


def _fields(summary: merges.MergeSummary) -> dict[str, object]:
    return {name: getattr(summary, name) for name in MergeRead.model_fields}


merge_router = handler_thread.router(prefix="/patient-merges", tags=["patients"])


@merge_router.post("/{merge_id}/entered-in-error", response_model=MergeRead)
def undo_merge(
    merge_id: str, body: EnteredInError, db: DbSession, actor: CurrentActor
) -> MergeRead:
    """Undo a merge: the duplicate chart and the rows the merge moved come back."""
    row = merges.unmerge(session=db, actor=actor, merge_id=merge_id, reason=body.reason)
    return MergeRead(**_fields(merges.summary(session=db, actor=actor, row=row)))
