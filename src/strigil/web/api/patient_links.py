"""Patient links and check-ins in the JSON API: issue (check-in, questionnaires, progress),
list per patient or episode, revoke, list a visit's check-ins, and turn a worrying check-in
into an adverse event.

A link's token (and so its URL) is in the answer to the request that issues it and never
again: only its digest is kept, so no list can give it back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from pydantic import Field

from strigil.errors import InvalidInput
from strigil.services import patient_forms, patient_links
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession, SettingsDep
from strigil.web.schemas import Offset, RecordRead, Schema

router = handler_thread.router(tags=["patient links"])
Limit = Annotated[int, Query(ge=1, le=patient_links.LIST_LIMIT, description="Links per page")]


class LinkRead(RecordRead):
    purpose: str = Field(description="checkin, questionnaires or progress")
    status: str = Field(description="open, used, revoked or expired")
    episode_id: uuid.UUID | None = Field(description="The episode (a check-in's is its visit's)")
    visit_id: uuid.UUID | None = Field(description="The visit a check-in asks about")
    measures: list[str] | None = Field(description="What a questionnaire link asks")
    language: str | None = Field(description="en or es; none: the patient's browser decides")
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def listed(cls, item: patient_links.LinkListing) -> LinkRead:
        return cls.of(
            item.link, status=item.status, episode_id=item.episode_id, visit_id=item.visit_id
        )


class LinkIssued(LinkRead):
    token: str = Field(description="The link's key; shown only now, only its digest is kept")
    url: str = Field(description="The patient's link; shown only now, only its digest is kept")


class LinkCreate(Schema):
    purpose: Literal["questionnaires", "progress"] = Field(
        description="questionnaires (answered once) or progress (the patient's own page); a "
        "check-in is issued for a visit (POST /visits/{visit_id}/checkin-links)"
    )
    measures: list[Annotated[str, Field(max_length=40)]] = Field(
        default=[],
        max_length=20,
        description="For questionnaires: measure codes a patient can answer alone, and "
        "SCREENING for the intake questions; none: the primary measure and NPRS",
    )
    language: str | None = Field(default=None, max_length=8, description="en or es")


class CheckinRead(RecordRead):
    submitted_at: datetime
    needs_attention: bool
    answers: dict[str, Any]


class EventRequest(Schema):
    severity: str = Field(default="moderate", description="mild, moderate or severe")


def _issued(request: Request, token: str, item: patient_links.LinkListing) -> LinkIssued:
    url = str(request.base_url).rstrip("/") + patient_links.link_path(token)
    listed = LinkRead.listed(item)
    return LinkIssued(**listed.model_dump(), token=token, url=url)


@router.post("/episodes/{episode_id}/patient-links", response_model=LinkIssued, status_code=201)
def issue_episode_link(
    request: Request,
    episode_id: str,
    body: LinkCreate,
    db: DbSession,
    actor: CurrentActor,
    settings: SettingsDep,
) -> LinkIssued:
    """Issue a questionnaire or progress link for the episode's patient, as the episode page
    does; the token and URL are in this answer only."""
    if body.purpose == patient_forms.PROGRESS and body.measures:
        raise InvalidInput(
            "measures are asked by questionnaire links only; leave them out for progress",
            field="measures",
            code="not_for_purpose",
        )
    token, link = patient_forms.issue(
        session=db,
        actor=actor,
        episode_id=episode_id,
        purpose=body.purpose,
        measure_codes=body.measures,
        days=settings.patient_link_days,
        language=body.language,
    )
    return _issued(request, token, patient_links.listing(db, link))


@router.get("/episodes/{episode_id}/patient-links", response_model=list[LinkRead])
def list_episode_links(
    episode_id: str, db: DbSession, actor: CurrentActor, limit: Limit = 50, offset: Offset = 0
) -> list[LinkRead]:
    """The episode's links, newest first: questionnaires, progress and its visits' check-ins
    (never a token or URL)."""
    rows = patient_links.links_of_episode(
        session=db, actor=actor, episode_id=episode_id, limit=limit, offset=offset
    )
    return [LinkRead.listed(r) for r in rows]


@router.get("/patients/{patient_id}/patient-links", response_model=list[LinkRead])
def list_patient_links(
    patient_id: str, db: DbSession, actor: CurrentActor, limit: Limit = 50, offset: Offset = 0
) -> list[LinkRead]:
    """The patient's links of every purpose, newest first (never a token or URL)."""
    rows = patient_links.links_of_patient(
        session=db, actor=actor, patient_id=patient_id, limit=limit, offset=offset
    )
    return [LinkRead.listed(r) for r in rows]


@router.post("/visits/{visit_id}/checkin-links", response_model=LinkIssued, status_code=201)
def issue_checkin_link(
    request: Request,
    visit_id: str,
    db: DbSession,
    actor: CurrentActor,
    settings: SettingsDep,
    language: str | None = None,
) -> LinkIssued:
    """Issue a 48-hour check-in link for the visit's patient; ``language`` (en, es) is what
    the patient's pages and email open in (default: their browser's)."""
    token, link = patient_links.issue_checkin(
        session=db,
        actor=actor,
        visit_id=visit_id,
        hours=settings.checkin_link_hours,
        language=language or None,
    )
    return _issued(request, token, patient_links.listing(db, link))


@router.post("/patient-links/{link_id}/revoke", response_model=LinkRead)
def revoke_link(link_id: str, db: DbSession, actor: CurrentActor) -> LinkRead:
    """Close a link before it is used; it stays on file."""
    link = patient_links.revoke(session=db, actor=actor, link_id=link_id)
    return LinkRead.listed(patient_links.listing(db, link))


@router.get("/visits/{visit_id}/checkins", response_model=list[CheckinRead])
def list_checkins(visit_id: str, db: DbSession, actor: CurrentActor) -> list[CheckinRead]:
    """The check-ins the visit's patient sent, newest first."""
    rows = patient_links.checkins_for_visit(session=db, actor=actor, visit_id=visit_id)
    return [CheckinRead.of(r) for r in rows]


@router.post("/checkins/{checkin_id}/adverse-event", status_code=201)
def checkin_to_event(
    checkin_id: str, body: EventRequest, db: DbSession, actor: CurrentActor
) -> dict[str, uuid.UUID]:
    """Record the check-in's warning answers as an adverse event."""
    event = patient_links.to_adverse_event(
        session=db, actor=actor, checkin_id=checkin_id, severity=body.severity
    )
    return {"adverse_event_id": event.external_id}
