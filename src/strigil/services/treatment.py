"""Treating an area: dose, discomfort and the stop rule, findings, skin response, after-care.

The stop rule is enforced here, not in the page: a discomfort reading at the agreed limit,
or the patient asking to stop, stops the area at once, and petechiae end it for the visit.
Nothing more can be recorded for a stopped area, and a site and side stopped for discomfort,
the patient's request, an adverse sign or a skin response stay closed for the rest of the
visit (``core.safety``). Every new area is checked against today's re-check, the blocked
regions and sides, and the dose caps of the precautions that apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from strigil.core import catalog, protocol, safety
from strigil.core.protocol import StopReason
from strigil.errors import Conflict, InvalidInput
from strigil.services import audit, consents, corrections, screenings
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import check_version, editable, get_owned
from strigil.store import visits as store
from strigil.store.base import utcnow
from strigil.store.visits import (
    DiscomfortReading,
    ExercisePrescription,
    RestrictionFinding,
    SkinResponse,
    TreatedArea,
    Visit,
)

SIDES = safety.SIDES
TEXTURES = ("gravelly", "crumbly", "craggy", "other")
VIEWS = ("front", "back")


@dataclass(frozen=True, slots=True)
class AreaInput:
    body_site: str
    side: str
    instrument_type: str
    intensity: str
    strokes: Sequence[str] = ()
    angle_deg: int | None = None
    seconds: int = 0
    confirm_other_side: bool = False
    planned_seconds: int | None = None  # a target from the last visit or a template


@dataclass(frozen=True, slots=True)
class ReadingResult:
    reading: DiscomfortReading
    area: TreatedArea
    stopped: bool
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class FindingInput:
    chart_view: str
    x: float
    y: float
    body_site: str
    texture: str
    severity: int
    treated_area_id: object | None = None
    side: str | None = None


@dataclass(frozen=True, slots=True)
class Prescription:
    exercise_code: str
    sets: int
    repetitions: int | None = None
    hold_seconds: int | None = None
    frequency: str = "daily"
    notes: str | None = None


def add_area(
    *,
    session: Session,
    actor: Actor,
    visit_id: object,
    data: AreaInput,
    thresholds: catalog.Thresholds | None = None,
) -> TreatedArea:
    """Start treating a body site, after every safety check.

    Raises:
        InvalidInput: unknown site/instrument/stroke, a side the site does not have, today's
            re-check unanswered (``recheck_required``), a blocked region or side
            (``region_blocked``), a site closed earlier in the visit (``site_closed``), a dose
            above a precaution's cap (``dose_above_cap``), the other side unconfirmed, no
            consent, vigorous as the first treating entry, bad angle.
        Conflict: the note is signed.
    """
    require(actor, Permission.TREAT)
    limits = thresholds or catalog.thresholds()
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    editable(visit)
    site = catalog.body_site(data.body_site)
    side = safety.check_side(site, data.side)
    _check_area_input(data)
    result = screenings.check_region(session, visit.episode, visit, site.region, side)
    safety.check_site_open(closed_sites(session, visit), site, side)
    planned = max(data.seconds, data.planned_seconds or 0)  # a plan above a cap is refused too
    safety.check_dose(result.caps, protocol.parse_intensity(data.intensity).value, planned)
    consents.require_consent(session, visit.episode)
    first = not _has_areas(session, visit)
    intensity = protocol.check_first_intensity(data.intensity, first)
    other = safety.check_other_side(visit.episode.side, side, confirmed=data.confirm_other_side)
    warnings = _area_warnings(session, visit, data, limits) + ([other] if other else [])
    area = TreatedArea(
        clinic_id=actor.clinic_id,
        visit_id=visit.id,
        body_site=site.code,
        body_region=site.region,
        side=data.side,
        instrument_type=data.instrument_type,
        strokes=list(data.strokes),
        angle_deg=data.angle_deg,
        intensity=intensity.value,
        seconds=data.seconds,
        planned_seconds=data.planned_seconds,
        warnings=warnings,
        other_side_confirmed=other is not None,
    )
    session.add(area)
    session.flush()
    _audit(session, actor, visit, "create", "treated_area", area.external_id)
    return area


def closed_sites(session: Session, visit: Visit) -> list[tuple[str, str, str]]:
    """(site, side, why) of every area of the visit whose ending closed its site and side."""
    rows = store.list_area_endings(session, visit.clinic_id, visit.id)
    return [
        (site, side, reason if reason in safety.CLOSING_REASONS else f"skin response: {grade}")
        for site, side, reason, grade in rows
        if safety.closes_site(reason, grade)
    ]


def _check_area_input(data: AreaInput) -> None:
    catalog.instrument_type(data.instrument_type)
    for code in data.strokes:
        catalog.stroke(code)
    for name in ("seconds", "planned_seconds"):
        value = getattr(data, name)
        if value is not None and (isinstance(value, bool) or not 0 <= value <= 3600):
            raise InvalidInput(f"{name} must be from 0 to 3600", field=name, code="out_of_range")


def _has_areas(session: Session, visit: Visit) -> bool:
    return store.count_areas(session, visit.clinic_id, visit.id) > 0


def _area_warnings(
    session: Session, visit: Visit, data: AreaInput, limits: catalog.Thresholds
) -> list[str]:
    warnings = protocol.time_warnings(data.seconds, limits) if data.seconds else []
    if data.angle_deg is not None:
        stroke = data.strokes[0] if data.strokes else None
        warnings += protocol.angle_warnings(data.angle_deg, limits, stroke)
    last, bruised = _history(session, visit, data.body_site, data.side)
    warnings += protocol.retreatment_warnings(last, utcnow(), bruised, limits)
    return warnings


def _history(session: Session, visit: Visit, site: str, side: str) -> tuple[datetime | None, bool]:
    """When this site and side were last treated (this visit included: a second start in the
    same visit is a re-treatment too), and whether a bruise there is unresolved."""
    sides = _overlapping(side)
    last = store.last_treated_at(session, visit.clinic_id, visit.patient_id, site, sides)
    bruised = store.has_unresolved_bruise(session, visit.clinic_id, visit.patient_id, site, sides)
    return last, bruised


def _overlapping(side: str) -> tuple[str, ...]:
    return ("left", "right", "bilateral") if side == "bilateral" else (side, "bilateral")


def _area(session: Session, actor: Actor, area_id: object) -> tuple[TreatedArea, Visit]:
    area = get_owned(session, TreatedArea, area_id, actor, field="treated_area_id")
    visit = store.get_visit(session, actor.clinic_id, area.visit_id)
    editable(visit)
    return area, visit


def _active(area: TreatedArea) -> None:
    if area.status != "active":
        reason = (area.stop_reason or "stopped").replace("_", " ")
        raise Conflict(
            f"treatment of this area was stopped ({reason}); nothing more can be "
            "recorded for it in this visit",
            code="area_stopped",
        )


def record_reading(
    *,
    session: Session,
    actor: Actor,
    treated_area_id: object,
    value: int,
    patient_asked_to_stop: bool = False,
    thresholds: catalog.Thresholds | None = None,
) -> ReadingResult:
    """Record discomfort 0–10; at the tolerance limit or on request the area stops at once."""
    require(actor, Permission.RECORD_READINGS)
    area, visit = _area(session, actor, treated_area_id)
    _active(area)
    reason = protocol.evaluate_discomfort(value, visit.tolerance_limit)
    if patient_asked_to_stop:
        reason = StopReason.PATIENT_REQUEST
    reading = DiscomfortReading(
        clinic_id=actor.clinic_id,
        treated_area_id=area.id,
        recorded_by_id=actor.user_id,
        value=value,
        patient_asked_to_stop=patient_asked_to_stop,
    )
    session.add(reading)
    warning = protocol.discomfort_warning(
        value, visit.tolerance_limit, thresholds or catalog.thresholds()
    )
    if reason is not None:
        note = f"discomfort {value}/10 with limit {visit.tolerance_limit}/10"
        _stop(area, reason, note if reason is StopReason.TOLERANCE_REACHED else "patient asked")
    session.flush()
    _audit(session, actor, visit, "create", "discomfort_reading", reading.external_id)
    return ReadingResult(reading=reading, area=area, stopped=reason is not None, warning=warning)


def _stop(area: TreatedArea, reason: StopReason, note: str | None) -> None:
    area.status, area.stop_reason, area.stop_note = "stopped", reason.value, note
    area.stopped_at = utcnow()


def stop_area(
    *,
    session: Session,
    actor: Actor,
    treated_area_id: object,
    reason: str | None,
    note: str | None = None,
) -> TreatedArea:
    """Stop an area, recording why (``other`` needs a note)."""
    require(actor, Permission.RECORD_READINGS)
    area, visit = _area(session, actor, treated_area_id)
    _active(area)
    _stop(area, protocol.require_stop_reason(reason, note), (note or "").strip() or None)
    session.flush()
    _audit(session, actor, visit, "update", "treated_area", area.external_id)
    return area


def update_dose(
    *,
    session: Session,
    actor: Actor,
    treated_area_id: object,
    seconds: int,
    intensity: str | None,
    version: int | None,
    thresholds: catalog.Thresholds | None = None,
) -> TreatedArea:
    """Update time and intensity of an active area (the timer posts here)."""
    require(actor, Permission.TREAT)
    area, visit = _area(session, actor, treated_area_id)
    _active(area)
    check_version(area, version, ("seconds", "intensity"))
    if isinstance(seconds, bool) or not 0 <= seconds <= 3600:
        raise InvalidInput("seconds must be from 0 to 3600", field="seconds", code="out_of_range")
    if visit.ended_at is not None:  # the whole-visit time rule lives with the corrections
        corrections.check_visit_time(session, visit, area, seconds)
    caps = screenings.effective_result(session, visit.episode, visit).caps
    level = protocol.parse_intensity(intensity).value if intensity is not None else None
    safety.check_dose(caps, level, seconds)
    if level is not None:
        area.intensity = level
    area.seconds = seconds
    area.warnings = sorted(
        set(area.warnings)
        | set(protocol.time_warnings(seconds, thresholds or catalog.thresholds()))
    )
    session.flush()
    _audit(session, actor, visit, "update", "treated_area", area.external_id)
    return area


def add_finding(
    *, session: Session, actor: Actor, visit_id: object, data: FindingInput
) -> RestrictionFinding:
    """Place a restriction felt under the tool on the body chart."""
    require(actor, Permission.RECORD_READINGS)
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    editable(visit)
    _check_finding(data)
    area = None
    if data.treated_area_id is not None:
        area = get_owned(session, TreatedArea, data.treated_area_id, actor, field="treated_area_id")
    row = RestrictionFinding(
        clinic_id=actor.clinic_id,
        visit_id=visit.id,
        treated_area_id=area.id if area else None,
        side=data.side or (area.side if area else None),
        recorded_by_id=actor.user_id,
        chart_view=data.chart_view,
        x=data.x,
        y=data.y,
        body_site=catalog.body_site(data.body_site).code,
        texture=data.texture,
        severity=data.severity,
    )
    session.add(row)
    session.flush()
    _audit(session, actor, visit, "create", "restriction_finding", row.external_id)
    return row


def _check_finding(data: FindingInput) -> None:
    if data.chart_view not in VIEWS:
        raise InvalidInput("chart view must be front or back", field="chart_view", code="view")
    for name in ("x", "y"):
        if not 0.0 <= getattr(data, name) <= 1.0:
            raise InvalidInput(f"{name} must be from 0 to 1", field=name, code="out_of_range")
    if data.texture not in TEXTURES:
        raise InvalidInput(
            f"texture must be one of {', '.join(TEXTURES)}", field="texture", code="texture"
        )
    if data.side is not None and data.side not in SIDES:
        raise InvalidInput(f"side must be one of {', '.join(SIDES)}", field="side", code="side")
    if isinstance(data.severity, bool) or data.severity not in (1, 2, 3):
        raise InvalidInput("severity must be 1, 2 or 3", field="severity", code="out_of_range")


def grade_skin(
    *, session: Session, actor: Actor, treated_area_id: object, grade: str, notes: str | None = None
) -> SkinResponse:
    """Grade the skin response; petechiae or bruising end the area for this visit."""
    require(actor, Permission.RECORD_READINGS)
    area, visit = _area(session, actor, treated_area_id)
    parsed = protocol.parse_skin_grade(grade)
    row = SkinResponse(
        clinic_id=actor.clinic_id,
        treated_area_id=area.id,
        recorded_by_id=actor.user_id,
        grade=parsed.value,
        notes=notes,
    )
    session.add(row)
    if protocol.ends_area(parsed) and area.status == "active":
        _stop(area, protocol.skin_stop_reason(parsed), f"skin response: {parsed.value}")
    session.flush()
    _audit(session, actor, visit, "create", "skin_response", row.external_id)
    return row


def resolve_bruise(*, session: Session, actor: Actor, skin_response_id: object) -> SkinResponse:
    """Record that bruising over an area has resolved (re-treatment no longer warned)."""
    require(actor, Permission.RECORD_READINGS)
    row = get_owned(session, SkinResponse, skin_response_id, actor, field="skin_response_id")
    if row.resolved_at is not None:
        raise Conflict("already resolved", code="already_resolved")
    row.resolved_at = utcnow()
    session.flush()
    return row


def prescribe(
    *, session: Session, actor: Actor, visit_id: object, data: Prescription
) -> ExercisePrescription:
    """Prescribe an exercise from the library with its dose."""
    require(actor, Permission.TREAT)
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    editable(visit)
    exercise = catalog.exercise(data.exercise_code)
    _check_dose(data)
    row = ExercisePrescription(
        clinic_id=actor.clinic_id,
        visit_id=visit.id,
        exercise_code=exercise.code,
        sets=data.sets,
        repetitions=data.repetitions,
        hold_seconds=data.hold_seconds,
        frequency=data.frequency.strip() or "daily",
        notes=data.notes,
    )
    session.add(row)
    session.flush()
    _audit(session, actor, visit, "create", "exercise_prescription", row.external_id)
    return row


def _check_dose(data: Prescription) -> None:
    for name, low, high in (("sets", 1, 10), ("repetitions", 1, 100), ("hold_seconds", 1, 600)):
        value = getattr(data, name)
        if value is not None and (isinstance(value, bool) or not low <= value <= high):
            raise InvalidInput(
                f"{name} must be from {low} to {high}", field=name, code="out_of_range"
            )
    if data.repetitions is None and data.hold_seconds is None:
        raise InvalidInput("give repetitions or a hold time", field="repetitions", code="required")


def areas(session: Session, visit: Visit) -> Sequence[TreatedArea]:
    """The visit's treated areas, in the order started."""
    return store.list_areas(session, visit.clinic_id, visit.id)


