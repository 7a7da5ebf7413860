"""The visit as a record in the JSON API: pre/post tests, billing codes, corrections, co-sign."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from strigil.services import charges, corrections, measurements, visits
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.schemas import RecordRead, Schema

router = handler_thread.router(tags=["visits"])


class MeasurementCreate(Schema):
    kind: Literal["rom", "ppt", "provocation", "other"]
    name: str = Field(default="", max_length=120)
    joint: str = Field(default="", max_length=40)
    motion: str = Field(default="", max_length=40)
    side: Literal["left", "right", "bilateral", "na"] = "na"
    unit: str = Field(default="", max_length=20)
    pre_value: float | None = Field(default=None, allow_inf_nan=False)
    post_value: float | None = Field(default=None, allow_inf_nan=False)
    higher_is_better: bool | None = None


class MeasurementRead(RecordRead):
    kind: str
    name: str
    unit: str
    pre_value: float | None
    post_value: float | None


class PostValue(Schema):
    value: float = Field(allow_inf_nan=False)


class BillingLineCreate(Schema):
    code: str = Field(max_length=10, description="A code of the billing catalogue")
    seconds: int | None = Field(
        default=None, description="Time on a timed code; leave out for an untimed code"
    )


class BillingLineRead(RecordRead):
    code: str
    seconds: int | None


class InError(Schema):
    kind: Literal["reading", "finding", "area", "exercise", "measurement", "billing_line"]
    record_id: uuid.UUID
    reason: str = Field(max_length=500)


class AreaTime(Schema):
    seconds: int
    version: int = Field(description="The area's version you read; a stale one answers 409")


class FindingLink(Schema):
    treated_area_id: uuid.UUID | None = None


class VisitTimes(Schema):
    started_at: datetime
    ended_at: datetime | None = None
    version: int = Field(description="The visit's version you read; a stale one answers 409")


@router.post("/visits/{visit_id}/measurements", response_model=MeasurementRead, status_code=201)
def add_measurement(
    visit_id: str, body: MeasurementCreate, db: DbSession, actor: CurrentActor
) -> MeasurementRead:
    """Record a pre-test (and its post-test value when already known)."""
    data = measurements.MeasurementInput(**body.model_dump())
    row = measurements.add(session=db, actor=actor, visit_id=visit_id, data=data)
    return MeasurementRead.of(row)


@router.put("/measurements/{measurement_id}/post", response_model=MeasurementRead)
def record_post(
    measurement_id: str, body: PostValue, db: DbSession, actor: CurrentActor
) -> MeasurementRead:
    row = measurements.record_post(
        session=db, actor=actor, measurement_id=measurement_id, value=body.value
    )
    return MeasurementRead.of(row)


@router.post("/visits/{visit_id}/billing-lines", response_model=BillingLineRead, status_code=201)
def add_billing_line(
    visit_id: str, body: BillingLineCreate, db: DbSession, actor: CurrentActor
) -> BillingLineRead:
    """Time on a timed code (or an untimed code) for the visit; 422 names the field at fault."""
    row = charges.add_line(
        session=db, actor=actor, visit_id=visit_id, code=body.code, seconds=body.seconds
    )
    return BillingLineRead.of(row)


@router.post("/visits/{visit_id}/in-error")
def mark_in_error(
    visit_id: str, body: InError, db: DbSession, actor: CurrentActor
) -> dict[str, str]:
    """Mark a recorded item of an unsigned visit entered-in-error, with the reason."""
    corrections.mark_in_error(
        session=db,
        actor=actor,
        visit_id=visit_id,
        kind=body.kind,
        record_id=body.record_id,
        reason=body.reason,
    )
    return {"status": "entered_in_error"}


@router.put("/areas/{area_id}/time")
def correct_time(
    area_id: str, body: AreaTime, db: DbSession, actor: CurrentActor
) -> dict[str, int]:
    """Set an area's time in seconds until the note is signed."""
    area = corrections.correct_time(
        session=db,
        actor=actor,
        treated_area_id=area_id,
        seconds=body.seconds,
        version=body.version,
    )
    return {"seconds": area.seconds, "version": area.version}


@router.put("/findings/{finding_id}/area")
def link_finding(
    finding_id: str, body: FindingLink, db: DbSession, actor: CurrentActor
) -> dict[str, str | None]:
    corrections.link_finding(
        session=db, actor=actor, finding_id=finding_id, treated_area_id=body.treated_area_id
    )
    return {"treated_area_id": str(body.treated_area_id) if body.treated_area_id else None}


@router.put("/visits/{visit_id}/times")
def set_times(
    visit_id: str, body: VisitTimes, db: DbSession, actor: CurrentActor
) -> dict[str, str | int]:
    """When the visit started and ended; the timed work recorded must fit inside it."""
    visit = corrections.set_times(
        session=db,
        actor=actor,
        visit_id=visit_id,
        started_at=body.started_at,
        ended_at=body.ended_at,
        version=body.version,
    )
    ended = visit.ended_at.isoformat() if visit.ended_at else ""
    return {
        "started_at": visit.started_at.isoformat(),
        "ended_at": ended,
        "version": visit.version,
    }


@router.post("/visits/{visit_id}/cosign")
def cosign(visit_id: str, db: DbSession, actor: CurrentActor) -> dict[str, str]:
    """A therapist's co-signature of an assistant's signed note."""
    visit = visits.cosign(session=db, actor=actor, visit_id=visit_id)
    return {"cosigned_at": visit.cosigned_at.isoformat() if visit.cosigned_at else ""}
