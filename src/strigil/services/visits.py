"""Visits: start with a re-check, move through the protocol's phases, sign the note.

A signed note is locked: every later change is a dated addendum. The visit row's version
column makes concurrent edits fail loudly instead of overwriting one another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from strigil.core import billing, catalog, notes, protocol
from strigil.core.screening import Answer
from strigil.errors import Conflict, InvalidInput
from strigil.services import audit, consents, screenings
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import check_version, get_owned
from strigil.store.base import utcnow
from strigil.store.episodes import Episode
from strigil.store.visits import NoteAddendum, TreatedArea, Visit

NOTE_FIELDS = ("subjective", "objective", "assessment", "plan")
TECHNIQUES = ("iastm", "manual_therapy", "exercise_only")


@dataclass(frozen=True, slots=True)
class VisitStart:
    tolerance_limit: int | None = None
    recheck: Mapping[str, Answer] | None = None
    reasoning: str | None = None
    dose_modification: str | None = None
    reliability_check: bool = False
    techniques: Sequence[str] = ("iastm",)


def start(
    *,
    session: Session,
    actor: Actor,
    episode_id: object,
    data: VisitStart,
    thresholds: catalog.Thresholds | None = None,
) -> Visit:
    """Open a visit: re-ask the medication and skin rules, agree the tolerance limit.

    Raises:
        InvalidInput: bad tolerance, unanswered re-check rules, missing reasoning, an
            IASTM visit without intake screening or consent.
    """
    require(actor, Permission.TREAT)
    limits = thresholds or catalog.thresholds()
    episode = get_owned(session, Episode, episode_id, actor, field="episode_id")
    if episode.status != "active":
        raise Conflict("the episode is discharged; reopen it to add visits", code="episode_closed")
    tolerance = data.tolerance_limit or limits.tolerance_default
    if isinstance(tolerance, bool) or not 1 <= tolerance <= 10:
        raise InvalidInput(
            "tolerance limit must be a whole number from 1 to 10",
            field="tolerance_limit",
            code="invalid_nrs",
        )
    for technique in data.techniques:
        if technique not in TECHNIQUES:
            raise InvalidInput(
                f"technique must be one of {', '.join(TECHNIQUES)}",
                field="techniques",
                code="unknown_technique",
            )
    if "iastm" in data.techniques:
        screenings.effective_result(session, episode, None)
        consents.require_consent(session, episode)
        if data.recheck is None:
            raise InvalidInput(
                "ask again about medication and skin changes before IASTM (answer every "
                "re-check rule)",
                field="recheck",
                code="recheck_required",
            )
    visit = Visit(
        clinic_id=actor.clinic_id,
        episode_id=episode.id,
        patient_id=episode.patient_id,
        therapist_id=actor.user_id,
        number=_next_number(session, episode),
        started_at=utcnow(),
        tolerance_limit=tolerance,
        reliability_check=data.reliability_check,
        techniques=list(data.techniques),
        phase=protocol.next_phase(None).code,  # type: ignore[union-attr]
    )
    session.add(visit)
    session.flush()
    if data.recheck is not None:
        screenings.screen(
            session=session,
            actor=actor,
            episode_id=episode.external_id,
            answers=data.recheck,
            kind="visit",
            visit=visit,
            reasoning=data.reasoning,
            dose_modification=data.dose_modification,
        )
    audit.record(
        session=session,
        actor=actor,
        action="create",
        entity_type="visit",
        entity_id=visit.external_id,
        patient_id=episode.patient.external_id,
    )
    return visit


def _next_number(session: Session, episode: Episode) -> int:
    count = session.scalar(
        select(func.count(Visit.id)).where(
            Visit.episode_id == episode.id, Visit.entered_in_error_at.is_(None)
        )
    )
    return (count or 0) + 1


def get(*, session: Session, actor: Actor, visit_id: object) -> Visit:
    """A visit of the actor's clinic (audited read)."""
    require(actor, Permission.READ_CLINICAL)
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    audit.record(
        session=session,
        actor=actor,
        action="read",
        entity_type="visit",
        entity_id=visit.external_id,
        patient_id=visit.episode.patient.external_id,
    )
    return visit