def readings(
    session: Session, visit: Visit, area_ids: Sequence[int]
) -> dict[int, list[DiscomfortReading]]:
    """Readings of several of the visit's areas in one query."""
    return store.list_readings(session, visit.clinic_id, area_ids)


def skin(session: Session, visit: Visit, area_ids: Sequence[int]) -> dict[int, SkinResponse]:
    """The latest skin response of each of several of the visit's areas."""
    return store.list_skin_responses(session, visit.clinic_id, area_ids)


def findings(session: Session, visit: Visit) -> Sequence[RestrictionFinding]:
    """The visit's restriction findings, in the order placed."""
    return store.list_findings(session, visit.clinic_id, visit.id)


def previous_findings(session: Session, visit: Visit) -> Sequence[RestrictionFinding]:
    """Findings of the episode's previous visit, shown faded on the body chart (one query)."""
    return store.list_previous_findings(session, visit.clinic_id, visit.episode_id, visit.number)


def prescriptions(session: Session, visit: Visit) -> Sequence[ExercisePrescription]:
    """The visit's exercise prescriptions, in the order prescribed."""
    return store.list_prescriptions(session, visit.clinic_id, visit.id)


def _audit(
    session: Session, actor: Actor, visit: Visit, action: str, entity: str, entity_id: object
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action=action,
        entity_type=entity,
        entity_id=entity_id,
        patient_id=visit.episode.patient.external_id,
        detail={"visit": str(visit.external_id)},
    )
