"""Undo before signing: entered-in-error with a reason, typed time, linking findings to areas.

Until the note is signed a mistake is corrected here and audited; nothing is deleted. A
mistaken discomfort reading that stopped an area is marked entered-in-error and the stop is
re-evaluated from the readings that remain. After signing only an addendum changes the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from strigil.core import catalog, protocol
from strigil.errors import InvalidInput, NotFound
from strigil.services import audit, charges
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import check_version, editable, get_owned, mark_entered_in_error
from strigil.store import visits as store
from strigil.store.visits import (
    BillingLine,
    DiscomfortReading,
    ExercisePrescription,
    RestrictionFinding,
    TreatedArea,
    Visit,
    VisitMeasurement,
)

# kind → (model, field naming its id, how to find the visit)
KINDS: dict[str, tuple[Any, str]] = {
    "reading": (DiscomfortReading, "reading_id"),
    "finding": (RestrictionFinding, "finding_id"),
    "area": (TreatedArea, "treated_area_id"),
    "exercise": (ExercisePrescription, "prescription_id"),
    "measurement": (VisitMeasurement, "measurement_id"),
    "billing_line": (BillingLine, "billing_line_id"),
}
_READING_STOPS = {protocol.StopReason.TOLERANCE_REACHED, protocol.StopReason.PATIENT_REQUEST}


def _visit_of(session: Session, row: Any) -> Visit:
    if isinstance(row, DiscomfortReading):
        row = store.get_area(session, row.clinic_id, row.treated_area_id)
    return store.get_visit(session, row.clinic_id, row.visit_id)


def mark_in_error(
    *,
    session: Session,
    actor: Actor,
    kind: str,
    record_id: object,
    reason: str,
    visit_id: object | None = None,
) -> Any:
    """Mark a row of an unsigned visit entered-in-error (audited, never deleted).

    Raises:
        InvalidInput: unknown kind or no reason.  NotFound: no such row.
        Conflict: the note is signed (add an addendum instead) or the row is already in error.
    """
    require(actor, Permission.RECORD_READINGS)
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", field="kind", code="kind")
    model, field = KINDS[kind]
    expected = get_owned(session, Visit, visit_id, actor, field="visit_id") if visit_id else None
    row = get_owned(session, model, record_id, actor, field=field)
    visit = _visit_of(session, row)
    if expected is not None and expected.id != visit.id:
        raise NotFound(f"no {kind} with that id in this visit", field=field, code="not_found")
    editable(visit)
    mark_entered_in_error(
        session,
        row,
        actor,
        reason=reason,
        entity_type=model.__tablename__,
        patient_id=visit.episode.patient.external_id,
    )
    if isinstance(row, DiscomfortReading):
        reevaluate_stop(
            session, store.get_area(session, actor.clinic_id, row.treated_area_id), visit
        )
    session.flush()
    return row


def reevaluate_stop(session: Session, area: TreatedArea, visit: Visit) -> None:
    """Re-run the stop rule over the area's valid readings; reopen it when none stops it."""
    if area.stop_reason not in {r.value for r in _READING_STOPS}:
        return  # stopped by skin response or by hand: a reading did not decide it
    rows: Sequence[DiscomfortReading] = store.list_readings_of_area(
        session, area.clinic_id, area.id
    )
    for reading in rows:
        reason = protocol.evaluate_discomfort(reading.value, visit.tolerance_limit)
        if reading.patient_asked_to_stop:
            reason = protocol.StopReason.PATIENT_REQUEST
        if reason is not None:
            area.stop_reason = reason.value
            area.stop_note = (
                f"discomfort {reading.value}/10 with limit {visit.tolerance_limit}/10"
                if reason is protocol.StopReason.TOLERANCE_REACHED
                else "patient asked"
            )
            return
    area.status, area.stop_reason, area.stop_note, area.stopped_at = "active", None, None, None


def parse_clock(value: str, field: str = "seconds") -> int:
    """'2:30' → 150 s; '90' → 90 s; anything else is a 422 naming the field."""
    text = value.strip()
    try:
        if ":" in text:
            minutes, seconds = text.split(":", 1)
            if not seconds.isdigit() or len(seconds) != 2 or int(seconds) > 59:
                raise ValueError
            return int(minutes) * 60 + int(seconds)
        return int(text)
    except ValueError:
        raise InvalidInput(
            "time must be minutes:seconds, such as 2:30", field=field, code="not_a_time"
        ) from None


