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
        return PatientInput(**self.model_dump())


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

    @classmethod
    def of(cls, row: Patient) -> PatientRead:
        return cls(
            id=row.external_id, **{k: getattr(row, k) for k in cls.model_fields if k != "id"}
        )


class PatientPage(Schema):
    items: list[PatientRead]
    limit: int
    offset: int
