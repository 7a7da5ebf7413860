"""Patient links and what patients send through them (the 48-hour check-in).

Why a table of links: a patient has no account, so a link is the only key they hold. Only the
SHA-256 digest of its random token is stored, so a copy of the database opens no patient's
form. Each link has one purpose and one patient (and, for a check-in, one visit): the page it
opens can reach nothing else. Links are revoked or used up, never deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Select,
    String,
    Table,
    TextClause,
    bindparam,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from strigil.store import revisions, tenancy
from strigil.store.base import Base, IdMixin, TenantMixin
from strigil.store.episodes import Episode
from strigil.store.patients import Patient
from strigil.store.visits import Visit

PURPOSES = ("checkin", "questionnaires", "progress")
DIRECTORY_FUNCTION = "strigil_clinic_of_patient_link"


class PatientLink(IdMixin, TenantMixin, Base):
    """A single-purpose key a patient opens without signing in."""

    __tablename__ = "patient_link"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"), index=True, default=None)
    episode_id: Mapped[int | None] = mapped_column(
        ForeignKey("episode.id"), index=True, default=None
    )
    measures: Mapped[list[str] | None] = mapped_column(JSON, default=None)  # questionnaires
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    expires_at: Mapped[datetime]
    single_use: Mapped[bool] = mapped_column(Boolean, default=True)
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    # The language the patient's pages and email open in (staff choose it; None: the browser's)
    language: Mapped[str | None] = mapped_column(String(8), default=None)


class Checkin(IdMixin, TenantMixin, Base):
    """The answers a patient sent about how they are after a visit with IASTM."""

    __tablename__ = "checkin"

    link_id: Mapped[int] = mapped_column(ForeignKey("patient_link.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    submitted_at: Mapped[datetime]
    needs_attention: Mapped[bool] = mapped_column(Boolean, default=False)
    adverse_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("adverse_event.id"), default=None
    )


@cache
def _lookup() -> TextClause:
    """Find the link's clinic and scope the transaction to it in one statement."""
    return text(
        "SELECT found.id, CASE WHEN found.id IS NOT NULL"
        " THEN set_config(:name, found.id::text, true) END"
        f" FROM (SELECT {DIRECTORY_FUNCTION}(:k) AS id) AS found"
    )


def find_by_digest(session: Session, token_hash: str) -> PatientLink | None:
    """The link with this digest; on PostgreSQL the session is scoped to its clinic first
    (a patient's request has no signed-in user to say which clinic it is)."""
    if tenancy.is_restricted(session) and tenancy.is_postgres(session):
        tenancy.enter_clinic_found(session, _lookup(), token_hash)
    return session.scalar(_by_digest(), {"token_hash": token_hash})


@cache
def _by_digest() -> Select[PatientLink]:
    """Built once: every screen of a patient's questionnaire asks it."""
    return select(PatientLink).where(PatientLink.token_hash == bindparam("token_hash"))


def links_for_visit(session: Session, clinic_id: int, visit_id: int) -> Sequence[PatientLink]:
    """The visit's links, newest first."""
    return session.scalars(
        select(PatientLink)
        .where(PatientLink.clinic_id == clinic_id, PatientLink.visit_id == visit_id)
        .order_by(PatientLink.created_at.desc(), PatientLink.id.desc())
    ).all()


def checkins_for_visit(session: Session, clinic_id: int, visit_id: int) -> Sequence[Checkin]:
    """The visit's check-ins, newest first."""
    return session.scalars(
        select(Checkin)
        .where(Checkin.clinic_id == clinic_id, Checkin.visit_id == visit_id)
        .order_by(Checkin.submitted_at.desc(), Checkin.id.desc())
    ).all()


def checkin_for_link(session: Session, clinic_id: int, link_id: int) -> Checkin | None:
    """The check-in sent through a link, if one was."""
    return session.scalar(
        select(Checkin).where(Checkin.clinic_id == clinic_id, Checkin.link_id == link_id).limit(1)
    )


def attention_with_patients(
    session: Session, clinic_id: int, limit: int = 20
) -> Sequence[tuple[Checkin, Patient]]:
    """Check-ins with warning answers not yet turned into an adverse event, oldest first."""
    rows = session.execute(
        select(Checkin, Patient)
        .join(Patient, Patient.id == Checkin.patient_id)
        .where(
            Checkin.clinic_id == clinic_id,
            Checkin.needs_attention.is_(True),
            Checkin.adverse_event_id.is_(None),
        )
        .order_by(Checkin.submitted_at, Checkin.id)
        .limit(limit)
    ).all()
    return [(c, p) for c, p in rows]