def check_visit_time(session: Session, visit: Visit, area: TreatedArea, seconds: int) -> None:
    """Refuse a time on one area that would make the timed work longer than the visit."""
    areas = store.list_areas(session, visit.clinic_id, visit.id)
    others = [a for a in areas if a.id != area.id]
    lines = charges.lines_of(session, visit)
    charges.check_within_visit(visit, charges.timed_seconds(others, lines) + seconds, "seconds")


def correct_time(
    *, session: Session, actor: Actor, treated_area_id: object, seconds: int, version: int
) -> TreatedArea:
    """Set an area's time (typed or from the timer), stopped or not, until the note is signed.

    ``version`` is the area's version the correction was read at: a timer that synced since
    then changed the time the therapist was looking at.

    Raises:
        InvalidInput: out of 0–60 min, or more timed work than the visit lasted.
        Conflict: the note is signed, or the area changed since ``version``.
    """
    require(actor, Permission.TREAT)
    area = get_owned(session, TreatedArea, treated_area_id, actor, field="treated_area_id")
    visit = store.get_visit(session, actor.clinic_id, area.visit_id)
    editable(visit)
    check_version(area, version, ("seconds",))
    if isinstance(seconds, bool) or not 0 <= seconds <= 3600:
        raise InvalidInput(
            "time on an area must be from 0:00 to 60:00", field="seconds", code="out_of_range"
        )
    check_visit_time(session, visit, area, seconds)
    before, area.seconds = area.seconds, seconds
    area.warnings = sorted(
        set(area.warnings) | set(protocol.time_warnings(seconds, catalog.thresholds()))
    )
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="update",
        entity_type="treated_area",
        entity_id=area.external_id,
        patient_id=visit.episode.patient.external_id,
        detail={"seconds": [before, seconds]},
    )
    return area


def link_finding(
    *, session: Session, actor: Actor, finding_id: object, treated_area_id: object | None
) -> RestrictionFinding:
    """Attach a finding to the area of the same visit that treats it (or detach it)."""
    require(actor, Permission.RECORD_READINGS)
    finding = get_owned(session, RestrictionFinding, finding_id, actor, field="finding_id")
    visit = store.get_visit(session, actor.clinic_id, finding.visit_id)
    editable(visit)
    area_id = None
    if treated_area_id:
        area = get_owned(session, TreatedArea, treated_area_id, actor, field="treated_area_id")
        if area.visit_id != visit.id:
            raise InvalidInput(
                "the area belongs to another visit", field="treated_area_id", code="other_visit"
            )
        area_id = area.id
    finding.treated_area_id = area_id
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="update",
        entity_type="restriction_finding",
        entity_id=finding.external_id,
        patient_id=visit.episode.patient.external_id,
    )
    return finding


def set_times(
    *,
    session: Session,
    actor: Actor,
    visit_id: object,
    started_at: datetime,
    ended_at: datetime | None,
    version: int,
) -> Visit:
    """Record when the visit started and ended; the timed work must fit inside it.

    Raises:
        InvalidInput: a time without its offset or out of range, or the end before the start.
        Conflict: the note is signed, or the visit changed since ``version`` was read.
    """
    require(actor, Permission.TREAT)
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    editable(visit)
    check_version(visit, version, ("started_at", "ended_at"))
    for name, value in (("started_at", started_at), ("ended_at", ended_at)):
        if value is not None and (value.tzinfo is None or not 2000 <= value.year <= 2100):
            raise InvalidInput(
                f"{name} must be a date and time with its UTC offset, between 2000 and 2100",
                field=name,
                code="invalid_time",
            )
    if ended_at is not None and ended_at <= started_at:
        raise InvalidInput(
            "the visit must end after it starts", field="ended_at", code="end_before_start"
        )
    visit.started_at, visit.ended_at = started_at, ended_at
    areas = store.list_areas(session, visit.clinic_id, visit.id)
    total = charges.timed_seconds(areas, charges.lines_of(session, visit))
    charges.check_within_visit(visit, total, "ended_at")
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="update",
        entity_type="visit",
        entity_id=visit.external_id,
        patient_id=visit.episode.patient.external_id,
        detail={"times": True},
    )
    return visit
