"""Clinic administration: users, instruments and the audit trail (admins only).

Why a service of its own: the pages, the API and any future CLI must apply the same role
checks, validation and audit rows; the adapters only translate.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from strigil.core import catalog
from strigil.errors import Conflict, InvalidInput
from strigil.services import audit, clinics
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import check_version, get_owned
from strigil.store import audit as audit_store
from strigil.store import clinics as clinic_store
from strigil.store.audit import AuditEvent
from strigil.store.base import utcnow
from strigil.store.clinics import Instrument, User

AUDIT_PAGE_LIMIT = 500
AUDIT_EXPORT_LIMIT = 10_000
CSV_COLUMNS = (
    "at",
    "user",
    "action",
    "entity_type",
    "entity_id",
    "patient_id",
    "route",
    "client_ip",
)


# --- users ---------------------------------------------------------------------------------


def list_users(*, session: Session, actor: Actor) -> Sequence[User]:
    """The clinic's users, by name."""
    return clinics.list_users(session=session, actor=actor)


def add_user(
    *, session: Session, actor: Actor, email: str, display_name: str, role: str, password: str
) -> User:
    """Add a user to the admin's own clinic.

    The email check in ``clinics.add_user`` cannot see other clinics' users under row-level
    security, so the unique index is the final word; a clash there is a Conflict, not a 500.
    """
    require(actor, Permission.MANAGE_USERS)
    clinic = clinic_store.get_clinic(session, actor.clinic_id)
    try:
        with session.begin_nested():
            return clinics.add_user(
                session=session,
                clinic=clinic,
                email=email,
                display_name=display_name,
                role=role,
                password=password,
                actor=actor,
            )
    except IntegrityError:
        raise Conflict(
            f"a user with email {email.strip().lower()} already exists",
            field="email",
            code="email_taken",
        ) from None


# --- instruments ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InstrumentInput:
    label: str
    type_code: str
    family: str | None = None
    notes: str | None = None


def list_instruments(
    *, session: Session, actor: Actor, include_retired: bool = True
) -> Sequence[Instrument]:
    """The clinic's instruments; in-service first, then retired."""
    require(actor, Permission.MANAGE_INSTRUMENTS)
    return clinic_store.list_instruments(session, actor.clinic_id, include_retired=include_retired)


def _check_instrument(data: InstrumentInput) -> None:
    if not data.label.strip():
        raise InvalidInput("an instrument needs a label", field="label", code="required")
    if len(data.label.strip()) > 100:
        raise InvalidInput("label must be at most 100 characters", field="label", code="too_long")
    codes = {t.code for t in catalog.instrument_types()}
    if data.type_code not in codes:
        raise InvalidInput(
            f"type_code must be one of {', '.join(sorted(codes))}",
            field="type_code",
            code="unknown",
        )
    families = {f.code for f in catalog.instrument_families()}
    if data.family and data.family not in families:
        raise InvalidInput(
            f"family must be one of {', '.join(sorted(families))}", field="family", code="unknown"
        )


def add_instrument(*, session: Session, actor: Actor, data: InstrumentInput) -> Instrument:
    """Put a new instrument into service."""
    require(actor, Permission.MANAGE_INSTRUMENTS)
    _check_instrument(data)
    row = Instrument(
        clinic_id=actor.clinic_id,
        label=data.label.strip(),
        type_code=data.type_code,
        family=data.family or None,
        notes=(data.notes or "").strip() or None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="create",
        entity_type="instrument",
        entity_id=row.external_id,
    )
    return row


def retire_instrument(
    *, session: Session, actor: Actor, instrument_id: object, version: int | None = None
) -> Instrument:
    """Take an instrument out of service; it stays on record for the visits that used it."""
    require(actor, Permission.MANAGE_INSTRUMENTS)
    row = get_owned(session, Instrument, instrument_id, actor, field="instrument_id")
    check_version(row, version, ("label", "retired_at"))
    if row.retired_at is not None:
        raise Conflict("this instrument is already retired", code="already_retired")
    row.retired_at = utcnow()
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="retire",
        entity_type="instrument",
        entity_id=row.external_id,
    )
    return row


# --- audit trail ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters for the audit search; dates are whole UTC days, ``until`` inclusive."""

    patient_id: str | None = None
    action: str | None = None
    since: date | None = None
    until: date | None = None


def _check_query(query: AuditQuery) -> None:
    if query.since and query.until and query.until < query.since:
        raise InvalidInput("until must not be before since", field="until", code="date_order")
    if query.action and len(query.action) > 20:
        raise InvalidInput("action is at most 20 characters", field="action", code="too_long")
    if query.patient_id and len(query.patient_id) > 40:
        raise InvalidInput(
            "patient_id is at most 40 characters", field="patient_id", code="too_long"
        )


def search_audit(
    *, session: Session, actor: Actor, query: AuditQuery, limit: int = 200, offset: int = 0
) -> Sequence[AuditEvent]:
    """The clinic's audit rows matching ``query``, newest first; reading it is audited too."""
    require(actor, Permission.READ_AUDIT)
    _check_query(query)
    until = query.until + timedelta(days=1) if query.until else None
    rows = audit_store.list_events(
        session,
        actor.clinic_id,
        patient_id=query.patient_id.strip() if query.patient_id else None,
        action=query.action.strip() if query.action else None,
        since=datetime.combine(query.since, time(), UTC) if query.since else None,
        before=datetime.combine(until, time(), UTC) if until else None,
        limit=min(limit, AUDIT_EXPORT_LIMIT),
        offset=offset,
    )
    audit.record(
        session=session,
        actor=actor,
        action="read",
        entity_type="audit_log",
        detail={k: str(v) for k, v in _filters(query).items() if v},
    )
    return rows


def _filters(query: AuditQuery) -> dict[str, object]:
    return {name: getattr(query, name) for name in AuditQuery.__slots__}


def user_names(*, session: Session, actor: Actor) -> dict[int, str]:
    """User id → display name for the clinic, to label audit rows without a query per row."""
    require(actor, Permission.READ_AUDIT)
    return clinic_store.user_names(session, actor.clinic_id)


def audit_csv(rows: Iterable[AuditEvent], names: dict[int, str]) -> str:
    """The rows as CSV (RFC 4180). Cells that start like a formula are prefixed with a quote
    so a spreadsheet never executes them (CSV injection)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        who = names.get(row.user_id, "") if row.user_id is not None else "(system)"
        cells = (
            row.at.isoformat(),
            who,
            row.action,
            row.entity_type,
            row.entity_id,
            row.patient_id,
            row.route,
            row.client_ip,
        )
        writer.writerow([_safe_cell(c) for c in cells])
    return out.getvalue()


def _safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
