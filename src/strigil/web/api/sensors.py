"""Instrumented IASTM in the JSON API: a device bridge streams samples to the active area,
the running dose is read back, and finishing the stream stores it as the area's dose.

Chunked HTTP POST of JSON batches rather than a WebSocket (ADR 0016): the same token
authentication, clinic scope, overload answer and error bodies as every other API route.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from strigil.services import sensors
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession, SettingsDep
from strigil.web.schemas import Schema

router = handler_thread.router(tags=["sensors"])

Number = Annotated[float, Field(allow_inf_nan=False)]
MAX = sensors.MAX_BATCH


class StreamBatch(Schema):
    """Samples in time order; null is a gap (a lost sample), never a zero."""

    t_s: list[Number] = Field(min_length=1, max_length=MAX)
    fz_n: list[Number | None] = Field(min_length=1, max_length=MAX)
    angle_deg: list[Number | None] | None = Field(default=None, max_length=MAX)


class IntendedDoseBody(Schema):
    """The dose intended for an area: a force range and/or a stroke count or time under load."""

    force_min_n: Number | None = None
    force_max_n: Number | None = None
    strokes: int | None = None
    time_under_load_s: Number | None = None


class StreamAccepted(Schema):
    samples: int


@router.post("/areas/{area_id}/sensor-stream", response_model=StreamAccepted, status_code=202)
def append(
    area_id: str, body: StreamBatch, db: DbSession, actor: CurrentActor, settings: SettingsDep
) -> StreamAccepted:
    """Append a batch to the active area's stream (409 when the area is not active)."""
    total = sensors.append_stream(
        session=db,
        actor=actor,
        treated_area_id=area_id,
        batch=body.model_dump(exclude_none=True),
        data_dir=settings.data_dir,
    )
    return StreamAccepted(samples=total)


@router.get("/areas/{area_id}/sensor-stream")
def running_dose(
    area_id: str, db: DbSession, actor: CurrentActor, settings: SettingsDep
) -> dict[str, Any]:
    """The running dose of the area's stream, its force cap, and the last seconds' trace."""
    return sensors.live_dose(
        session=db,
        actor=actor,
        treated_area_id=area_id,
        data_dir=settings.data_dir,
        cap_overrides=settings.sensors_force_caps,
    )


@router.post("/areas/{area_id}/sensor-stream/finish", status_code=201)
def finish(
    area_id: str, db: DbSession, actor: CurrentActor, settings: SettingsDep
) -> dict[str, Any]:
    """Store the stream as the area's measured dose."""
    row = sensors.finish_stream(
        session=db,
        actor=actor,
        treated_area_id=area_id,
        data_dir=settings.data_dir,
        cap_overrides=settings.sensors_force_caps,
    )
    return sensors.recording_json(row)


@router.put("/areas/{area_id}/intended-dose")
def set_intended(
    area_id: str, body: IntendedDoseBody, db: DbSession, actor: CurrentActor
) -> dict[str, Any]:
    """Set (or replace) the area's intended dose; 422 names the field that breaks a rule."""
    row = sensors.set_intended(
        session=db,
        actor=actor,
        treated_area_id=area_id,
        data=sensors.IntendedInput(**body.model_dump()),
    )
    return sensors.intended_json(row)
