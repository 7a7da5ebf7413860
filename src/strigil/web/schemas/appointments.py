"""Appointment models of the API (the day book)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field

from strigil.services.appointments import Appointment, AppointmentInput, AppointmentLine, Repeat
from strigil.web.schemas import Schema


class RepeatBody(Schema):
    every_weeks: int = Field(default=1, description="1 = weekly, 2 = every other week, up to 12")
    until: date | None = Field(default=None, description="The last day of the series")
    count: int | None = Field(default=None, description="How many appointments in all")


class AppointmentCreate(Schema):
    patient_id: uuid.UUID
    therapist_id: uuid.UUID
    starts_at: datetime = Field(description="With a time zone, e.g. 2026-12-07T09:00:00+00:00")
    minutes: int = Field(default=45, description="Length, 5 to 480 minutes")
    note: str = Field(default="", max_length=2000)
    episode_id: uuid.UUID | None = None
    repeat: RepeatBody | None = Field(
        default=None, description="Weekly repetition; it must end (until or count)"
    )

    def to_input(self) -> AppointmentInput:
        repeat = Repeat(**self.repeat.model_dump()) if self.repeat is not None else None
        return AppointmentInput(
            patient_id=self.patient_id,
            therapist_id=self.therapist_id,
            starts_at=self.starts_at,
            minutes=self.minutes,
            note=self.note,
            episode_id=self.episode_id,
            repeat=repeat,
        )


class AppointmentUpdate(Schema):
    starts_at: datetime
    minutes: int = 45
    note: str = Field(default="", max_length=2000)
    therapist_id: uuid.UUID | None = None
    version: int = Field(description="The version you read; a stale one answers 409")


class StatusUpdate(Schema):
    status: str = Field(description="booked, arrived, no_show or cancelled")
    version: int = Field(description="The version you read; a stale one answers 409")


class CalendarImport(Schema):
    therapist_id: uuid.UUID
    calendar: str = Field(description="The text of an iCalendar (.ics) file")


class AppointmentRead(Schema):
    id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    status: str
    note: str
    series_id: uuid.UUID | None
    version: int
    patient_id: uuid.UUID
    patient_name: str
    record_number: str
    therapist_id: uuid.UUID
    therapist_name: str
    episode_id: uuid.UUID | None
    visit_id: uuid.UUID | None

    @classmethod
    def of(cls, line: AppointmentLine) -> AppointmentRead:
        names = [k for k in cls.model_fields if k != "id"]
        return cls(id=line.appointment_id, **{k: getattr(line, k) for k in names})


class AppointmentBooked(Schema):
    """What a booking wrote: the ids (a series has several) and the series id."""

    ids: list[uuid.UUID]
    series_id: uuid.UUID | None

    @classmethod
    def of(cls, rows: list[Appointment]) -> AppointmentBooked:
        return cls(ids=[r.external_id for r in rows], series_id=rows[0].series_id)


class SkippedEvent(Schema):
    number: int
    uid: str
    summary: str
    reason: str


class CalendarImported(Schema):
    booked: list[uuid.UUID]
    skipped: list[SkippedEvent]
