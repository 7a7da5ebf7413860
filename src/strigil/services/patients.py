"""Patients: register, edit, find, and mark entered-in-error."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from strigil.errors import InvalidInput, NotFound
from strigil.services import audit
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import check_version, get_owned, mark_entered_in_error
from strigil.store import patients as store
from strigil.store.base import utcnow
from strigil.store.patients import Patient as Patient

SEXES = ("female", "male", "other", "unknown")
EDITABLE = ("given_name", "family_name", "birth_date", "sex", "phone", "email", "notes")


@dataclass(frozen=True, slots=True)
class PatientInput:
    given_name: str
    family_name: str
    birth_date: date
    sex: str
    phone: str | None = None
    email: str | None = None
    notes: str | None = None
    record_number: str | None = None


def _validate(data: PatientInput) -> None:
    for name in ("given_name", "family_name"):
        value = getattr(data, name)
        if not value or not value.strip():
            raise InvalidInput(f"{name.replace('_', ' ')} is required", field=name, code="required")
        if len(value) > 100:
            raise InvalidInput(
                f"{name} must be at most 100 characters", field=name, code="too_long"
            )
    if data.birth_date > utcnow().date():
        raise InvalidInput(
            "birth date cannot be in the future", field="birth_date", code="birth_date_in_future"
        )
    if data.birth_date.year < 1900:
        raise InvalidInput("birth date must be after 1900", field="birth_date", code="out_of_range")
    if data.sex not in SEXES:
        raise InvalidInput(f"sex must be one of {', '.join(SEXES)}", field="sex", code="sex")
    if data.email and "@" not in data.email:
        raise InvalidInput("email must look like name@example.org", field="email", code="email")


def register(*, session: Session, actor: Actor, data: PatientInput) -> Patient:
    """Register a patient in the actor's clinic.

    Raises:
        NotPermitted: the role may not add patients.  InvalidInput: a field breaks a rule.
    """
    require(actor, Permission.WRITE_PATIENT)
    _validate(data)
    patient = Patient(
        clinic_id=actor.clinic_id,
        record_number=data.record_number or _new_record_number(),
        created_by_id=actor.user_id,
        **{name: _clean(getattr(data, name)) for name in EDITABLE},
    )
    session.add(patient)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="create",
        entity_type="patient",
        entity_id=patient.external_id,
        patient_id=patient.external_id,
    )
    return patient


def _clean(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _new_record_number() -> str:
    """A random clinic record number: counting rows would hand two concurrent sign-ups the
    same number; 40 random bits make a clash vanishingly rare and the unique key catches it."""
    return f"P-{secrets.token_hex(5).upper()}"


def update(
    *, session: Session, actor: Actor, patient_id: object, data: PatientInput, version: int | None
) -> Patient:
    """Edit a patient; a stale ``version`` raises Conflict with the current values."""
    require(actor, Permission.WRITE_PATIENT)
    patient = get_owned(session, Patient, patient_id, actor, field="patient_id")
    check_version(patient, version, EDITABLE)
    _validate(data)
    for name in EDITABLE:
        setattr(patient, name, _clean(getattr(data, name)))
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="update",
        entity_type="patient",
        entity_id=patient.external_id,
        patient_id=patient.external_id,
    )
    return patient


def get(*, session: Session, actor: Actor, patient_id: object) -> Patient:
    """A patient of the actor's clinic, or NotFound."""
    require(actor, Permission.READ_CLINICAL)
    patient = get_owned(session, Patient, patient_id, actor, field="patient_id")
    audit.record(
        session=session,
        actor=actor,
        action="read",
        entity_type="patient",
        entity_id=patient.external_id,
        patient_id=patient.external_id,
    )
    return patient


def public_id(*, session: Session, actor: Actor, row_id: int) -> uuid.UUID:
    """The public id of a patient another record of the clinic points to (for links)."""
    require(actor, Permission.READ_CLINICAL)
    patient = store.find_patient(session, actor.clinic_id, row_id)
    if patient is None:
        raise NotFound("no such patient", field="patient_id", code="patient_not_found")
    return patient.external_id


def search(
    *, session: Session, actor: Actor, text: str = "", limit: int = 25, offset: int = 0
) -> Sequence[Patient]:
    """Patients whose name or record number starts with or contains the words typed."""
    require(actor, Permission.READ_CLINICAL)
    words = text.split()[:4]
    rows = store.list_matching(
        session, actor.clinic_id, words, limit=min(limit, 100), offset=offset
    )
    audit.record(
        session=session,
        actor=actor,
        action="search",
        entity_type="patient",
        detail={"text": text, "count": len(rows)},
    )
    return rows


def mark_in_error(
    *, session: Session, actor: Actor, patient_id: uuid.UUID | str, reason: str
) -> None:
    """Mark a patient registered in error (never deleted)."""
    require(actor, Permission.WRITE_PATIENT)
    patient = get_owned(session, Patient, patient_id, actor, field="patient_id")
    mark_entered_in_error(
        session,
        patient,
        actor,
        reason=reason,
        entity_type="patient",
        patient_id=patient.external_id,
    )
