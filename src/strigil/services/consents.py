"""Informed consent: the exact text shown is stored with its version and hash.

The text names the condition in plain words and explains the precautions of the patient's
intake screening in force, so the same episode can show a different text after a re-screen;
the hash of the text shown must match the text recorded.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from strigil.core import catalog, diagnoses, i18n
from strigil.core import consent as consent_text
from strigil.core.i18n import N_
from strigil.errors import Conflict, InvalidInput
from strigil.services import audit, screenings
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import get_owned
from strigil.services.screenings import age_on
from strigil.store import episodes as store
from strigil.store.base import utcnow
from strigil.store.episodes import Consent as Consent
from strigil.store.episodes import Episode

DECISIONS = ("granted", "declined")
DEFAULT_PLAN = N_("IASTM to the affected area with active motion, stretching and a home programme")


def preview(
    *, session: Session, episode: Episode, plan: str | None = None, language: str | None = None
) -> consent_text.ConsentText:
    """The text the patient will read for this episode, tailored to their screening, in
    ``language`` (English by default; a plan typed by staff stays as typed)."""
    language = i18n.checked(language)
    result = _screening_result(session, episode)
    caps = result.get("caps") or {}
    rules = result.get("applied_rules") or ()
    condition = diagnoses.patient_condition(episode.condition_code, episode.condition_title)
    return consent_text.build_consent_text(
        i18n.translate(language, condition),
        plan or i18n.translate(language, DEFAULT_PLAN),
        precautions=consent_text.precaution_sentences(rules, language),
        dose=consent_text.dose_sentence(caps.get("intensity"), caps.get("seconds"), language),
        language=language,
    )


def _screening_result(session: Session, episode: Episode) -> dict[str, Any]:
    """The stored result of the intake screening in force ({} before the first one)."""
    row = screenings.latest(session, episode, "intake")
    return dict(row.result) if row is not None else {}


def record(
    *,
    session: Session,
    actor: Actor,
    episode_id: object,
    decision: str,
    plan: str | None = None,
    shown_sha256: str | None = None,
    guardian_name: str | None = None,
    guardian_relationship: str | None = None,
    language: str | None = None,
) -> Consent:
    """Store the patient's decision on the text shown.

    ``shown_sha256`` (from the page the patient read) must match the text being stored, so a
    template changed in between cannot be recorded as consented. A minor's decision is made
    by a parent or guardian, whose name and relationship are stored with it.

    Raises:
        InvalidInput: unknown decision or language, the text changed since it was shown, or
            a minor's consent without the guardian's name and relationship.
    """
    require(actor, Permission.CONSENT)
    language = i18n.checked(language)
    if decision not in DECISIONS:
        raise InvalidInput(
            "decision must be granted or declined", field="decision", code="unknown_decision"
        )
    episode = get_owned(session, Episode, episode_id, actor, field="episode_id")
    text = preview(session=session, episode=episode, plan=plan, language=language)
    if shown_sha256 and shown_sha256 != text.sha256:
        raise InvalidInput(
            "the consent text changed since it was shown; show it again",
            field="shown_sha256",
            code="consent_text_changed",
        )
    guardian = _guardian(episode, guardian_name, guardian_relationship)
    sequence = store.count_consents(session, episode.clinic_id, episode.id) + 1
    row = Consent(
        clinic_id=actor.clinic_id,
        patient_id=episode.patient_id,
        episode_id=episode.id,
        decision=decision,
        text_version=text.version,
        text_sha256=text.sha256,
        text=text.text,
        recorded_by_id=actor.user_id,
        decided_at=utcnow(),
        sequence=sequence,
        guardian_name=guardian[0],
        guardian_relationship=guardian[1],
    )
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="create",
        entity_type="consent",
        entity_id=row.external_id,
        patient_id=episode.patient.external_id,
        detail={
            "decision": decision,
            "text_version": text.version,
            "text_sha256": text.sha256,
        },
    )
    return row


def minor_age_limit() -> int | None:
    """The age under which a parent or guardian consents (the catalogue's minor rule)."""
    return next((r.age_under for r in catalog.screening_rules() if r.age_under), None)


def guardian_required(episode: Episode) -> bool:
    """Whether the patient is a minor today, so a parent or guardian decides."""
    limit = minor_age_limit()
    age = age_on(episode.patient.birth_date, utcnow().date())
    return limit is not None and age is not None and age < limit


def _guardian(
    episode: Episode, name: str | None, relationship: str | None
) -> tuple[str | None, str | None]:
    """The guardian's name and relationship; both required when the patient is a minor."""
    name, relationship = (name or "").strip() or None, (relationship or "").strip() or None
    if not guardian_required(episode):
        return name, relationship
    age = age_on(episode.patient.birth_date, utcnow().date())
    for field, value in (("guardian_name", name), ("guardian_relationship", relationship)):
        if value is None:
            raise InvalidInput(
                f"the patient is {age}: a parent or guardian consents; record their "
                f"{field.removeprefix('guardian_')}",
                field=field,
                code="guardian_required",
            )
    return name, relationship


def withdraw(*, session: Session, actor: Actor, episode_id: object) -> Consent:
    """The patient withdraws consent: no further IASTM may be recorded in the episode."""
    require(actor, Permission.CONSENT)
    episode = get_owned(session, Episode, episode_id, actor, field="episode_id")
    current_row = current(session, episode)
    if current_row is None or current_row.decision != "granted" or current_row.withdrawn_at:
        raise Conflict("there is no granted consent to withdraw", code="no_consent")
    current_row.withdrawn_at = utcnow()
    audit.record(
        session=session,
        actor=actor,
        action="withdraw",
        entity_type="consent",
        entity_id=current_row.external_id,
        patient_id=episode.patient.external_id,
    )
    return current_row


def current(session: Session, episode: Episode) -> Consent | None:
    """The latest decision for the episode."""
    return store.find_current_consent(session, episode.clinic_id, episode.id)


def require_consent(session: Session, episode: Episode) -> None:
    """Refuse IASTM without a granted, unwithdrawn consent.

    Raises:
        InvalidInput: no consent, declined, or withdrawn (code ``consent_required``).
    """
    row = current(session, episode)
    if row is None or row.decision != "granted" or row.withdrawn_at is not None:
        state = (
            "was withdrawn"
            if row and row.withdrawn_at
            else ("was declined" if row else "has not been recorded")
        )
        raise InvalidInput(
            f"IASTM needs the patient's informed consent, which {state}",
            field="consent",
            code="consent_required",
        )
