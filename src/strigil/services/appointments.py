"""The day book: book (once or weekly), move, cancel, mark arrived or no-show, and start the
visit from an appointment.

Why here: the booking rules (a recurring series must end; a therapist is never double-booked)
and the role check hold for every adapter. Every check runs before anything is added, so a
refused booking writes nothing, not even the first occurrence of a series.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from strigil.errors import Conflict, InvalidInput, NotFound
from strigil.services import audit, visits
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import check_version, get_owned, parse_id
from strigil.store import appointments as store
from strigil.store import clinics as clinic_store
from strigil.store import patients as patient_store
from strigil.store.appointments import Appointment as Appointment
from strigil.store.appointments import AppointmentLine as AppointmentLine
from strigil.store.base import utcnow
from strigil.store.clinics import User
from strigil.store.episodes import Episode
from strigil.store.patients import Patient
from strigil.store.visits import Visit

STATUSES = store.APPOINTMENT_STATUSES
MAX_MINUTES = 8 * 60
MAX_OCCURRENCES = 104
MAX_SERIES_DAYS = 2 * 366
FIRST_YEAR, LAST_YEAR = 2000, 2100
# Which status may follow which; a started visit fixes the appointment as arrived.
TRANSITIONS: dict[str, frozenset[str]] = {
    "booked": frozenset({"arrived", "no_show", "cancelled"}),
    "arrived": frozenset({"booked", "cancelled"}),
    "no_show": frozenset({"booked"}),
    "cancelled": frozenset(),
}
EDITABLE = ("starts_at", "ends_at", "note", "status")


@dataclass(frozen=True, slots=True)
class Repeat:
    """Weekly repetition; it must end, on a date (inclusive) or after a number of times."""

    every_weeks: int = 1
    until: date | None = None
    count: int | None = None


@dataclass(frozen=True, slots=True)
class AppointmentInput:
    patient_id: object
    therapist_id: object
    starts_at: datetime
    minutes: int = 45
    note: str = ""
    episode_id: object | None = None
    repeat: Repeat | None = None


def occurrences(starts_at: datetime, repeat: Repeat | None) -> list[datetime]:
    """The start of every appointment a booking makes (one without ``repeat``).

    Raises:
        InvalidInput: a series without an end, with both ends, or too long.
    """
    if repeat is None:
        return [starts_at]
    if repeat.until is None and repeat.count is None:
        raise InvalidInput(
            "a recurring series must end: give an end date (until) or a number of "
            "appointments (count)",
            field="repeat",
            code="series_without_end",
        )
    if repeat.until is not None and repeat.count is not None:
        raise InvalidInput(
            "give either an end date (until) or a count, not both",
            field="repeat",
            code="series_two_ends",
        )
    if isinstance(repeat.every_weeks, bool) or not 1 <= repeat.every_weeks <= 12:
        raise InvalidInput(
            "every_weeks must be a whole number from 1 to 12", field="every_weeks", code="range"
        )
    step = timedelta(weeks=repeat.every_weeks)
    if repeat.count is not None:
        if isinstance(repeat.count, bool) or not 1 <= repeat.count <= MAX_OCCURRENCES:
            raise InvalidInput(
                f"count must be from 1 to {MAX_OCCURRENCES}", field="count", code="range"
            )
        return [starts_at + i * step for i in range(repeat.count)]
    assert repeat.until is not None
    if repeat.until < starts_at.date():
        raise InvalidInput(
            "the series must end on or after its first appointment",
            field="until",
            code="until_before_start",
        )
    if (repeat.until - starts_at.date()).days > MAX_SERIES_DAYS:
        raise InvalidInput("a series may run at most two years", field="until", code="range")
    out: list[datetime] = []
    moment = starts_at
    while moment.date() <= repeat.until:
        out.append(moment)
        moment += step
    return out


def _validate(data: AppointmentInput) -> None:
    if data.starts_at.tzinfo is None:
        raise InvalidInput(
            "the start must carry a time zone (e.g. 2026-12-03T09:00:00+00:00)",
            field="starts_at",
            code="naive_datetime",
        )
    _in_range(data.starts_at.date(), "starts_at")
    if isinstance(data.minutes, bool) or not 5 <= data.minutes <= MAX_MINUTES:
        raise InvalidInput(
            f"minutes must be a whole number from 5 to {MAX_MINUTES}",
            field="minutes",
            code="range",
        )
    if len(data.note) > 2000:
        raise InvalidInput("note must be at most 2000 characters", field="note", code="too_long")


def _in_range(day: date, field: str) -> None:
    """The day book spans 2000 to 2100: outside it a date is a typo (and date arithmetic near
    the calendar's ends would fail)."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidInput(
            f"{field} must be between {FIRST_YEAR} and {LAST_YEAR}",
            field=field,
            code="out_of_range",
        )


