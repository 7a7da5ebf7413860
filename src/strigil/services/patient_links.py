"""Patient links: single-purpose keys a patient opens without an account, and the 48-hour
check-in sent through one.

Why this shape: the token is random and only its SHA-256 digest is stored, so neither the
database nor the audit trail can open a patient's form. A link names one patient, one purpose
and (for a check-in) one visit, and expires; a check-in link is used up by its answers. Wrong
or closed links count against the client address in the sign-in throttle table, so nobody can
guess links at speed. Every use is audited with no user (the patient is not a user) in the
link's clinic.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from strigil.core import i18n
from strigil.errors import Conflict, InvalidInput, NotFound, StrigilError, TooManyRequests
from strigil.services import adverse_events, audit
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import get_owned
from strigil.store import patient_links as store
from strigil.store import signin
from strigil.store import visits as visit_store
from strigil.store.adverse_events import AdverseEvent
from strigil.store.base import utcnow
from strigil.store.episodes import Episode
from strigil.store.patient_links import Checkin as Checkin
from strigil.store.patient_links import PatientLink as PatientLink
from strigil.store.patients import Patient
from strigil.store.visits import Visit

CHECKIN = "checkin"
BRUISING = ("none", "small", "spreading")
YES_NO = ("yes", "no")
_OTHER_MAX = 2000
_TOKEN_MAX = 100


class LinkClosed(StrigilError):
    """The link was used, revoked or has expired: the patient is told kindly, nothing changes."""

    status: ClassVar[int] = 410
    default_code = "link_closed"


@dataclass(frozen=True, slots=True)
class Throttle:
    """Wrong-link attempts one address may make before each further one waits (doubling)."""

    max_failures: int = 10
    first_delay: timedelta = timedelta(seconds=60)
    longest: timedelta = timedelta(minutes=15)
    forget: timedelta = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class CheckinAnswers:
    soreness: int
    bruising: str
    skin_broken: bool
    calf_pain: bool
    numbness: bool
    other: str = ""

    @property
    def needs_attention(self) -> bool:
        """Answers the clinical reference treats as warning signs after IASTM."""
        return self.bruising == "spreading" or self.calf_pain or self.skin_broken

    def as_dict(self) -> dict[str, Any]:
        return {
            "soreness": self.soreness,
            "bruising": self.bruising,
            "skin_broken": self.skin_broken,
            "calf_pain": self.calf_pain,
            "numbness": self.numbness,
            "other": self.other,
        }


@dataclass(frozen=True, slots=True)
class OpenLink:
    """What a patient page may show: the purpose and when the link closes, nothing else."""

    purpose: str
    expires_at: datetime
    language: str | None = None


def now() -> datetime:
    """The clock links expire by (pages compare against it)."""
    return utcnow()


def digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def link_path(token: str) -> str:
    """The short path a patient opens (no names, no clinical words)."""
    return f"/p/{token}"


# ----------------------------------------------------------------------------- clinic side


def issue_checkin(
    *,
    session: Session,
    actor: Actor,
    visit_id: object,
    hours: int = 72,
    language: str | None = None,
) -> tuple[str, PatientLink]:
    """Issue a 48-hour check-in link for the visit's patient; the token is returned once.
    ``language`` is what the patient's pages open in (None: their browser's choice).

    Raises:
        InvalidInput: the visit has no IASTM treatment to check in about, bad hours, or a
            language Strigil has no translation for.
        Conflict: the visit was entered in error.
    """
    require(actor, Permission.WRITE_PATIENT)
    if not 1 <= hours <= 720:
        raise InvalidInput("hours must be between 1 and 720", field="hours", code="range")
    language = i18n.checked(language)
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    if visit.entered_in_error_at is not None:
        raise Conflict("this visit was entered in error", code="entered_in_error")
    if visit_store.count_areas(session, actor.clinic_id, visit.id) == 0:
        raise InvalidInput(
            "a check-in follows a visit with IASTM: treat an area first",
            field="visit_id",
            code="no_iastm",
        )
    token = secrets.token_urlsafe(32)
    link = PatientLink(
        clinic_id=actor.clinic_id,
        patient_id=visit.patient_id,
        visit_id=visit.id,
        purpose=CHECKIN,
        token_hash=digest(token),
        issued_by_id=actor.user_id,
        expires_at=utcnow() + timedelta(hours=hours),
        single_use=True,
        language=language or None,
    )
    session.add(link)
    session.flush()
    audit_clinic(session, actor, "create", link, visit.episode.patient)
    return token, link


def revoke(*, session: Session, actor: Actor, link_id: object) -> PatientLink:
    """Close a link before it is used or expires; it stays on file.

    Raises:
        Conflict: already revoked or used.
    """
    require(actor, Permission.WRITE_PATIENT)
    link = get_owned(session, PatientLink, link_id, actor, field="link_id")
    if link.revoked_at is not None or link.used_at is not None:
        raise Conflict("this link is already closed", code="link_closed", field="link_id")
    link.revoked_at, link.revoked_by_id = utcnow(), actor.user_id
    session.flush()
    audit_clinic(session, actor, "revoke", link, _patient_of(session, link))
    return link


LIST_LIMIT = 100


@dataclass(frozen=True, slots=True)
class LinkListing:
    """A link as staff see it: where it belongs and whether it is open, never its token (only
    the token's digest is kept, so no list can give it again)."""

    link: PatientLink
    episode_id: uuid.UUID | None
    visit_id: uuid.UUID | None
    status: str  # open, used, revoked or expired


def status_of(link: PatientLink, now: datetime | None = None) -> str:
    """open, or why the link is closed (used, revoked, expired)."""
    return "open" if is_open(link, now) else closed_reason(link)


def _listing(row: store.LinkRow, now: datetime) -> LinkListing:
    link, episode_id, visit_id = row
    return LinkListing(link, episode_id, visit_id, status_of(link, now))


def listing(session: Session, link: PatientLink) -> LinkListing:
    """One link the caller already holds, with its episode's and visit's public ids."""
    return _listing(store.link_row(session, link.clinic_id, link.id), utcnow())


def _page(limit: int, offset: int) -> None:
    if isinstance(limit, bool) or not 1 <= limit <= LIST_LIMIT:
        raise InvalidInput(f"limit must be 1-{LIST_LIMIT}", field="limit", code="range")
    if isinstance(offset, bool) or offset < 0:
        raise InvalidInput("offset must be 0 or more", field="offset", code="range")


def links_of_patient(
    *, session: Session, actor: Actor, patient_id: object, limit: int = 50, offset: int = 0
) -> list[LinkListing]:
    """A patient's links of every purpose, newest first (an audited read).

    Raises:
        InvalidInput: a bad id, limit or offset.  NotFound: no such patient in this clinic.
    """
    require(actor, Permission.READ_CLINICAL)
    _page(limit, offset)
    patient = get_owned(session, Patient, patient_id, actor, field="patient_id")
    rows = store.list_links(
        session, actor.clinic_id, patient_id=patient.id, limit=limit, offset=offset
    )
    _audit_list(session, actor, patient.external_id, patient.external_id, "patient")
    now = utcnow()
    return [_listing(r, now) for r in rows]


def links_of_episode(
    *, session: Session, actor: Actor, episode_id: object, limit: int = 50, offset: int = 0
) -> list[LinkListing]:
    """An episode's links, newest first: its questionnaire and progress links and the
    check-ins of its visits (an audited read).

    Raises:
        InvalidInput: a bad id, limit or offset.  NotFound: no such episode in this clinic.
    """
    require(actor, Permission.READ_CLINICAL)
    _page(limit, offset)
    episode = get_owned(session, Episode, episode_id, actor, field="episode_id")
    rows = store.list_links(
        session,
        actor.clinic_id,
        patient_id=episode.patient_id,
        episode_id=episode.id,
        limit=limit,
        offset=offset,
    )
    _audit_list(session, actor, episode.external_id, episode.patient.external_id, "episode")
    now = utcnow()
    return [_listing(r, now) for r in rows]


def _audit_list(
    session: Session, actor: Actor, entity_id: object, patient_id: object, scope: str
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action="read",
        entity_type="patient_link",
        entity_id=entity_id,
        patient_id=patient_id,
        detail={"listed": scope},
    )


def links_for_visit(*, session: Session, actor: Actor, visit: Visit) -> Sequence[PatientLink]:
    """The visit's patient links (for the visit page; the caller audited the visit read)."""
    require(actor, Permission.READ_CLINICAL)
    return store.links_for_visit(session, actor.clinic_id, visit.id)


def checkins_of_loaded_visit(*, session: Session, actor: Actor, visit: Visit) -> Sequence[Checkin]:
    """The check-ins of a visit the caller already loaded and audited (the visit page)."""
    require(actor, Permission.READ_CLINICAL)
    return store.checkins_for_visit(session, actor.clinic_id, visit.id)


def checkins_for_visit(*, session: Session, actor: Actor, visit_id: object) -> Sequence[Checkin]:
    """The check-ins patients sent about a visit, newest first."""
    require(actor, Permission.READ_CLINICAL)
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    rows = store.checkins_for_visit(session, actor.clinic_id, visit.id)
    audit.record(
        session=session,
        actor=actor,
        action="read",
        entity_type="checkin",
        entity_id=visit.external_id,
        patient_id=visit.episode.patient.external_id,
    )
    return rows


def is_open(link: PatientLink, now: datetime | None = None) -> bool:
    """Whether a patient could still use the link."""
    moment = now or utcnow()
    return link.revoked_at is None and link.used_at is None and link.expires_at > moment


def seconds_until_one_closes(links: Sequence[PatientLink], now: datetime | None = None) -> float:
    """Seconds until the first open link expires (inf if none will): a page that shows links
    as open is true only until then."""
    moment = now or utcnow()
    closing = [link.expires_at for link in links if is_open(link, moment)]
    return min(((c - moment).total_seconds() for c in closing), default=float("inf"))


def attention(session: Session, clinic_id: int) -> Sequence[tuple[Checkin, Patient]]:
    """Check-ins with warning answers not yet made an adverse event (for the dashboard)."""
    return store.attention_with_patients(session, clinic_id)


def to_adverse_event(
    *, session: Session, actor: Actor, checkin_id: object, severity: str = "moderate"
) -> AdverseEvent:
    """Record the check-in's warning answers as an adverse event; it then leaves the list.

    Raises:
        Conflict: the check-in was already turned into an adverse event.
    """
    require(actor, Permission.RECORD_READINGS)
    checkin = get_owned(session, Checkin, checkin_id, actor, field="checkin_id")
    if checkin.adverse_event_id is not None:
        raise Conflict(
            "this check-in is already an adverse event", code="already_reported", field="checkin_id"
        )
    answers = parse_answers(checkin.answers)
    patient = store.patient_of(session, checkin.clinic_id, checkin.patient_id)
    visit = store.visit_of(session, checkin.clinic_id, checkin.visit_id)
    event = adverse_events.report(
        session=session,
        actor=actor,
        patient_id=patient.external_id,
        data=adverse_events.EventInput(
            category=category_of(answers),
            severity=severity,
            description=describe(answers),
            onset_at=checkin.submitted_at,
            visit_id=visit.external_id,
        ),
    )
    checkin.adverse_event_id = event.id
    session.flush()
    return event


def category_of(answers: CheckinAnswers) -> str:
    """The adverse-event category that fits the most serious warning answer."""
    if answers.calf_pain:
        return "other"  # calf pain or swelling: possible deep vein thrombosis, refer
    if answers.skin_broken:
        return "skin_injury"
    if answers.bruising == "spreading":
        return "bruise"
    return "neuro_symptoms" if answers.numbness else "flare_over_48h"


def describe(answers: CheckinAnswers) -> str:
    """A plain description built only from what the patient answered."""
    parts = [f"48-hour check-in: soreness {answers.soreness}/10", f"bruising {answers.bruising}"]
    if answers.skin_broken:
        parts.append("skin broken")
    if answers.calf_pain:
        parts.append("calf pain or swelling")
    if answers.numbness:
        parts.append("numbness")
    if answers.other:
        parts.append(f"patient's words: {answers.other}")
    return "; ".join(parts) + "."


# ---------------------------------------------------------------------------- patient side


def open_for_patient(
    *, session: Session, token: str, purpose: str, client_ip: str | None, throttle: Throttle
) -> OpenLink:
    """Check a patient's link and audit the read of their form.

    Raises:
        TooManyRequests: this address tried too many wrong links lately.
        NotFound: no such link (tampered or made up).  LinkClosed: used, revoked or expired.
    """
    link = usable(session, token, purpose, client_ip, throttle)
    audit_patient(session, "read", link)
    return OpenLink(link.purpose, link.expires_at, link.language)


def submit_checkin(
    *,
    session: Session,
    token: str,
    fields: Mapping[str, str],
    client_ip: str | None,
    throttle: Throttle,
) -> Checkin:
    """Store a patient's check-in answers and close the link.

    Raises:
        InvalidInput: an answer is missing or out of range (nothing is stored).
        TooManyRequests, NotFound, LinkClosed: as ``open_for_patient``.
    """
    link = usable(session, token, CHECKIN, client_ip, throttle)
    answers = parse_answers(fields)
    assert link.visit_id is not None  # a check-in link is always issued for a visit
    now = utcnow()
    checkin = Checkin(
        clinic_id=link.clinic_id,
        link_id=link.id,
        patient_id=link.patient_id,
        visit_id=link.visit_id,
        answers=answers.as_dict(),
        submitted_at=now,
        needs_attention=answers.needs_attention,
    )
    link.used_at = now
    session.add(checkin)
    session.flush()
    audit_patient(session, "create", link, checkin)
    return checkin


def parse_answers(fields: Mapping[str, Any]) -> CheckinAnswers:
    """The check-in's answers, or a 422 naming the first field that breaks its rule."""
    return CheckinAnswers(
        soreness=_soreness(fields.get("soreness")),
        bruising=_choice(fields, "bruising", BRUISING),
        skin_broken=_yes(fields, "skin_broken"),
        calf_pain=_yes(fields, "calf_pain"),
        numbness=_yes(fields, "numbness"),
        other=_other(fields.get("other")),
    )


def _soreness(raw: object) -> int:
    text = str(raw).strip() if raw is not None else ""
    if isinstance(raw, int) and not isinstance(raw, bool):
        text = str(raw)
    if not text.isdigit() or not 0 <= int(text) <= 10:
        raise InvalidInput(
            "soreness must be a whole number from 0 to 10", field="soreness", code="range"
        )
    return int(text)


def _choice(fields: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    value = str(fields.get(name) or "").strip()
    if value not in allowed:
        raise InvalidInput(
            f"{name.replace('_', ' ')} must be one of {', '.join(allowed)}",
            field=name,
            code="choice",
        )
    return value


def _yes(fields: Mapping[str, Any], name: str) -> bool:
    raw = fields.get(name)
    if isinstance(raw, bool):
        return raw
    return _choice(fields, name, YES_NO) == "yes"


def _other(raw: object) -> str:
    value = str(raw or "").strip()
    if len(value) > _OTHER_MAX:
        raise InvalidInput(
            f"other must be at most {_OTHER_MAX} characters", field="other", code="too_long"
        )
    return value


def usable(
    session: Session, token: str, purpose: str | None, client_ip: str | None, throttle: Throttle
) -> PatientLink:
    """The open link of this purpose (any purpose when None), or a refusal that counts against
    the address."""
    now = utcnow()
    key = digest(f"patient_link\0address\0{client_ip or 'unknown'}")
    until = signin.blocked_until(session=session, keys=[key])
    if until is not None and until > now:
        wait = max(1, math.ceil((until - now).total_seconds()))
        raise TooManyRequests(
            f"too many attempts; please try again in {wait} seconds",
            code="link_throttled",
            retry_after=wait,
        )
    link = store.find_by_digest(session, digest(token)) if len(token) <= _TOKEN_MAX else None
    if link is None or (purpose is not None and link.purpose != purpose):
        _count_failure(session, key, now, throttle)
        raise NotFound("this link is not valid; please ask the clinic for a new one")
    if not is_open(link, now):
        _count_failure(session, key, now, throttle)
        audit_patient(session, "refused", link)
        raise LinkClosed(
            _closed_message(link),
            extra={"reason": closed_reason(link), "language": link.language},
        )
    return link


def closed_reason(link: PatientLink) -> str:
    """Why a link is closed: used, revoked or expired (the patient's page words each)."""
    if link.used_at is not None:
        return "used"
    return "revoked" if link.revoked_at is not None else "expired"


def _closed_message(link: PatientLink) -> str:
    if link.used_at is not None:
        return "Thank you: your answers were already received. Nothing more is needed here."
    if link.revoked_at is not None:
        return "This link is no longer active. Please contact the clinic if you need to."
    return "This link has expired. Please contact the clinic if you would like to tell us more."


def _count_failure(session: Session, key: str, now: datetime, throttle: Throttle) -> None:
    failures = signin.count_failure(session=session, key=key, now=now, forget=throttle.forget)
    over = failures - throttle.max_failures
    if over >= 0:
        wait = min(throttle.first_delay * (2 ** min(over, 16)), throttle.longest)
        signin.block(session=session, key=key, until=now + wait)


def _patient_of(session: Session, link: PatientLink) -> Patient:
    return store.patient_of(session, link.clinic_id, link.patient_id)


def audit_clinic(
    session: Session, actor: Actor, action: str, link: PatientLink, patient: Patient
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action=action,
        entity_type="patient_link",
        entity_id=link.external_id,
        patient_id=patient.external_id,
        detail={"purpose": link.purpose},
    )


def audit_patient(
    session: Session, action: str, link: PatientLink, checkin: Checkin | None = None
) -> None:
    """A use of the link by the patient: no user, the link's clinic, never the token."""
    audit.record(
        session=session,
        actor=None,
        clinic_id=link.clinic_id,
        action=action,
        entity_type="checkin" if checkin is not None else "patient_link",
        entity_id=checkin.external_id if checkin is not None else link.external_id,
        patient_id=_patient_of(session, link).external_id,
        detail={"purpose": link.purpose, "via": "patient_link"},
    )


def visit_external_id(session: Session, link: PatientLink) -> object:
    """The public id of the visit a link was issued for (pages link back to it)."""
    if link.visit_id is None:
        return None
    return store.visit_of(session, link.clinic_id, link.visit_id).external_id


def patient_email(session: Session, link: PatientLink) -> str:
    """The email address on file for the link's patient ('' when none; the caller issued the
    link, so it already holds the patient's record)."""
    return _patient_of(session, link).email or ""