def list_for_episode(
    *, session: Session, actor: Actor, episode: Episode, limit: int = 20, offset: int = 0
) -> Sequence[Visit]:
    """An episode's visits, newest first, a page at a time."""
    require(actor, Permission.READ_CLINICAL)
    return session.scalars(
        select(Visit)
        .where(Visit.episode_id == episode.id, Visit.entered_in_error_at.is_(None))
        .order_by(Visit.number.desc())
        .limit(min(limit, 100))
        .offset(offset)
    ).all()


def editable(visit: Visit) -> None:
    """Refuse changes to a signed visit (409 ``note_signed``)."""
    if visit.status == "signed":
        raise Conflict("the note is signed and locked; add an addendum instead", code="note_signed")


def set_phase(
    *, session: Session, actor: Actor, visit_id: object, phase: str, version: int | None = None
) -> Visit:
    """Move the visit to a later protocol phase (optional phases may be skipped)."""
    require(actor, Permission.TREAT)
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    editable(visit)
    check_version(visit, version, ("phase",))
    visit.phase = protocol.validate_phase_transition(visit.phase, phase).code
    session.flush()
    _audit_write(session, actor, visit, "update", {"phase": visit.phase})
    return visit


def save_note(
    *,
    session: Session,
    actor: Actor,
    visit_id: object,
    note: Mapping[str, str],
    version: int | None,
    pre_test: str | None = None,
    post_test: str | None = None,
) -> Visit:
    """Save the SOAP draft (and pre/post tests); a stale version answers 409 with current text."""
    require(actor, Permission.RECORD_READINGS)
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    editable(visit)
    check_version(visit, version, (*NOTE_FIELDS, "pre_test", "post_test"))
    for name in NOTE_FIELDS:
        if name in note:
            setattr(visit, name, note[name].strip())
    visit.pre_test = pre_test.strip() if pre_test is not None else visit.pre_test
    visit.post_test = post_test.strip() if post_test is not None else visit.post_test
    session.flush()
    _audit_write(session, actor, visit, "update", {"fields": sorted(note)})
    return visit


def sign(*, session: Session, actor: Actor, visit_id: object, version: int | None) -> Visit:
    """Sign and lock the note. Therapists only; the assessment and plan must be written.

    Raises:
        NotPermitted: not a therapist.  Conflict: already signed or stale version.
        InvalidInput: an empty assessment or plan, or an area still being treated.
    """
    require(actor, Permission.SIGN)
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    editable(visit)
    check_version(visit, version, NOTE_FIELDS)
    for name in ("assessment", "plan"):
        if not getattr(visit, name).strip():
            raise InvalidInput(f"write the {name} before signing", field=name, code="required")
    active = session.scalar(
        select(func.count(TreatedArea.id)).where(
            TreatedArea.visit_id == visit.id,
            TreatedArea.status == "active",
            TreatedArea.entered_in_error_at.is_(None),
        )
    )
    if active:
        raise InvalidInput(
            "stop every treated area before signing",
            field="treated_areas",
            code="area_still_active",
        )
    now = utcnow()
    visit.status, visit.signed_at, visit.signed_by_id = "signed", now, actor.user_id
    visit.ended_at = visit.ended_at or now
    visit.phase = "document"
    session.flush()
    _audit_write(session, actor, visit, "sign", {})
    return visit


def add_addendum(*, session: Session, actor: Actor, visit_id: object, text: str) -> NoteAddendum:
    """A dated addendum to a signed note."""
    require(actor, Permission.SIGN)
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    if visit.status != "signed":
        raise Conflict("edit the note directly until it is signed", code="note_not_signed")
    if not text.strip():
        raise InvalidInput("an addendum needs text", field="text", code="required")
    row = NoteAddendum(
        clinic_id=actor.clinic_id, visit_id=visit.id, author_id=actor.user_id, text=text.strip()
    )
    session.add(row)
    session.flush()
    _audit_write(session, actor, visit, "addendum", {"addendum": str(row.external_id)})
    return row


def addenda(session: Session, visit: Visit) -> Sequence[NoteAddendum]:
    return session.scalars(
        select(NoteAddendum)
        .where(NoteAddendum.visit_id == visit.id)
        .order_by(NoteAddendum.created_at)
    ).all()