def _therapist(session: Session, actor: Actor, therapist_id: object) -> User:
    key = parse_id(therapist_id, field="therapist_id")
    user = clinic_store.find_user(session, actor.clinic_id, key)
    if user is None or not user.active:
        raise NotFound(
            f"no therapist with id {key}", field="therapist_id", code="therapist_not_found"
        )
    if user.role != "therapist":
        raise InvalidInput(
            "appointments are booked with a therapist", field="therapist_id", code="not_therapist"
        )
    return user


def _episode(session: Session, actor: Actor, patient: Patient, episode_id: object) -> Episode:
    episode = get_owned(session, Episode, episode_id, actor, field="episode_id")
    if episode.patient_id != patient.id:
        raise InvalidInput(
            "the episode belongs to another patient", field="episode_id", code="episode_mismatch"
        )
    return episode


def _refuse_overlap(
    session: Session,
    actor: Actor,
    therapist: User,
    starts_at: datetime,
    ends_at: datetime,
    exclude_id: int | None = None,
) -> None:
    clash = store.find_overlap(
        session, actor.clinic_id, therapist.id, starts_at, ends_at, exclude_id=exclude_id
    )
    if clash is None:
        return
    raise Conflict(
        f"{therapist.display_name} already has an appointment from "
        f"{clash.starts_at:%Y-%m-%d %H:%M} to {clash.ends_at:%H:%M} UTC that overlaps "
        f"{starts_at:%Y-%m-%d %H:%M}–{ends_at:%H:%M} UTC; nothing was booked",
        code="appointment_overlap",
        field="starts_at",
        extra={
            "conflict": {
                "appointment_id": str(clash.external_id),
                "starts_at": clash.starts_at.isoformat(),
                "ends_at": clash.ends_at.isoformat(),
            }
        },
    )


def book(*, session: Session, actor: Actor, data: AppointmentInput) -> list[Appointment]:
    """Book one appointment, or a weekly series that ends; all of it or none of it.

    Raises:
        NotPermitted: the role may not book.  InvalidInput: a field breaks a rule (a series
        without an end among them).  Conflict: an occurrence overlaps another appointment of
        the therapist (the first clash is named).
    """
    require(actor, Permission.BOOK)
    _validate(data)
    # a weekly series keeps its local time across daylight-saving changes
    local = data.starts_at.astimezone(clinic_zone(session=session, actor=actor))
    starts = occurrences(local, data.repeat)
    patient = get_owned(session, Patient, data.patient_id, actor, field="patient_id")
    therapist = _therapist(session, actor, data.therapist_id)
    episode = (
        _episode(session, actor, patient, data.episode_id) if data.episode_id is not None else None
    )
    length = timedelta(minutes=data.minutes)
    store.lock_therapist(session, therapist.id)
    for moment in starts:
        _refuse_overlap(session, actor, therapist, moment, moment + length)
    series_id = uuid.uuid4() if len(starts) > 1 else None
    rows = [
        Appointment(
            clinic_id=actor.clinic_id,
            patient_id=patient.id,
            therapist_id=therapist.id,
            episode_id=episode.id if episode else None,
            starts_at=moment,
            ends_at=moment + length,
            status="booked",
            series_id=series_id,
            note=data.note.strip(),
            created_by_id=actor.user_id,
        )
        for moment in starts
    ]
    session.add_all(rows)
    session.flush()
    for row in rows:
        _audit(session, actor, row, patient, "create", {"series_id": str(series_id or "")})
    return rows


def _audit(
    session: Session,
    actor: Actor,
    row: Appointment,
    patient: Patient,
    action: str,
    detail: dict[str, str] | None = None,
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action=action,
        entity_type="appointment",
        entity_id=row.external_id,
        patient_id=patient.external_id,
        detail=detail,
    )


def _owned(session: Session, actor: Actor, appointment_id: object) -> Appointment:
    return get_owned(session, Appointment, appointment_id, actor, field="appointment_id")


def _patient_of(session: Session, row: Appointment) -> Patient:
    patient = patient_store.find_patient(session, row.clinic_id, row.patient_id)
    assert patient is not None  # a foreign key within the clinic
    return patient


def get(*, session: Session, actor: Actor, appointment_id: object) -> AppointmentLine:
    """One appointment of the actor's clinic (an audited read)."""
    require(actor, Permission.READ_CLINICAL)
    row = _owned(session, actor, appointment_id)
    _audit(session, actor, row, _patient_of(session, row), "read")
    return _line_of(session, actor, row)


