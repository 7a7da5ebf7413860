"""Patients: register, edit, find, and mark entered-in-error."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from strigil.core import identity
from strigil.errors import Conflict, InvalidInput, NotFound
from strigil.services import audit
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import check_version, get_owned, mark_entered_in_error, parse_id
from strigil.store import patients as store
from strigil.store import records as record_store
from strigil.store.base import utcnow
from strigil.store.patients import Patient as Patient

SEXES = ("female", "male", "other", "unknown")
EDITABLE = ("given_name", "family_name", "birth_date", "sex", "phone", "email", "notes")
MAX_CANDIDATES = 10


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


class PossibleDuplicate(Conflict):
    """The clinic may already hold this person's chart; ``extra["candidates"]`` lists them."""


def register(
    *, session: Session, actor: Actor, data: PatientInput, confirm_new_person: bool = False
) -> Patient:
    """Register a patient in the actor's clinic.

    One person should have one chart: unless the caller confirms that this is a new person,
    a chart with the same name and birth date, phone or email stops the registration.

    Raises:
        NotPermitted: the role may not add patients.  InvalidInput: a field breaks a rule.
        PossibleDuplicate: charts that may be this person (409, with the candidates).
    """
    require(actor, Permission.WRITE_PATIENT)
    _validate(data)
    if not confirm_new_person:
        _refuse_duplicates(session, actor, data)
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
        detail={"confirmed_new_person": True} if confirm_new_person else None,
    )
    return patient


def possible_duplicates(
    *, session: Session, actor: Actor, data: PatientInput
) -> list[dict[str, object]]:
    """Live charts of the clinic that may be the person ``data`` describes, with why."""
    require(actor, Permission.READ_CLINICAL)
    keys = store.match_keys({name: getattr(data, name) for name in EDITABLE})
    rows = store.find_duplicates(
        session, actor.clinic_id, keys, data.birth_date, limit=MAX_CANDIDATES
    )
    return [_candidate(row, keys, data.birth_date) for row in rows]


def _candidate(row: Patient, keys: dict[str, str | None], born: date) -> dict[str, object]:
    matched = []
    if row.name_key == keys["name_key"] and row.birth_date == born:
        matched.append("name_and_birth_date")
    if keys["phone_digits"] and row.phone_digits == keys["phone_digits"]:
        matched.append("phone")
    if keys["email_key"] and row.email_key == keys["email_key"]:
        matched.append("email")
    return {
        "id": str(row.external_id),
        "record_number": row.record_number,
        "given_name": row.given_name,
        "family_name": row.family_name,
        "birth_date": row.birth_date.isoformat(),
        "matched_on": matched,
    }


def _refuse_duplicates(session: Session, actor: Actor, data: PatientInput) -> None:
    candidates = possible_duplicates(session=session, actor=actor, data=data)
    if not candidates:
        return
    audit.record(
        session=session,
        actor=actor,
        action="duplicate_warning",
        entity_type="patient",
        detail={"candidates": [c["id"] for c in candidates]},
    )
    raise PossibleDuplicate(
        "this person may already have a chart in this clinic: open the existing chart, "
        "or confirm that this is a new person (confirm_new_person)",
        code="possible_duplicate",
        field="confirm_new_person",
        extra={"candidates": candidates},
    )


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
    _audit_read(session, actor, patient)
    return patient


def get_chart(*, session: Session, actor: Actor, patient_id: object) -> Patient:
    """A patient of the clinic for reading, including a chart merged into another one (its
    page says where the record went); charts entered in error otherwise stay hidden."""
    require(actor, Permission.READ_CLINICAL)
    key = parse_id(patient_id, field="patient_id")
    patient = record_store.find_owned(session, Patient, key, actor.clinic_id)
    if patient is None or (patient.is_entered_in_error and patient.merged_into_id is None):
        raise NotFound(f"no patient with id {key}", field="patient_id", code="patient_not_found")
    _audit_read(session, actor, patient)
    return patient


def _audit_read(session: Session, actor: Actor, patient: Patient) -> None:
    audit.record(
        session=session,
        actor=actor,
        action="read",
        entity_type="patient",
        entity_id=patient.external_id,
        patient_id=patient.external_id,
    )


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
    """Live patients matching every term typed (merged and in-error charts are left out).

    A term that is a date (``1980-05-17``, ``17.5.1980`` or ``17/5/1980``, day first) matches
    the birth date; digits with phone punctuation (at least three) match anywhere in the phone
    digits or the record number; any other word matches part of a name or record number.
    A whole record number, exactly as issued, finds that one chart from its unique index.
    """
    require(actor, Permission.READ_CLINICAL)
    words, born, digits = _terms(text)
    exact = _exact_record(session, actor, text) if offset == 0 else None
    rows = exact or store.list_matching(
        session,
        actor.clinic_id,
        words,
        born=born,
        digits=digits,
        limit=min(limit, 100),
        offset=offset,
    )
    audit.record(
        session=session,
        actor=actor,
        action="search",
        entity_type="patient",
        detail={"text": text, "count": len(rows)},
    )
    return rows


def _exact_record(session: Session, actor: Actor, text: str) -> list[Patient] | None:
    """A record number typed in full names one chart: found from the unique index."""
    if not text.strip() or len(text.split()) != 1:
        return None
    row = store.find_by_record_number(session, actor.clinic_id, text, ignore_case=False)
    return [row] if row is not None and not row.is_entered_in_error else None


def _terms(text: str) -> tuple[list[str], list[date], list[str]]:
    """Split search text into name words, birth dates and digit runs (at most 4 terms)."""
    whole = identity.search_digits(text.strip())
    if whole and identity.parse_birth_date(text) is None:
        return [], [], [whole]  # a phone number typed with spaces: one run of digits
    words: list[str] = []
    born: list[date] = []
    digits: list[str] = []
    for term in text.split()[:4]:
        day = identity.parse_birth_date(term)
        run = None if day else identity.search_digits(term)
        if day:
            born.append(day)
        elif run:
            digits.append(run)
        else:
            words.append(term)
    return words, born, digits


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
