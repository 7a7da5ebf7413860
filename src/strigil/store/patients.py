"""Patients: synthetic in every test and demo; identified publicly by UUID only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
    event,
    func,
    or_,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, Session, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from strigil.core import identity
from strigil.store.base import Base, EnteredInErrorMixin, IdMixin, TenantMixin, VersionedMixin


class Patient(IdMixin, TenantMixin, VersionedMixin, EnteredInErrorMixin, Base):
    """A person under the clinic's care."""

    __tablename__ = "patient"
    __table_args__ = (
        Index("ix_patient_clinic_family_name", "clinic_id", "family_name"),
        UniqueConstraint("clinic_id", "record_number", name="uq_patient_clinic_record_number"),
        Index("ix_patient_clinic_name_key_birth_date", "clinic_id", "name_key", "birth_date"),
        Index("ix_patient_clinic_birth_date", "clinic_id", "birth_date"),
        Index("ix_patient_clinic_phone_digits", "clinic_id", "phone_digits"),
        Index("ix_patient_clinic_email_key", "clinic_id", "email_key"),
        # the dashboard's latest registrations
        Index("ix_patient_clinic_created", "clinic_id", "created_at", "id"),
    )

    record_number: Mapped[str] = mapped_column(String(40))
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(40), default=None)
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    # Normalised copies for duplicate checks and search (kept current by match_keys below).
    name_key: Mapped[str] = mapped_column(String(210), default="")
    phone_digits: Mapped[str | None] = mapped_column(String(40), default=None)
    email_key: Mapped[str | None] = mapped_column(String(254), default=None)
    # A chart merged into another stays readable with a pointer to where its record went.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), default=None)

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


_KEYED_FIELDS = ("given_name", "family_name", "phone", "email")


def match_keys(row: Any) -> dict[str, str | None]:
    """The normalised match columns of a patient row (an ORM object or a dict of columns)."""
    values: dict[str, Any] = (
        row if isinstance(row, dict) else {n: getattr(row, n, None) for n in _KEYED_FIELDS}
    )
    return {
        "name_key": identity.name_key(
            values.get("given_name") or "", values.get("family_name") or ""
        ),
        "phone_digits": identity.phone_digits(values.get("phone")),
        "email_key": identity.email_key(values.get("email")),
    }


@event.listens_for(Patient, "before_insert")
@event.listens_for(Patient, "before_update")
def _keep_keys(_mapper: Mapper[Patient], _connection: Connection, target: Patient) -> None:
    """Every ORM write refreshes the match keys, so no caller can forget them."""
    for name, value in match_keys(target).items():
        setattr(target, name, value)


def find_patient(session: Session, clinic_id: int, patient_id: int) -> Patient | None:
    """The clinic's patient with this row id, if any (from the identity map when loaded)."""
    patient = session.get(Patient, patient_id)
    return patient if patient is not None and patient.clinic_id == clinic_id else None


def find_by_record_number(
    session: Session, clinic_id: int, number: str, *, ignore_case: bool = True
) -> Patient | None:
    """The clinic's patient with this record number (exactly as stored, from the unique
    index; then, unless ``ignore_case`` is False, ignoring case), if any."""
    exact = select(Patient).where(
        Patient.clinic_id == clinic_id, Patient.record_number == number.strip()
    )
    found = session.scalars(exact).first()
    if found is not None or not ignore_case:
        return found
    query = select(Patient).where(
        Patient.clinic_id == clinic_id,
        func.lower(Patient.record_number) == number.strip().lower(),
    )
    return session.scalars(query.limit(1)).first()


def find_duplicates(
    session: Session, clinic_id: int, keys: dict[str, str | None], birth_date: date, *, limit: int
) -> Sequence[Patient]:
    """The clinic's live charts with the same name and birth date, or phone, or email.

    The clinic is repeated inside each alternative so that each one is answered from its own
    index (an OR of index searches) rather than by reading every chart of the clinic."""
    same: list[ColumnElement[bool]] = [
        and_(
            Patient.clinic_id == clinic_id,
            Patient.name_key == keys["name_key"],
            Patient.birth_date == birth_date,
        )
    ]
    if keys["phone_digits"]:
        same.append(
            and_(Patient.clinic_id == clinic_id, Patient.phone_digits == keys["phone_digits"])
        )
    if keys["email_key"]:
        same.append(and_(Patient.clinic_id == clinic_id, Patient.email_key == keys["email_key"]))
    query = select(Patient).where(or_(*same), Patient.entered_in_error_at.is_(None))
    return session.scalars(query.order_by(Patient.id).limit(limit)).all()


def list_matching(
    session: Session,
    clinic_id: int,
    words: Sequence[str],
    *,
    born: Sequence[date] = (),
    digits: Sequence[str] = (),
    limit: int,
    offset: int = 0,
) -> Sequence[Patient]:
    """The clinic's live patients (not entered in error, not merged) matching every term:
    each word in the name (case and accents ignored) or record number; each birth date exactly;
    each digit run in the phone digits or the record number. By family then given name."""
    query = select(Patient).where(
        Patient.clinic_id == clinic_id, Patient.entered_in_error_at.is_(None)
    )
    for word in words:
        query = query.where(
            or_(
                Patient.name_key.like(f"%{identity.fold(word)}%"),
                func.lower(Patient.record_number).like(f"%{word.lower()}%"),
            )
        )
    for day in born:
        query = query.where(Patient.birth_date == day)
    for run in digits:
        query = query.where(
            or_(
                Patient.phone_digits.like(f"%{run}%"),
                func.lower(Patient.record_number).like(f"%{run}%"),
            )
        )
    # With a birth date or digits the matches are few: sorting them by an expression keeps a
    # planner without statistics (SQLite) from walking the whole family-name index row by row
    # instead of using the date's index or reading the table once.
    family = func.coalesce(Patient.family_name, "") if born or digits else Patient.family_name
    query = query.order_by(family, Patient.given_name, Patient.id)
    return session.scalars(query.limit(limit).offset(offset)).all()
