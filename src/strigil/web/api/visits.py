"""The guided visit in the JSON API: areas, readings and the stop rule, findings, note."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import Field
from sqlalchemy.orm import Session

from strigil.config import Settings
from strigil.services import episodes, screenings, sensors, treatment, visits
from strigil.services.actors import Actor
from strigil.services.records import TreatedArea, Visit
from strigil.web import handler_thread
from strigil.web.api import records
from strigil.web.deps import CurrentActor, DbSession, SettingsDep
from strigil.web.schemas import Offset, RecordRead, Schema

router = handler_thread.router(tags=["visits"])
router.include_router(records.router)


class VisitCreate(Schema):
    tolerance_limit: int | None = Field(default=None, description="Agreed 1-10 discomfort limit")
    recheck: dict[str, Any] | None = Field(
        default=None,
        description="Answers to the rules re-asked each visit, starting from the answers in "
        'force; blood pressure (A9) is a reading {"systolic": 128, "diastolic": 82} or '
        '{"present": false, "measured": false} when it was not measured',
    )
    reasoning: str | None = None
    dose_modification: str | None = None
    reliability_check: bool = False
    techniques: list[str] = ["iastm"]
    lift: list[str] = Field(
        default=[],
        description="Re-check rules answered No that the screening in force has as Yes: "
        "confirms lifting that finding (a rule that needs a clearance cannot be lifted)",
    )

    def to_start(self) -> visits.VisitStart:
        """The services' form of the request (the re-check answers parsed)."""
        recheck = screenings.parse_answers(self.recheck) if self.recheck is not None else None
        return visits.VisitStart(
            tolerance_limit=self.tolerance_limit,
            recheck=recheck,
            reasoning=self.reasoning,
            dose_modification=self.dose_modification,
            reliability_check=self.reliability_check,
            techniques=tuple(self.techniques),
            lifts=tuple(self.lift),
        )


class VisitRead(RecordRead):
    episode_id: uuid.UUID
    number: int
    status: str
    phase: str
    tolerance_limit: int
    started_at: datetime
    signed_at: datetime | None
    subjective: str
    objective: str
    assessment: str
    plan: str
    pre_test: str
    post_test: str
    version: int

    @classmethod
    def of(cls, row: Visit, **given: Any) -> VisitRead:
        """``episode_id`` is the episode's public id, not the foreign key of the same name."""
        return super().of(row, episode_id=row.episode.external_id, **given)


class PhaseUpdate(Schema):
    phase: str
    version: int = Field(description="The version you read; a stale one answers 409")


class NoteUpdate(Schema):
    subjective: str | None = None
    objective: str | None = None
    assessment: str | None = None
    plan: str | None = None
    pre_test: str | None = None
    post_test: str | None = None
    version: int


class Signature(Schema):
    version: int


class AddendumCreate(Schema):
    text: str = Field(min_length=1, max_length=8000)


class AreaCreate(Schema):
    body_site: str
    side: str
    instrument_type: str
    intensity: str = "gentle"
    strokes: list[str] = []
    angle_deg: int | None = Field(default=None, ge=0, le=90)
    seconds: int = Field(default=0, ge=0, le=3600)
    planned_seconds: int | None = Field(
        default=None, ge=0, le=3600, description="The time planned for the area (a target)"
    )
    confirm_other_side: bool = Field(
        default=False, description="Confirms treating the side opposite the episode's"
    )


class AreaRead(RecordRead):
    body_site: str
    body_region: str
    side: str
    instrument_type: str
    strokes: list[str]
    angle_deg: int | None
    intensity: str
    seconds: int
    planned_seconds: int | None
    status: str
    stop_reason: str | None
    stop_note: str | None
    warnings: list[str]
    other_side_confirmed: bool
    version: int


class DoseUpdate(Schema):
    seconds: int = Field(ge=0, le=3600)
    intensity: str | None = None
    version: int = Field(description="The version you read; a stale one answers 409")


class ReadingCreate(Schema):
    value: int = Field(description="Discomfort 0-10")
    patient_asked_to_stop: bool = False


class ReadingResult(Schema):
    value: int
    stopped: bool
    warning: str | None
    area: AreaRead


