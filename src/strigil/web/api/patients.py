"""Patients in the JSON API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from strigil.services import patients
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.schemas import Offset, Schema
from strigil.web.schemas.patients import PatientCreate, PatientPage, PatientRead, PatientUpdate

router = APIRouter(prefix="/patients", tags=["patients"])


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
    """Search patients by name or record number."""
    rows = patients.search(session=db, actor=actor, text=q, limit=limit, offset=offset)
    return PatientPage(items=[PatientRead.of(r) for r in rows], limit=limit, offset=offset)


@router.post("", response_model=PatientRead, status_code=201)
def create_patient(body: PatientCreate, db: DbSession, actor: CurrentActor) -> PatientRead:
    """Register a patient."""
    return PatientRead.of(patients.register(session=db, actor=actor, data=body.to_input()))


@router.get("/{patient_id}", response_model=PatientRead)
def get_patient(patient_id: str, db: DbSession, actor: CurrentActor) -> PatientRead:
    """One patient."""
    return PatientRead.of(patients.get(session=db, actor=actor, patient_id=patient_id))


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
