"""Copy forward and visit templates in the JSON API."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pydantic import Field

from strigil.services import follow_up, visit_templates, visits
from strigil.web import handler_thread
from strigil.web.api.visits import AreaRead
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.schemas import RecordRead, Schema

router = handler_thread.router(tags=["visits"])


class AreaKeys(Schema):
    keys: list[str] = Field(description="Keys of the offered areas to start, as offered")


class TestValues(Schema):
    values: dict[str, float | None] = Field(
        description="Today's pre-test value by offered test key; null leaves a test for later"
    )


class TemplateCreate(Schema):
    name: str = Field(max_length=120)
    condition_prefix: str = Field(description="The start of the ICD-10-CM codes it is for")


class TemplateUpdate(TemplateCreate):
    version: int = Field(description="The version you read; a stale one answers 409")


class TemplateItemsRemoval(Schema):
    areas: list[int] = []
    exercises: list[int] = []
    tests: list[int] = []
    version: int = Field(description="The version you read; a stale one answers 409")


class TemplateRead(RecordRead):
    name: str
    condition_prefix: str
    areas: list[dict[str, Any]]
    exercises: list[dict[str, Any]]
    tests: list[dict[str, Any]]
    retired_at: datetime | None
    version: int


@router.get("/visits/{visit_id}/carry-forward")
def offer(visit_id: str, db: DbSession, actor: CurrentActor) -> dict[str, Any]:
    """What the last visit (or the clinic's template for the diagnosis) offers to repeat."""
    visit = visits.get(session=db, actor=actor, visit_id=visit_id)
    offered = follow_up.offer(db, visit)
    return {"offer": None if offered is None else asdict(offered)}


@router.post("/visits/{visit_id}/carry-forward/areas", response_model=list[AreaRead])
def start_areas(
    visit_id: str, body: AreaKeys, db: DbSession, actor: CurrentActor
) -> list[AreaRead]:
    """Start the chosen offered areas through every safety check; all or none."""
    rows = follow_up.start_areas(session=db, actor=actor, visit_id=visit_id, keys=body.keys)
    return [AreaRead.of(r) for r in rows]


@router.post("/visits/{visit_id}/carry-forward/exercises", status_code=201)
def prescribe_programme(visit_id: str, db: DbSession, actor: CurrentActor) -> list[dict[str, str]]:
    """Prescribe the offered home programme again."""
    rows = follow_up.prescribe_programme(session=db, actor=actor, visit_id=visit_id)
    return [{"id": str(r.external_id), "exercise_code": r.exercise_code} for r in rows]


@router.post("/visits/{visit_id}/carry-forward/tests", status_code=201)
def record_tests(
    visit_id: str, body: TestValues, db: DbSession, actor: CurrentActor
) -> list[dict[str, str]]:
    """Record today's values of the offered pre-tests."""
    rows = follow_up.record_tests(session=db, actor=actor, visit_id=visit_id, values=body.values)
    return [{"id": str(r.external_id), "name": r.name} for r in rows]


@router.get("/visit-templates", response_model=list[TemplateRead], tags=["templates"])
def list_templates(
    db: DbSession, actor: CurrentActor, include_retired: bool = False
) -> list[TemplateRead]:
    rows = visit_templates.list_templates(session=db, actor=actor, include_retired=include_retired)
    return [TemplateRead.of(r) for r in rows]


@router.post(
    "/visits/{visit_id}/template",
    response_model=TemplateRead,
    status_code=201,
    tags=["templates"],
)
def save_template(
    visit_id: str, body: TemplateCreate, db: DbSession, actor: CurrentActor
) -> TemplateRead:
    """Keep this visit's areas, home programme and tests as a template for a diagnosis."""
    row = visit_templates.save_from_visit(
        session=db, actor=actor, visit_id=visit_id, **body.model_dump()
    )
    return TemplateRead.of(row)


@router.put("/visit-templates/{template_id}", response_model=TemplateRead, tags=["templates"])
def update_template(
    template_id: uuid.UUID, body: TemplateUpdate, db: DbSession, actor: CurrentActor
) -> TemplateRead:
    row = visit_templates.update(
        session=db, actor=actor, template_id=template_id, **body.model_dump()
    )
    return TemplateRead.of(row)


@router.post(
    "/visit-templates/{template_id}/remove-items",
    response_model=TemplateRead,
    tags=["templates"],
)
def remove_template_items(
    template_id: uuid.UUID, body: TemplateItemsRemoval, db: DbSession, actor: CurrentActor
) -> TemplateRead:
    """Take areas, exercises or tests (by position) out of a template."""
    remove = body.model_dump(exclude={"version"})
    row = visit_templates.remove_items(
        session=db, actor=actor, template_id=template_id, remove=remove, version=body.version
    )
    return TemplateRead.of(row)


@router.post(
    "/visit-templates/{template_id}/retire", response_model=TemplateRead, tags=["templates"]
)
def retire_template(template_id: uuid.UUID, db: DbSession, actor: CurrentActor) -> TemplateRead:
    return TemplateRead.of(visit_templates.retire(session=db, actor=actor, template_id=template_id))