def billing_summary(
    session: Session, visit: Visit, areas: Sequence[TreatedArea] | None = None
) -> billing.BillingSummary:
    """CPT 97140 units by the 8-minute rule from the minutes of IASTM recorded.

    Pass the visit's areas when they are already loaded, to save a query.
    """
    if areas is None:
        seconds = session.scalar(
            select(func.coalesce(func.sum(TreatedArea.seconds), 0)).where(
                TreatedArea.visit_id == visit.id, TreatedArea.entered_in_error_at.is_(None)
            )
        )
    else:
        seconds = sum(a.seconds for a in areas if a.entered_in_error_at is None)
    return billing.billing_summary(round((seconds or 0) / 60))


def _audit_write(
    session: Session, actor: Actor, visit: Visit, action: str, detail: dict[str, object]
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action=action,
        entity_type="visit",
        entity_id=visit.external_id,
        patient_id=visit.episode.patient.external_id,
        detail=detail,
    )


@dataclass(frozen=True, slots=True)
class VisitRecord:
    """What a visit recorded, loaded once and shared by the page and the note draft."""

    areas: Sequence[TreatedArea]
    readings: Mapping[int, Sequence[Any]]
    skin: Mapping[int, Any]
    findings: Sequence[Any]
    prescriptions: Sequence[Any]


def load_record(session: Session, visit: Visit) -> VisitRecord:
    """Everything recorded in a visit, in a fixed number of queries."""
    from strigil.services import treatment  # treatment builds on this module

    rows = treatment.areas(session, visit)
    ids = [a.id for a in rows]
    return VisitRecord(
        areas=rows,
        readings=treatment.readings(session, ids),
        skin=treatment.skin(session, ids),
        findings=treatment.findings(session, visit),
        prescriptions=treatment.prescriptions(session, visit),
    )


def draft_note(
    *, session: Session, actor: Actor, visit_id: object, record: VisitRecord | None = None
) -> notes.SoapDraft:
    """Draft a SOAP note from what the visit recorded (nothing is invented).

    Pass ``record`` when the caller has already loaded it, to avoid loading it twice.
    """
    visit = get(session=session, actor=actor, visit_id=visit_id)
    return draft_from(visit, record or load_record(session, visit))


def draft_from(visit: Visit, record: VisitRecord) -> notes.SoapDraft:
    """The SOAP draft for a visit whose record is loaded."""
    facts = notes.VisitFacts(
        patient_display_name=visit.episode.patient.display_name,
        visit_date=visit.started_at.date(),
        visit_number=visit.number,
        condition_title=visit.episode.condition_title,
        subjective=visit.subjective,
        areas=tuple(
            _area_facts(a, record.readings[a.id], record.skin.get(a.id), record.findings, visit)
            for a in record.areas
        ),
        exercises=tuple(
            notes.PrescribedExercise(
                exercise=p.exercise_code,
                sets=p.sets,
                reps=p.repetitions,
                hold_seconds=p.hold_seconds,
                frequency=p.frequency,
            )
            for p in record.prescriptions
        ),
        plan=visit.plan,
        functional_goal=visit.episode.goals,
    )
    return notes.draft_soap(facts)


def _area_facts(
    area: TreatedArea, readings: Sequence[Any], skin: Any, found: Sequence[Any], visit: Visit
) -> notes.TreatedArea:
    mine = [f for f in found if f.treated_area_id == area.id]
    return notes.TreatedArea(
        region=area.body_region,
        site=area.body_site,
        side=area.side,
        instrument=area.instrument_type,
        strokes=tuple(area.strokes),
        angle_degrees=area.angle_deg,
        intensity=area.intensity,
        seconds=area.seconds,
        max_discomfort=max((r.value for r in readings), default=None),
        tolerance=visit.tolerance_limit,
        stop_reason=area.stop_reason,
        stop_note=area.stop_note or "",
        skin_grade=skin.grade if skin else None,
        findings_count=len(mine),
        findings_texture=tuple(sorted({f.texture for f in mine})),
    )


def list_for_patient(
    *, session: Session, actor: Actor, patient_id: int, limit: int = 20, offset: int = 0
) -> Sequence[Visit]:
    """A patient's visits across episodes, newest first, a page at a time (one query)."""
    require(actor, Permission.READ_CLINICAL)
    return session.scalars(
        select(Visit)
        .where(
            Visit.patient_id == patient_id,
            Visit.clinic_id == actor.clinic_id,
            Visit.entered_in_error_at.is_(None),
        )
        .order_by(Visit.started_at.desc(), Visit.id.desc())
        .limit(min(limit, 100))
        .offset(offset)
    ).all()
