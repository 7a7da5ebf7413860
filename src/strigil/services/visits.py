"""Visits: start with a re-check, move through the protocol's phases, sign the note.

A signed note is locked: every later change is a dated addendum. The visit row's version
column makes concurrent edits fail loudly instead of overwriting one another.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from strigil.core import billing, catalog, protocol
from strigil.core import notes as core_notes
from strigil.core.screening import Answer
from strigil.errors import Conflict, InvalidInput, NotPermitted
from strigil.services import audit, charges, consents, notes, screenings
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import check_version, editable, get_owned
from strigil.store import clinics as clinic_store
from strigil.store import revisions
from strigil.store import visits as store
from strigil.store.base import utcnow
from strigil.store.clinics import Clinic, User
from strigil.store.episodes import Episode
from strigil.store.visits import NoteAddendum, Visit

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
    lifts: Sequence[str] = ()  # re-check "no" answers confirmed to lift a finding in force


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
            lifts=data.lifts,
            thresholds=limits,
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
    return store.count_visits(session, episode.clinic_id, episode.id) + 1


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


def data_revision(*, session: Session, actor: Actor, visit_id: str) -> tuple[int, int] | None:
    """The revisions a page of this visit depends on (the clinic's shared rows, the
    patient's rows): it is current for as long as both stand, since every committed change
    moves one of them on. None when the actor's clinic has no such visit."""
    require(actor, Permission.READ_CLINICAL)
    try:
        key = uuid.UUID(visit_id)
    except ValueError:
        return None
    return revisions.of_visit(session, actor.clinic_id, key)


def record_read(
    *, session: Session, actor: Actor, visit_id: uuid.UUID, patient_id: uuid.UUID
) -> None:
    """Audit a read of a visit served from an already rendered page, as ``get`` does."""
    require(actor, Permission.READ_CLINICAL)
    audit.record(
        session=session,
        actor=actor,
        action="read",
        entity_type="visit",
        entity_id=visit_id,
        patient_id=patient_id,
    )


def list_for_episode(
    *, session: Session, actor: Actor, episode: Episode, limit: int = 20, offset: int = 0
) -> Sequence[Visit]:
    """An episode's visits, newest first, a page at a time."""
    require(actor, Permission.READ_CLINICAL)
    return store.list_visits_of_episode(
        session, actor.clinic_id, episode.id, limit=min(limit, 100), offset=offset
    )


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


def _signer(session: Session, actor: Actor) -> User:
    user = clinic_store.get_user(session, actor.clinic_id, actor.user_id)
    if not (actor.can(Permission.SIGN) or actor.can(Permission.DOCUMENT)):
        raise NotPermitted(
            f"the {actor.role.value} role may not sign notes",
            code="role_not_permitted",
            field="signer",
        )
    return user


def _check_signable(session: Session, visit: Visit) -> None:
    for name in ("assessment", "plan"):
        if not getattr(visit, name).strip():
            raise InvalidInput(f"write the {name} before signing", field=name, code="required")
    if store.count_areas(session, visit.clinic_id, visit.id, status="active"):
        raise InvalidInput(
            "stop every treated area before signing",
            field="treated_areas",
            code="area_still_active",
        )


def sign(*, session: Session, actor: Actor, visit_id: object, version: int | None) -> Visit:
    """Sign and lock the note, recording who signed (name, credentials) and a digest of it.

    Therapists sign; an assistant signs their own documentation, which then waits for a
    therapist's co-signature when the clinic requires it.

    Raises:
        NotPermitted: a role that may not sign.  Conflict: already signed or stale version.
        InvalidInput: an empty assessment or plan, or an area still being treated.
    """
    user = _signer(session, actor)
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    editable(visit)
    check_version(visit, version, NOTE_FIELDS)
    _check_signable(session, visit)
    now = utcnow()
    visit.status, visit.signed_at, visit.signed_by_id = "signed", now, actor.user_id
    visit.signer_name, visit.signer_role = user.display_name, user.role
    visit.signer_credentials = user.credentials.strip() or None
    visit.signer_licence = (user.licence_number or "").strip() or None
    needs = user.clinic.assistant_notes_need_cosign
    visit.cosign_required = not actor.can(Permission.SIGN) and needs
    visit.ended_at = visit.ended_at or now
    visit.phase = "document"
    session.flush()
    visit.note_digest = notes.digest_of(session, visit)
    session.flush()
    _audit_write(session, actor, visit, "sign", {"digest": visit.note_digest})
    return visit


def cosign(*, session: Session, actor: Actor, visit_id: object) -> Visit:
    """A therapist's co-signature of an assistant's signed note.

    Raises:
        NotPermitted: not a therapist.  Conflict: not signed, or no co-signature is awaited.
    """
    require(actor, Permission.SIGN)
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    if visit.status != "signed" or not visit.cosign_required or visit.cosigned_at is not None:
        raise Conflict("this note is not awaiting a co-signature", code="no_cosign_awaited")
    user = clinic_store.get_user(session, actor.clinic_id, actor.user_id)
    visit.cosigned_at, visit.cosigned_by_id = utcnow(), user.id
    visit.cosigner_name, visit.cosigner_credentials = user.display_name, user.credentials or None
    session.flush()
    _audit_write(session, actor, visit, "cosign", {})
    return visit


def add_addendum(*, session: Session, actor: Actor, visit_id: object, text: str) -> NoteAddendum:
    """A dated addendum to a signed note, with its author's name and credentials."""
    user = _signer(session, actor)
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    if visit.status != "signed":
        raise Conflict("edit the note directly until it is signed", code="note_not_signed")
    if not text.strip():
        raise InvalidInput("an addendum needs text", field="text", code="required")
    row = NoteAddendum(
        clinic_id=actor.clinic_id,
        visit_id=visit.id,
        author_id=actor.user_id,
        author_name=user.display_name,
        author_credentials=user.credentials.strip(),
        text=text.strip(),
    )
    session.add(row)
    session.flush()
    _audit_write(session, actor, visit, "addendum", {"addendum": str(row.external_id)})
    return row


def addenda(session: Session, visit: Visit) -> Sequence[NoteAddendum]:
    """The visit's addenda, oldest first (only a signed note has any)."""
    if visit.status != "signed":
        return ()
    return store.list_addenda(session, visit.clinic_id, visit.id)


def public_id(*, session: Session, actor: Actor, row_id: int) -> str:
    """The public id of a visit of the clinic known by its row id (for links to its page)."""
    require(actor, Permission.READ_CLINICAL)
    return str(store.get_visit(session, actor.clinic_id, row_id).external_id)


def clinic_of(session: Session, visit: Visit) -> Clinic:
    """The clinic the visit belongs to (its time zone, letterhead and billing rule)."""
    return clinic_store.get_clinic(session, visit.clinic_id)


def billing_rule(session: Session, visit: Visit) -> str:
    return clinic_of(session, visit).billing_rule


def charges_for(
    session: Session, visit: Visit, record: notes.VisitRecord | None = None
) -> billing.VisitCharges:
    """The whole visit's charges under the clinic's billing rule."""
    rule = billing_rule(session, visit)
    if record is None:
        return charges.for_visit(session, visit, rule)
    return charges.compute(visit, record.areas, record.billing_lines, rule)


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


VisitRecord = notes.VisitRecord


def load_record(session: Session, visit: Visit) -> notes.VisitRecord:
    """Everything recorded in a visit (see services.notes)."""
    return notes.load_record(session, visit)


def draft_note(
    *, session: Session, actor: Actor, visit_id: object, record: notes.VisitRecord | None = None
) -> core_notes.SoapDraft:
    """Draft a SOAP note from what the visit recorded (nothing is invented).

    Pass ``record`` when the caller has already loaded it, to avoid loading it twice.
    """
    visit = get(session=session, actor=actor, visit_id=visit_id)
    return draft_from(session, visit, record or load_record(session, visit))


def draft_from(session: Session, visit: Visit, record: notes.VisitRecord) -> core_notes.SoapDraft:
    """The SOAP draft for a visit whose record is loaded, under the clinic's billing rule."""
    return notes.draft_from(visit, record, billing_rule(session, visit))


def list_for_patient(
    *, session: Session, actor: Actor, patient_id: int, limit: int = 20, offset: int = 0
) -> Sequence[Visit]:
    """A patient's visits across episodes, newest first, a page at a time (one query)."""
    require(actor, Permission.READ_CLINICAL)
    return store.list_visits_of_patient(
        session, actor.clinic_id, patient_id, limit=min(limit, 100), offset=offset
    )
