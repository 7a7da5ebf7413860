"""Patient models of the API."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field

from strigil.services.patients import Patient, PatientInput
from strigil.web.schemas import Schema


class PatientCreate(Schema):
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    birth_date: date
    sex: str = Field(description="female, male, other or unknown")
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    notes: str | None = None

    def to_input(self) -> PatientInput:
        return PatientInput(**self.model_dump(exclude={"confirm_new_person", "version"}))


class PatientRegister(PatientCreate):
    confirm_new_person: bool = Field(
        default=False,
        description=(
            "true: register even though charts with the same name and birth date, phone or "
            "email exist (without it such a request answers 409 with the candidates)"
        ),
    )


class PatientUpdate(PatientCreate):
    version: int = Field(description="The version you read; a stale one answers 409")


class PatientRead(Schema):
    id: uuid.UUID
    record_number: str
    given_name: str
    family_name: str
    birth_date: date
    sex: str
    phone: str | None
    email: str | None
    notes: str | None
    version: int
    created_at: datetime
    merged_into: uuid.UUID | None = Field(
        default=None, description="Set when this chart was merged into another chart"
    )

    @classmethod
    def of(cls, row: Patient, merged_into: uuid.UUID | None = None) -> PatientRead:
        fields = {k: getattr(row, k) for k in cls.model_fields if k not in ("id", "merged_into")}
        return cls(id=row.external_id, merged_into=merged_into, **fields)


class MergeCreate(Schema):
    source_patient_id: uuid.UUID = Field(description="The duplicate chart to fold into this one")
    reason: str = Field(min_length=1, max_length=2000)


class MergeRead(Schema):
    id: uuid.UUID
    source_patient_id: uuid.UUID
    target_patient_id: uuid.UUID
    reason: str
    moved: dict[str, int]
    created_at: datetime
    undone_at: datetime | None


class PatientPage(Schema):
    items: list[PatientRead]
    limit: int
    offset: int