def patient_of(session: Session, clinic_id: int, patient_id: int) -> Patient:
    """The patient a link or check-in names (same clinic by construction)."""
    return session.scalars(
        select(Patient).where(Patient.id == patient_id, Patient.clinic_id == clinic_id)
    ).one()


def visit_of(session: Session, clinic_id: int, visit_id: int) -> Visit:
    """The visit a link or check-in names (same clinic by construction)."""
    return session.scalars(
        select(Visit).where(Visit.id == visit_id, Visit.clinic_id == clinic_id)
    ).one()


def link_by_id(session: Session, clinic_id: int, link_id: int) -> PatientLink:
    """A link of the clinic by its internal id."""
    return session.scalars(
        select(PatientLink).where(PatientLink.id == link_id, PatientLink.clinic_id == clinic_id)
    ).one()


def links_for_episode(session: Session, clinic_id: int, episode_id: int) -> Sequence[PatientLink]:
    """The episode's questionnaire and progress links, newest first."""
    return session.scalars(
        select(PatientLink)
        .where(PatientLink.clinic_id == clinic_id, PatientLink.episode_id == episode_id)
        .order_by(PatientLink.created_at.desc(), PatientLink.id.desc())
    ).all()


LinkRow = tuple[PatientLink, uuid.UUID | None, uuid.UUID | None]


def _link_rows(clinic_id: int) -> Any:
    """Links of the clinic with the public ids of their episode and visit (a check-in's
    episode is its visit's)."""
    episode_key = func.coalesce(PatientLink.episode_id, Visit.episode_id)
    return (
        select(PatientLink, Episode.external_id, Visit.external_id)
        .outerjoin(Visit, (Visit.id == PatientLink.visit_id) & (Visit.clinic_id == clinic_id))
        .outerjoin(Episode, (Episode.id == episode_key) & (Episode.clinic_id == clinic_id))
        .where(PatientLink.clinic_id == clinic_id)
    )


def link_row(session: Session, clinic_id: int, link_id: int) -> LinkRow:
    """One link of the clinic with its episode's and visit's public ids."""
    link, episode, visit = session.execute(
        _link_rows(clinic_id).where(PatientLink.id == link_id)
    ).one()
    return link, episode, visit


def list_links(
    session: Session,
    clinic_id: int,
    *,
    patient_id: int,
    episode_id: int | None = None,
    limit: int,
    offset: int = 0,
) -> Sequence[LinkRow]:
    """A patient's links of every purpose, newest first, each with the public ids of its
    episode and visit (a check-in's episode is its visit's) in one statement; with
    ``episode_id`` only that episode's, check-ins of its visits included."""
    query = _link_rows(clinic_id).where(PatientLink.patient_id == patient_id)
    if episode_id is not None:
        query = query.where(
            or_(PatientLink.episode_id == episode_id, Visit.episode_id == episode_id)
        )
    query = query.order_by(PatientLink.created_at.desc(), PatientLink.id.desc())
    rows = session.execute(query.limit(limit).offset(offset)).all()
    return [(link, episode, visit) for link, episode, visit in rows]


def claim(session: Session, link: PatientLink, moment: datetime) -> bool:
    """Mark a single-use link used unless another request already did (one statement, so
    two submissions racing each other cannot both pass).

    A plain statement on the session's connection, counted as a change to this one patient:
    through the session it would count as a bulk statement of unknown reach, and every
    cached page of the clinic would be drawn again after each questionnaire a patient sends.
    """
    table = cast(Table, PatientLink.__table__)
    result = session.connection().execute(
        update(table).where(table.c.id == link.id, table.c.used_at.is_(None)).values(used_at=moment)
    )
    if result.rowcount != 1:
        return False
    set_committed_value(link, "used_at", moment)  # the row says so already
    revisions.note_patient_write(session, link.clinic_id, link.patient_id)
    return True


def episode_of(session: Session, clinic_id: int, episode_id: int) -> Episode:
    """The episode a link names (same clinic by construction)."""
    return session.scalars(
        select(Episode).where(Episode.id == episode_id, Episode.clinic_id == clinic_id)
    ).one()