class StopCreate(Schema):
    reason: str | None = Field(description="tolerance_reached, patient_request, petechiae, ...")
    note: str | None = None


class SkinCreate(Schema):
    grade: str = Field(description="none, erythema, petechiae or ecchymosis")
    notes: str | None = None


class FindingCreate(Schema):
    chart_view: str
    x: float
    y: float
    body_site: str
    texture: str
    severity: int
    treated_area_id: uuid.UUID | None = None


class FindingRead(RecordRead):
    chart_view: str
    x: float
    y: float
    body_site: str
    texture: str
    severity: int


class PrescriptionCreate(Schema):
    exercise_code: str
    sets: int
    repetitions: int | None = None
    hold_seconds: int | None = None
    frequency: str = "daily"
    notes: str | None = None


@router.post("/episodes/{episode_id}/visits", response_model=VisitRead, status_code=201)
def start_visit(
    episode_id: str, body: VisitCreate, db: DbSession, actor: CurrentActor
) -> VisitRead:
    """Start a visit: re-check medications and skin, agree the tolerance limit."""
    data = body.to_start()
    return VisitRead.of(visits.start(session=db, actor=actor, episode_id=episode_id, data=data))


@router.get("/episodes/{episode_id}/visits", response_model=list[VisitRead])
def list_visits(
    episode_id: str,
    db: DbSession,
    actor: CurrentActor,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Offset = 0,
) -> list[VisitRead]:
    """An episode's visits, newest first, paginated."""
    episode = episodes.get(session=db, actor=actor, episode_id=episode_id)
    rows = visits.list_for_episode(
        session=db, actor=actor, episode=episode, limit=limit, offset=offset
    )
    return [VisitRead.of(v) for v in rows]


@router.get("/visits/{visit_id}", response_model=VisitRead)
def get_visit(visit_id: str, db: DbSession, actor: CurrentActor) -> VisitRead:
    return VisitRead.of(visits.get(session=db, actor=actor, visit_id=visit_id))


@router.put("/visits/{visit_id}/phase", response_model=VisitRead)
def set_phase(visit_id: str, body: PhaseUpdate, db: DbSession, actor: CurrentActor) -> VisitRead:
    """Move to a later protocol phase."""
    return VisitRead.of(
        visits.set_phase(
            session=db, actor=actor, visit_id=visit_id, phase=body.phase, version=body.version
        )
    )


@router.get("/visits/{visit_id}/note-draft")
def note_draft(visit_id: str, db: DbSession, actor: CurrentActor) -> dict[str, Any]:
    """A SOAP note drafted from what was recorded in the visit, with each claim's source."""
    draft = visits.draft_note(session=db, actor=actor, visit_id=visit_id)
    body: dict[str, Any] = {name: getattr(draft, name) for name in visits.NOTE_FIELDS}
    body["claims"] = [
        {"section": section, "text": c.text, "source": c.source} for section, c in draft.claims
    ]
    return body


@router.put("/visits/{visit_id}/note", response_model=VisitRead)
def save_note(visit_id: str, body: NoteUpdate, db: DbSession, actor: CurrentActor) -> VisitRead:
    """Save the note; 409 once signed, or with the current text if someone saved first."""
    note = {k: v for k, v in body.model_dump().items() if k in visits.NOTE_FIELDS and v is not None}
    return VisitRead.of(
        visits.save_note(
            session=db,
            actor=actor,
            visit_id=visit_id,
            note=note,
            version=body.version,
            pre_test=body.pre_test,
            post_test=body.post_test,
        )
    )


@router.post("/visits/{visit_id}/sign", response_model=VisitRead)
def sign(visit_id: str, body: Signature, db: DbSession, actor: CurrentActor) -> VisitRead:
    """Sign and lock the note (therapists only)."""
    return VisitRead.of(
        visits.sign(session=db, actor=actor, visit_id=visit_id, version=body.version)
    )


@router.post("/visits/{visit_id}/addenda", status_code=201)
def add_addendum(
    visit_id: str, body: AddendumCreate, db: DbSession, actor: CurrentActor
) -> dict[str, str]:
    """A dated addendum to a signed note."""
    row = visits.add_addendum(session=db, actor=actor, visit_id=visit_id, text=body.text)
    return {"id": str(row.external_id), "created_at": row.created_at.isoformat()}