def _line_of(session: Session, actor: Actor, row: Appointment) -> AppointmentLine:
    lines = store.list_lines(
        session,
        actor.clinic_id,
        since=row.starts_at,
        before=row.starts_at + timedelta(seconds=1),
        therapist_id=row.therapist_id,
    )
    for line in lines:
        if line.appointment_id == row.external_id:
            return line
    raise NotFound("no such appointment", field="appointment_id", code="appointment_not_found")


def reschedule(
    *,
    session: Session,
    actor: Actor,
    appointment_id: object,
    starts_at: datetime,
    minutes: int,
    note: str,
    version: int | None,
    therapist_id: object | None = None,
) -> Appointment:
    """Move a booked appointment (or change its length, note or therapist)."""
    require(actor, Permission.BOOK)
    row = _owned(session, actor, appointment_id)
    check_version(row, version, EDITABLE)
    if row.status != "booked":
        raise Conflict(
            f"only a booked appointment can be moved; this one is {row.status}",
            code="appointment_not_booked",
            field="status",
        )
    patient = _patient_of(session, row)
    _validate(AppointmentInput(patient.external_id, "", starts_at, minutes, note))
    therapist = (
        _therapist(session, actor, therapist_id)
        if therapist_id is not None
        else clinic_store.get_user(session, actor.clinic_id, row.therapist_id)
    )
    ends_at = starts_at + timedelta(minutes=minutes)
    store.lock_therapist(session, therapist.id)
    _refuse_overlap(session, actor, therapist, starts_at, ends_at, exclude_id=row.id)
    row.therapist_id, row.starts_at, row.ends_at = therapist.id, starts_at, ends_at
    row.note = note.strip()
    session.flush()
    _audit(session, actor, row, patient, "update")
    return row


def set_status(
    *, session: Session, actor: Actor, appointment_id: object, status: str, version: int | None
) -> Appointment:
    """Mark an appointment arrived, no-show or cancelled (or back to booked).

    Raises:
        InvalidInput: an unknown status.  Conflict: the change is not allowed from the current
        status, or a visit was started from it.
    """
    require(actor, Permission.BOOK)
    if status not in STATUSES:
        raise InvalidInput(
            f"status must be one of {', '.join(STATUSES)}", field="status", code="unknown_status"
        )
    row = _owned(session, actor, appointment_id)
    check_version(row, version, EDITABLE)
    if row.visit_id is not None:
        raise Conflict(
            "a visit was started from this appointment; its status stays arrived",
            code="appointment_has_visit",
            field="status",
        )
    if status not in TRANSITIONS[row.status]:
        raise Conflict(
            f"an appointment that is {row.status} cannot become {status}",
            code="status_transition",
            field="status",
        )
    if status == "booked":
        therapist = clinic_store.get_user(session, actor.clinic_id, row.therapist_id)
        store.lock_therapist(session, therapist.id)
        _refuse_overlap(session, actor, therapist, row.starts_at, row.ends_at, exclude_id=row.id)
    before, row.status = row.status, status
    session.flush()
    _audit(session, actor, row, _patient_of(session, row), "update", {"from": before, "to": status})
    return row


def episode_for(*, session: Session, actor: Actor, appointment_id: object) -> AppointmentLine:
    """The appointment, with the episode a visit would open in filled in when the patient has
    exactly one active episode (so the start-visit link can go straight to it)."""
    line = get(session=session, actor=actor, appointment_id=appointment_id)
    if line.episode_id is not None or line.visit_id is not None:
        return line
    row = _owned(session, actor, appointment_id)
    active = store.list_active_episodes(session, actor.clinic_id, row.patient_id)
    if len(active) == 1:
        return replace(line, episode_id=active[0].external_id)
    return line


def start_visit(
    *,
    session: Session,
    actor: Actor,
    appointment_id: object,
    data: visits.VisitStart,
    episode_id: object | None = None,
) -> Visit:
    """Start the visit through the visit services, link it and mark the appointment arrived.

    The episode is the one given, else the appointment's, else the patient's only active one.

    Raises:
        Conflict: the appointment is cancelled, a no-show, or already has a visit.
        InvalidInput: no episode can be chosen, or the visit's own rules refuse the start.
    """
    require(actor, Permission.TREAT)
    row = _owned(session, actor, appointment_id)
    if row.visit_id is not None:
        raise Conflict(
            "a visit was already started from this appointment",
            code="appointment_has_visit",
            field="appointment_id",
        )
    if row.status not in ("booked", "arrived"):
        raise Conflict(
            f"an appointment that is {row.status} cannot start a visit",
            code="status_transition",
            field="status",
        )
    patient = _patient_of(session, row)
    episode = _visit_episode(session, actor, row, patient, episode_id)
    visit = visits.start(session=session, actor=actor, episode_id=episode.external_id, data=data)
    row.visit_id, row.status = visit.id, "arrived"
    row.episode_id = row.episode_id or episode.id
    session.flush()
    _audit(session, actor, row, patient, "update", {"visit_id": str(visit.external_id)})
    return visit


