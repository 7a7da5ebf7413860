"""Screening, consent, adverse events and outcome measurements in the JSON API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import Field

from strigil.core import consent as consent_template
from strigil.core import i18n
from strigil.services import (
    adverse_events,
    clearances,
    consents,
    episodes,
    outcomes,
    screenings,
)
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.schemas import RecordRead, Schema

router = handler_thread.router(tags=["care"])


class ScreeningCreate(Schema):
    answers: dict[str, Any] = Field(
        description='Per rule id: {"present": bool, "regions": [region codes]}'
    )
    problem_codes: list[str] = []
    drug_classes: list[str] = []
    reasoning: str | None = None
    dose_modification: str | None = None
    cap_intensity: str | None = Field(default=None, description="gentle, moderate or vigorous")
    cap_seconds: int | None = Field(default=None, description="Most seconds per area, 1-3600")


class ScreeningRead(RecordRead):
    kind: str
    result_status: str
    result: dict[str, Any]
    reasoning: str | None
    dose_modification: str | None
    screened_at: datetime
    patient_age_years: int | None


class ClearanceCreate(Schema):
    rule_id: str = Field(description="A rule whose whole-patient block needs a clearance (A3)")
    cleared_by: str = Field(max_length=200, description="Who cleared the patient")
    cleared_at: datetime = Field(description="When they cleared the patient")
    note: str = Field(max_length=4000)


class ClearanceRead(RecordRead):
    rule_id: str
    cleared_by: str
    cleared_at: datetime
    note: str


LANGUAGE = "The language the patient reads the text in: en (default) or es"


class ConsentText(Schema):
    version: str = Field(description="The template version; a translation has its own")
    language: str
    sha256: str = Field(description="SHA-256 of the text's UTF-8, to send back with the decision")
    text: str


class ConsentCreate(Schema):
    decision: str = Field(description="granted or declined")
    shown_sha256: str | None = Field(default=None, description="Hash of the text the patient read")
    guardian_name: str | None = Field(default=None, max_length=200, description="For a minor")
    guardian_relationship: str | None = Field(default=None, max_length=100)
    language: str | None = Field(default=None, max_length=8, description=LANGUAGE)


class ConsentRead(RecordRead):
    decision: str
    text_version: str = Field(description="The versioned template the patient agreed to")
    language: str
    text_sha256: str
    decided_at: datetime
    withdrawn_at: datetime | None
    guardian_name: str | None
    guardian_relationship: str | None


class MeasurementCreate(Schema):
    measure: str
    answers: list[float | None]
    options: dict[str, Any] = {}
    visit_id: uuid.UUID | None = None
    measured_at: datetime | None = None
    measured_on: date | None = None  # the day, when the exact time is not known


class MeasurementRead(RecordRead):
    measure: str
    score: float
    subscores: dict[str, float]
    answers: list[Any]
    measured_at: datetime
    source: str = Field(description='"staff", or "patient" when answered through a patient link')


class EventCreate(Schema):
    category: str
    severity: str
    description: str = Field(max_length=4000)
    onset_at: datetime | None = None
    referral_made: bool = False
    visit_id: uuid.UUID | None = None


class EventFollowUp(Schema):
    note: str = Field(max_length=4000)
    resolved: bool = False
    referral_made: bool | None = None
    version: int


class EventRead(RecordRead):
    category: str
    severity: str
    description: str
    status: str
    follow_up: str
    referral_made: bool
    onset_at: datetime
    resolved_at: datetime | None
    version: int


@router.post("/episodes/{episode_id}/screenings", response_model=ScreeningRead, status_code=201)
def screen(
    episode_id: str, body: ScreeningCreate, db: DbSession, actor: CurrentActor
) -> ScreeningRead:
    """Intake screening: every rule answered; relative rules need reasoning and a dose change."""
    row = screenings.screen(
        session=db,
        actor=actor,
        episode_id=episode_id,
        answers=screenings.parse_answers(body.answers),
        problem_codes=body.problem_codes,
        drug_classes=body.drug_classes,
        reasoning=body.reasoning,
        dose_modification=body.dose_modification,
        cap_intensity=body.cap_intensity,
        cap_seconds=body.cap_seconds,
    )
    return ScreeningRead.of(row)


@router.post("/episodes/{episode_id}/clearances", response_model=ClearanceRead, status_code=201)
def record_clearance(
    episode_id: str, body: ClearanceCreate, db: DbSession, actor: CurrentActor
) -> ClearanceRead:
    """Who cleared a whole-patient block (a treated clot), when, and why; the limb stays
    blocked."""
    row = clearances.record_clearance(
        session=db,
        actor=actor,
        episode_id=episode_id,
        rule_id=body.rule_id,
        cleared_by=body.cleared_by,
        cleared_at=body.cleared_at,
        note=body.note,
    )
    return ClearanceRead.of(row)


def _consent(row: consents.Consent) -> ConsentRead:
    return ConsentRead.of(row, language=consent_template.language_of(row.text_version))


@router.get("/episodes/{episode_id}/consent-text", response_model=ConsentText)
def consent_text(
    episode_id: str,
    db: DbSession,
    actor: CurrentActor,
    language: Annotated[str | None, Query(max_length=8, description=LANGUAGE)] = None,
) -> ConsentText:
    """The exact consent text for this episode in the patient's language, with its template
    version and hash (send the hash back with the decision)."""
    checked = i18n.checked(language)  # refused before anything is read
    episode = episodes.get(session=db, actor=actor, episode_id=episode_id)
    text = consents.preview(session=db, episode=episode, language=checked)
    return ConsentText(
        version=text.version,
        language=consent_template.language_of(text.version),
        sha256=text.sha256,
        text=text.text,
    )


@router.post("/episodes/{episode_id}/consents", response_model=ConsentRead, status_code=201)
def record_consent(
    episode_id: str, body: ConsentCreate, db: DbSession, actor: CurrentActor
) -> ConsentRead:
    """Record the patient's decision on the text shown, in the language it was shown in (the
    stored text, its template version and hash say which words were agreed to)."""
    row = consents.record(
        session=db,
        actor=actor,
        episode_id=episode_id,
        decision=body.decision,
        shown_sha256=body.shown_sha256,
        guardian_name=body.guardian_name,
        guardian_relationship=body.guardian_relationship,
        language=body.language,
    )
    return _consent(row)


@router.post("/episodes/{episode_id}/consents/withdraw", response_model=ConsentRead)
def withdraw_consent(episode_id: str, db: DbSession, actor: CurrentActor) -> ConsentRead:
    """The patient withdraws consent; no more IASTM can be recorded."""
    return _consent(consents.withdraw(session=db, actor=actor, episode_id=episode_id))


@router.post("/episodes/{episode_id}/measurements", response_model=MeasurementRead, status_code=201)
def record_measurement(
    episode_id: str, body: MeasurementCreate, db: DbSession, actor: CurrentActor
) -> MeasurementRead:
    """Score and store an outcome measurement (missing items as null)."""
    data = outcomes.MeasurementInput(
        measure=body.measure,
        answers=body.answers,
        options=body.options,
        visit_id=body.visit_id,
        measured_at=body.measured_at,
        measured_on=body.measured_on,
    )
    return MeasurementRead.of(
        outcomes.record(session=db, actor=actor, episode_id=episode_id, data=data)
    )


@router.get("/episodes/{episode_id}/measurements", response_model=list[MeasurementRead])
def list_measurements(
    episode_id: str, db: DbSession, actor: CurrentActor, measure: str | None = None
) -> list[MeasurementRead]:
    episode = episodes.get(session=db, actor=actor, episode_id=episode_id)
    return [MeasurementRead.of(r) for r in outcomes.list_for_episode(db, episode, measure)]


@router.get("/episodes/{episode_id}/progress")
def progress(
    episode_id: str, db: DbSession, actor: CurrentActor, measure: str | None = None
) -> dict[str, Any]:
    """Change from baseline, responder class, reconsider prompt and the expected course."""
    result = outcomes.progress(session=db, actor=actor, episode_id=episode_id, measure=measure)
    return outcomes.progress_json(result)


@router.post("/patients/{patient_id}/adverse-events", response_model=EventRead, status_code=201)
def report_event(
    patient_id: str, body: EventCreate, db: DbSession, actor: CurrentActor
) -> EventRead:
    """Record an adverse event; it stays open until followed up and resolved."""
    data = adverse_events.EventInput(**body.model_dump())
    return EventRead.of(
        adverse_events.report(session=db, actor=actor, patient_id=patient_id, data=data)
    )


@router.post("/adverse-events/{event_id}/follow-ups", response_model=EventRead)
def follow_up(event_id: str, body: EventFollowUp, db: DbSession, actor: CurrentActor) -> EventRead:
    """Add a follow-up note; resolve the event when it has settled."""
    row = adverse_events.follow_up(
        session=db,
        actor=actor,
        event_id=event_id,
        note=body.note,
        resolved=body.resolved,
        version=body.version,
        referral_made=body.referral_made,
    )
    return EventRead.of(row)


@router.get("/adverse-events", response_model=list[EventRead])
def open_events(db: DbSession, actor: CurrentActor) -> list[EventRead]:
    """The clinic's open adverse events."""
    return [EventRead.of(r) for r in adverse_events.open_events(session=db, actor=actor)]
