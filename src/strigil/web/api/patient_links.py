"""Patient links and check-ins in the JSON API: issue, revoke, list a visit's check-ins,
and turn a worrying check-in into an adverse event."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from strigil.services import patient_links
from strigil.web.deps import CurrentActor, DbSession, SettingsDep
from strigil.web.schemas import RecordRead, Schema

router = APIRouter(tags=["patient links"])


class LinkRead(RecordRead):
    purpose: str
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


class LinkIssued(LinkRead):
    url: str = Field(description="The patient's link; shown only now, only its digest is kept")


class CheckinRead(RecordRead):
    submitted_at: datetime
    needs_attention: bool
    answers: dict[str, Any]


class EventRequest(Schema):
    severity: str = Field(default="moderate", description="mild, moderate or severe")


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
    url = str(request.base_url).rstrip("/") + patient_links.link_path(token)
    return LinkIssued.of(link, url=url)


@router.post("/patient-links/{link_id}/revoke", response_model=LinkRead)
def revoke_link(link_id: str, db: DbSession, actor: CurrentActor) -> LinkRead:
    """Close a link before it is used; it stays on file."""
    link = patient_links.revoke(session=db, actor=actor, link_id=link_id)
    return LinkRead.of(link)


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