def _visit_episode(
    session: Session, actor: Actor, row: Appointment, patient: Patient, episode_id: object | None
) -> Episode:
    if episode_id is not None:
        return _episode(session, actor, patient, episode_id)
    active = store.list_active_episodes(session, actor.clinic_id, patient.id)
    booked_for = [e for e in active if e.id == row.episode_id]
    if booked_for:
        return booked_for[0]
    if len(active) != 1:
        raise InvalidInput(
            "choose the episode of care the visit belongs to (the patient has "
            f"{len(active)} active episodes)",
            field="episode_id",
            code="episode_required",
        )
    return active[0]


def therapist(*, session: Session, actor: Actor, therapist_id: object) -> User:
    """A therapist of the actor's clinic whose day book can be shown or booked, or NotFound."""
    require(actor, Permission.READ_CLINICAL)
    return _therapist(session, actor, therapist_id)


def patient_by_record_number(*, session: Session, actor: Actor, record_number: str) -> uuid.UUID:
    """The public id of the clinic's patient with this record number (how the booking form
    and the calendar import name a patient)."""
    require(actor, Permission.READ_CLINICAL)
    number = record_number.strip()
    if not number:
        raise InvalidInput(
            "the patient's record number is required", field="patient", code="required"
        )
    found = store.find_patients_by_record_numbers(session, actor.clinic_id, [number])
    if number not in found:
        raise InvalidInput(
            f"no patient with record number {number}", field="patient", code="patient_not_found"
        )
    return found[number].external_id


def therapists(*, session: Session, actor: Actor) -> Sequence[User]:
    """The clinic's therapists whose day book can be shown or booked."""
    require(actor, Permission.READ_CLINICAL)
    return store.list_therapists(session, actor.clinic_id)


def clinic_zone(*, session: Session, actor: Actor) -> ZoneInfo:
    """The clinic's time zone: its days and the times typed into the day book are local."""
    name = clinic_store.get_clinic(session, actor.clinic_id).timezone or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def day_start(day: date, zone: tzinfo = UTC) -> datetime:
    """The instant (in UTC) the clinic's ``day`` begins; days are the clinic's own, so a
    late-evening appointment in New York is on its own day, not the next UTC day."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def local_today(zone: tzinfo, now: datetime | None = None) -> date:
    """Today's date where the clinic is."""
    return (now or utcnow()).astimezone(zone).date()


def schedule(
    *,
    session: Session,
    actor: Actor,
    since: date,
    days: int = 1,
    therapist_id: object | None = None,
) -> list[AppointmentLine]:
    """A therapist's (or the whole clinic's) appointments over ``days`` days from ``since``."""
    require(actor, Permission.READ_CLINICAL)
    if not 1 <= days <= 62:
        raise InvalidInput("days must be from 1 to 62", field="days", code="range")
    _in_range(since, "since")
    therapist = _therapist(session, actor, therapist_id) if therapist_id is not None else None
    zone = clinic_zone(session=session, actor=actor)
    lines = store.list_lines(
        session,
        actor.clinic_id,
        since=day_start(since, zone),
        before=day_start(since + timedelta(days=days), zone),
        therapist_id=therapist.id if therapist else None,
    )
    audit.record(
        session=session,
        actor=actor,
        action="read",
        entity_type="appointment_schedule",
        detail={
            "since": since.isoformat(),
            "days": days,
            "therapist_id": str(therapist.external_id) if therapist else "",
            "count": len(lines),
        },
    )
    return lines


def today(*, session: Session, actor: Actor, now: datetime | None = None) -> list[AppointmentLine]:
    """The clinic's appointments today (the clinic's own day), cancelled ones left out: the
    dashboard's list (the caller audits the dashboard read)."""
    require(actor, Permission.READ_CLINICAL)
    zone = clinic_zone(session=session, actor=actor)
    day = local_today(zone, now)
    return store.list_lines(
        session,
        actor.clinic_id,
        since=day_start(day, zone),
        before=day_start(day + timedelta(days=1), zone),
        include_cancelled=False,
        limit=200,
    )
