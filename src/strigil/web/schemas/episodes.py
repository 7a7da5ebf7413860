"""Episode models of the API."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import Field

from strigil.services.episodes import Episode, EpisodeInput
from strigil.web.schemas import Schema


class EpisodeCreate(Schema):
    condition_code: str = Field(description="ICD-10-CM code, with or without the dot")
    body_region: str
    side: str = Field(description="left, right, bilateral, midline or na")
    chronicity: str = Field(description="acute, subacute or chronic")
    primary_measure: str = Field(description="A measure code such as NPRS, ODI, LEFS")
    goals: str = ""
    onset_on: date | None = None
    approach: str = "iastm"
    payer: str | None = Field(
        default=None,
        description="private, medicare, medicaid, workers_comp, auto, self_pay or other",
    )
    surgery: bool | None = Field(default=None, description="Did the condition need surgery?")
    post_surgical_type: str | None = Field(
        default=None,
        description="arthroplasty, arthroscopy, ligament_reconstruction, tendon_repair, "
        "fracture_fixation, spinal or other (only with surgery)",
    )
    comorbidity_count: int | None = Field(
        default=None, description="How many other conditions the patient lives with (0-30)"
    )

    def to_input(self, status: str = "active") -> EpisodeInput:
        return EpisodeInput(status=status, **self.model_dump(exclude={"version", "status"}))


class EpisodeUpdate(EpisodeCreate):
    status: str = "active"
    version: int

    def to_input(self, status: str | None = None) -> EpisodeInput:
        return super().to_input(status or self.status)


class EpisodeRead(Schema):
    id: uuid.UUID
    patient_id: uuid.UUID
    condition_code: str
    condition_title: str
    condition_group: str | None
    body_region: str
    side: str
    chronicity: str
    onset_on: date | None
    goals: str
    primary_measure: str
    approach: str
    status: str
    started_on: date
    ended_on: date | None
    payer: str | None
    surgery: bool | None
    post_surgical_type: str | None
    comorbidity_count: int | None
    version: int

    @classmethod
    def of(cls, row: Episode) -> EpisodeRead:
        skip = {"id", "patient_id"}
        return cls(
            id=row.external_id,
            patient_id=row.patient.external_id,
            **{k: getattr(row, k) for k in cls.model_fields if k not in skip},
        )