@router.get("/visits/{visit_id}/billing")
def billing(visit_id: str, db: DbSession, actor: CurrentActor) -> dict[str, Any]:
    """Every code of the visit with its minutes and units under the clinic's billing rule."""
    visit = visits.get(session=db, actor=actor, visit_id=visit_id)
    return asdict(visits.charges_for(db, visit))


@router.post("/visits/{visit_id}/areas", response_model=AreaRead, status_code=201)
def add_area(visit_id: str, body: AreaCreate, db: DbSession, actor: CurrentActor) -> AreaRead:
    """Start treating an area: 422 with the reason if screening blocks its region."""
    data = treatment.AreaInput(**body.model_dump())
    return AreaRead.of(treatment.add_area(session=db, actor=actor, visit_id=visit_id, data=data))


@router.put("/areas/{area_id}/dose", response_model=AreaRead)
def update_dose(area_id: str, body: DoseUpdate, db: DbSession, actor: CurrentActor) -> AreaRead:
    return AreaRead.of(
        treatment.update_dose(
            session=db,
            actor=actor,
            treated_area_id=area_id,
            seconds=body.seconds,
            intensity=body.intensity,
            version=body.version,
        )
    )


@router.post("/areas/{area_id}/readings", response_model=ReadingResult, status_code=201)
def record_reading(
    area_id: str, body: ReadingCreate, db: DbSession, actor: CurrentActor, settings: SettingsDep
) -> ReadingResult:
    """Discomfort 0-10; reaching the limit or a request to stop stops the area at once."""
    result = treatment.record_reading(
        session=db,
        actor=actor,
        treated_area_id=area_id,
        value=body.value,
        patient_asked_to_stop=body.patient_asked_to_stop,
    )
    _store_stream(db, actor, result.area, settings)
    return ReadingResult(
        value=result.reading.value,
        stopped=result.stopped,
        warning=result.warning,
        area=AreaRead.of(result.area),
    )


@router.post("/areas/{area_id}/stop", response_model=AreaRead)
def stop_area(
    area_id: str, body: StopCreate, db: DbSession, actor: CurrentActor, settings: SettingsDep
) -> AreaRead:
    """Stop an area and record why; a sensor stream to it is stored as its dose."""
    area = treatment.stop_area(
        session=db, actor=actor, treated_area_id=area_id, reason=body.reason, note=body.note
    )
    _store_stream(db, actor, area, settings)
    return AreaRead.of(area)


def _store_stream(db: Session, actor: Actor, area: TreatedArea, settings: Settings) -> None:
    """An instrumented tool's stream is stored as the area's dose when the area ends."""
    sensors.finish_if_ended(
        session=db,
        actor=actor,
        area=area,
        data_dir=settings.data_dir,
        cap_overrides=settings.sensors_force_caps,
    )


@router.post("/areas/{area_id}/skin", status_code=201)
def grade_skin(
    area_id: str, body: SkinCreate, db: DbSession, actor: CurrentActor
) -> dict[str, str]:
    """Grade the skin response; petechiae end the area for this visit."""
    row = treatment.grade_skin(
        session=db, actor=actor, treated_area_id=area_id, grade=body.grade, notes=body.notes
    )
    return {"id": str(row.external_id), "grade": row.grade}


@router.post("/visits/{visit_id}/findings", response_model=FindingRead, status_code=201)
def add_finding(
    visit_id: str, body: FindingCreate, db: DbSession, actor: CurrentActor
) -> FindingRead:
    """Place a restriction finding on the body chart."""
    data = treatment.FindingInput(**body.model_dump())
    return FindingRead.of(
        treatment.add_finding(session=db, actor=actor, visit_id=visit_id, data=data)
    )


@router.post("/visits/{visit_id}/prescriptions", status_code=201)
def prescribe(
    visit_id: str, body: PrescriptionCreate, db: DbSession, actor: CurrentActor
) -> dict[str, str]:
    """Prescribe after-care from the exercise library."""
    row = treatment.prescribe(
        session=db, actor=actor, visit_id=visit_id, data=treatment.Prescription(**body.model_dump())
    )
    return {"id": str(row.external_id), "exercise_code": row.exercise_code}
