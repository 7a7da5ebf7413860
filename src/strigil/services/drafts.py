"""Drafts of forms a role may fill in but not record: kept, shown to who may, never lost.

A draft is saved with the fields exactly as submitted, audited, and closed when a therapist
saves the record from it or sets it aside; it is never deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from strigil.errors import Conflict, InvalidInput
from strigil.services import audit
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import get_owned
from strigil.store import clinics as clinic_store
from strigil.store import drafts as store
from strigil.store.base import utcnow
from strigil.store.drafts import FormDraft
from strigil.store.episodes import Episode

KINDS = ("screening",)
PATIENT_MARK = "answered_by_patient"  # a field of drafts a patient sent through a link
_MAX_FIELDS, _MAX_VALUE = 400, 4000


def save(
    *,
    session: Session,
    actor: Actor,
    kind: str,
    episode_id: object,
    fields: Mapping[str, Sequence[str]],
) -> FormDraft:
    """Keep a filled-in form for the episode (any clinical role that may read the record).

    Raises:
        InvalidInput: an unknown kind, or a form too large to be one of ours.
    """
    require(actor, Permission.READ_CLINICAL)
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", field="kind", code="kind")
    episode = get_owned(session, Episode, episode_id, actor, field="episode_id")
    kept = {k: [str(v) for v in vs] for k, vs in fields.items() if k != "csrf_token"}
    too_long = any(len(v) > _MAX_VALUE for vs in kept.values() for v in vs)
    if len(kept) > _MAX_FIELDS or too_long:
        raise InvalidInput("the form is too large to keep", field="fields", code="too_large")
    draft = FormDraft(
        clinic_id=actor.clinic_id,
        kind=kind,
        episode_id=episode.id,
        author_id=actor.user_id,
        fields=kept,
    )
    session.add(draft)
    session.flush()
    _audit(session, actor, draft, episode, "create")
    return draft


def open_draft(session: Session, episode: Episode, kind: str) -> FormDraft | None:
    """The newest draft of a kind for the episode still waiting for someone."""
    return store.find_open_draft(session, episode.clinic_id, episode.id, kind)


def close(*, session: Session, actor: Actor, draft_id: object, outcome: str) -> FormDraft:
    """Mark a draft saved (its record was made) or set aside (not used); it stays on file.

    Raises:
        InvalidInput: an unknown outcome.  Conflict: already closed.
        NotPermitted: only who may record the screening decides what becomes of its draft.
    """
    require(actor, Permission.SCREEN)
    if outcome not in ("saved", "set_aside"):
        raise InvalidInput("outcome must be saved or set_aside", field="outcome", code="outcome")
    draft = get_owned(session, FormDraft, draft_id, actor, field="draft_id")
    if draft.closed_at is not None:
        raise Conflict("this draft was already dealt with", code="draft_closed", field="draft_id")
    draft.closed_at, draft.closed_by_id, draft.outcome = utcnow(), actor.user_id, outcome
    session.flush()
    episode = store.episode_of(session, draft)
    _audit(session, actor, draft, episode, outcome)
    return draft


def author_name(session: Session, draft: FormDraft) -> str:
    """Who filled the draft in, as the page names them (a patient is not a user: their draft
    is kept under the user who sent the link, and marked)."""
    if PATIENT_MARK in draft.fields:
        return "the patient, through a link"
    return clinic_store.get_user(session, draft.clinic_id, draft.author_id).display_name


def episode_id_of(session: Session, draft: FormDraft) -> uuid.UUID:
    """The public id of the episode the draft is for."""
    return store.episode_of(session, draft).external_id


def fields(draft: FormDraft) -> dict[str, list[str]]:
    """The draft's fields as submitted."""
    return store.payload(draft)


def _audit(session: Session, actor: Actor, draft: FormDraft, episode: Episode, action: str) -> None:
    audit.record(
        session=session,
        actor=actor,
        action=action,
        entity_type=f"{draft.kind}_draft",
        entity_id=draft.external_id,
        patient_id=episode.patient.external_id,
    )
