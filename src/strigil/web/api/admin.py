"""Clinic administration in the JSON API: users, instruments and the audit trail."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import Response
from pydantic import Field

from strigil.services import admin, auth
from strigil.services.audit import AuditEvent
from strigil.web import handler_thread
from strigil.web.api.sessions import TokenRead
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.schemas import Offset, RecordRead, Schema

router = handler_thread.router(prefix="/admin", tags=["admin"])


class UserRead(RecordRead):
    email: str
    display_name: str
    role: str
    active: bool


class UserCreate(Schema):
    email: str = Field(max_length=254)
    display_name: str = Field(max_length=200)
    role: str = Field(description="admin, therapist, assistant or researcher")
    password: str = Field(max_length=200, description="At least 12 characters, letter and digit")


class InstrumentRead(RecordRead):
    label: str
    type_code: str
    family: str | None
    notes: str | None
    retired_at: datetime | None
    version: int


class InstrumentCreate(Schema):
    label: str = Field(max_length=100)
    type_code: str
    family: str | None = None
    notes: str | None = Field(default=None, max_length=4000)


class Retire(Schema):
    version: int = Field(description="The version you read; a stale one answers 409")


class AuditRead(Schema):
    id: int
    at: datetime
    user: str | None
    action: str
    entity_type: str
    entity_id: str | None
    patient_id: str | None
    route: str | None
    client_ip: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, row: AuditEvent, names: dict[int, str]) -> AuditRead:
        fields = {k: getattr(row, k) for k in cls.model_fields if k != "user"}
        return cls(user=names.get(row.user_id) if row.user_id else None, **fields)


@router.get("/users", response_model=list[UserRead])
def list_users(db: DbSession, actor: CurrentActor) -> list[UserRead]:
    """The clinic's users (admins only)."""
    return [UserRead.of(u) for u in admin.list_users(session=db, actor=actor)]


@router.post("/users", response_model=UserRead, status_code=201)
def add_user(body: UserCreate, db: DbSession, actor: CurrentActor) -> UserRead:
    """Add a user to your clinic; the password must meet the policy."""
    row = admin.add_user(session=db, actor=actor, **body.model_dump())
    return UserRead.of(row)


@router.get("/tokens", response_model=list[TokenRead])
def list_tokens(db: DbSession, actor: CurrentActor) -> list[TokenRead]:
    """Every API token of the clinic's users (admins only); revoke one with
    ``DELETE /api/v1/auth/tokens/{id}``."""
    return [TokenRead.of(row) for row in auth.list_clinic_tokens(session=db, actor=actor)]


@router.get("/instruments", response_model=list[InstrumentRead])
def list_instruments(db: DbSession, actor: CurrentActor) -> list[InstrumentRead]:
    """The clinic's instruments, in service first."""
    return [InstrumentRead.of(r) for r in admin.list_instruments(session=db, actor=actor)]


@router.post("/instruments", response_model=InstrumentRead, status_code=201)
def add_instrument(body: InstrumentCreate, db: DbSession, actor: CurrentActor) -> InstrumentRead:
    """Put an instrument into service (type_code from the instrument catalog)."""
    row = admin.add_instrument(
        session=db, actor=actor, data=admin.InstrumentInput(**body.model_dump())
    )
    return InstrumentRead.of(row)


@router.post("/instruments/{instrument_id}/retire", response_model=InstrumentRead)
def retire_instrument(
    instrument_id: str, body: Retire, db: DbSession, actor: CurrentActor
) -> InstrumentRead:
    """Take an instrument out of service; it stays on record."""
    row = admin.retire_instrument(
        session=db, actor=actor, instrument_id=instrument_id, version=body.version
    )
    return InstrumentRead.of(row)


@router.get("/audit", response_model=list[AuditRead])
def search_audit(
    db: DbSession,
    actor: CurrentActor,
    patient_id: Annotated[str | None, Query(max_length=40)] = None,
    action: Annotated[str | None, Query(max_length=20)] = None,
    since: date | None = None,
    until: date | None = None,
    limit: Annotated[int, Query(ge=1, le=admin.AUDIT_PAGE_LIMIT)] = 100,
    offset: Offset = 0,
) -> list[AuditRead]:
    """Search the clinic's audit trail by patient id, action and date (UTC days)."""
    query = admin.AuditQuery(patient_id=patient_id, action=action, since=since, until=until)
    rows = admin.search_audit(session=db, actor=actor, query=query, limit=limit, offset=offset)
    names = admin.user_names(session=db, actor=actor)
    return [AuditRead.of(r, names) for r in rows]


@router.get("/audit.csv", response_class=Response)
def export_audit(
    db: DbSession,
    actor: CurrentActor,
    patient_id: Annotated[str | None, Query(max_length=40)] = None,
    action: Annotated[str | None, Query(max_length=20)] = None,
    since: date | None = None,
    until: date | None = None,
) -> Response:
    """The matching audit rows as CSV, newest first (at most the export limit)."""
    query = admin.AuditQuery(patient_id=patient_id, action=action, since=since, until=until)
    return csv_response(db, actor, query)


def csv_response(db: DbSession, actor: CurrentActor, query: admin.AuditQuery) -> Response:
    """Shared by the API and the admin page: a CSV download of the audit search."""
    rows = admin.search_audit(session=db, actor=actor, query=query, limit=admin.AUDIT_EXPORT_LIMIT)
    body = admin.audit_csv(rows, admin.user_names(session=db, actor=actor))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
