"""Episodes of care with their screenings and consents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Text,
    bindparam,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from strigil.store.base import Base, EnteredInErrorMixin, IdMixin, TenantMixin, VersionedMixin
from strigil.store.patients import Patient

EPISODE_STATUSES = ("active", "discharged")
CHRONICITY = ("acute", "subacute", "chronic")
SIDES = ("left", "right", "bilateral", "midline", "na")
APPROACHES = ("iastm", "manual_therapy", "exercise_only")
# Risk factors for the risk-adjusted outcome model (FOTO's published list, ADR 0019); each is
# optional, since an episode opened before they were asked has none.
PAYERS = ("private", "medicare", "medicaid", "workers_comp", "auto", "self_pay", "other")
POST_SURGICAL_TYPES = (
    "arthroplasty",
    "arthroscopy",
    "ligament_reconstruction",
    "tendon_repair",
    "fracture_fixation",
    "spinal",
    "other",
)


class Episode(IdMixin, TenantMixin, VersionedMixin, EnteredInErrorMixin, Base):
    """One condition treated over a run of visits (FHIR EpisodeOfCare + Condition)."""

    __tablename__ = "episode"
    __table_args__ = (
        # the dashboard's flags: a clinic's open episodes in id order, a page at a time
        Index(
            "ix_episode_clinic_active",
            "clinic_id",
            "id",
            postgresql_where=text("status = 'active' AND entered_in_error_at IS NULL"),
            sqlite_where=text("status = 'active' AND entered_in_error_at IS NULL"),
        ),
    )

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    condition_code: Mapped[str] = mapped_column(String(10), index=True)
    condition_title: Mapped[str] = mapped_column(String(300))
    condition_group: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    body_region: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(20))
    onset_on: Mapped[date | None] = mapped_column(Date, default=None)
    chronicity: Mapped[str] = mapped_column(String(20))
    goals: Mapped[str] = mapped_column(Text, default="")
    primary_measure: Mapped[str] = mapped_column(String(20))
    approach: Mapped[str] = mapped_column(String(30), default="iastm")
    status: Mapped[str] = mapped_column(String(20), default="active")
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date, default=None)
    payer: Mapped[str | None] = mapped_column(String(20), default=None)
    surgery: Mapped[bool | None] = mapped_column(Boolean, default=None)
    post_surgical_type: Mapped[str | None] = mapped_column(String(30), default=None)
    comorbidity_count: Mapped[int | None] = mapped_column(Integer, default=None)

    patient: Mapped[Patient] = relationship(lazy="joined")


class Screening(IdMixin, TenantMixin, EnteredInErrorMixin, Base):
    """A contraindication screen at intake or before a visit; answers and result are frozen."""

    __tablename__ = "screening"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("episode.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"), index=True, default=None)
    kind: Mapped[str] = mapped_column(String(20))
    rule_set_version: Mapped[str] = mapped_column(String(20))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    result_status: Mapped[str] = mapped_column(String(20))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    reasoning: Mapped[str | None] = mapped_column(Text, default=None)
    dose_modification: Mapped[str | None] = mapped_column(Text, default=None)
    screened_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    screened_at: Mapped[datetime]
    patient_age_years: Mapped[int | None] = mapped_column(Integer, default=None)


class ScreeningClearance(IdMixin, TenantMixin, EnteredInErrorMixin, Base):
    """A clinician's clearance that lifts a whole-patient block (a clot that has been treated).

    The limb stays blocked; only the patient-wide stop is lifted, and only by a named person.
    """

    __tablename__ = "screening_clearance"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episode.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(10))
    cleared_by: Mapped[str] = mapped_column(String(200))
    cleared_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))


class Consent(IdMixin, TenantMixin, EnteredInErrorMixin, Base):
    """The patient's decision on the exact text shown, kept with its version and hash."""

    __tablename__ = "consent"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episode.id"), index=True)
    decision: Mapped[str] = mapped_column(String(20))
    text_version: Mapped[str] = mapped_column(String(20))
    text_sha256: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None] = mapped_column(default=None)
    sequence: Mapped[int] = mapped_column(Integer, default=1)
    guardian_name: Mapped[str | None] = mapped_column(String(200), default=None)
    guardian_relationship: Mapped[str | None] = mapped_column(String(100), default=None)


def list_for_patient(session: Session, clinic_id: int, patient_id: int) -> Sequence[Episode]:
    """A patient's episodes (not entered in error), newest first."""
    return session.scalars(
        select(Episode)
        .where(
            Episode.patient_id == patient_id,
            Episode.clinic_id == clinic_id,
            Episode.entered_in_error_at.is_(None),
        )
        .order_by(Episode.started_on.desc(), Episode.id.desc())
    ).all()


def count_discharged_by_group(session: Session, clinic_id: int) -> list[tuple[str, str, int]]:
    """(condition group, primary measure, episodes) of the clinic's discharged episodes that
    have a condition group, most episodes first."""
    rows = session.execute(
        select(Episode.condition_group, Episode.primary_measure, func.count(Episode.id))
        .where(
            Episode.clinic_id == clinic_id,
            Episode.status == "discharged",
            Episode.entered_in_error_at.is_(None),
            Episode.condition_group.is_not(None),
        )
        .group_by(Episode.condition_group, Episode.primary_measure)
        .order_by(func.count(Episode.id).desc())
    ).all()
    return [(str(g), str(m), int(n)) for g, m, n in rows]


# ------------------------------------------------------------------ screenings and consents


def find_latest_screening(
    session: Session, clinic_id: int, episode_id: int, kind: str
) -> Screening | None:
    """The episode's newest screening (not entered in error) of a kind, if any."""
    return session.scalar(
        select(Screening)
        .where(
            Screening.episode_id == episode_id,
            Screening.clinic_id == clinic_id,
            Screening.kind == kind,
            Screening.entered_in_error_at.is_(None),
        )
        .order_by(Screening.screened_at.desc(), Screening.id.desc())
        .limit(1)
    )


def list_reasoned_screenings(
    session: Session, clinic_id: int, episode_id: int, limit: int = 20
) -> Sequence[Screening]:
    """The episode's newest screenings (intake or a visit's re-check, not entered in error)
    that record precaution reasoning, newest first."""
    return session.scalars(
        select(Screening)
        .where(
            Screening.episode_id == episode_id,
            Screening.clinic_id == clinic_id,
            Screening.entered_in_error_at.is_(None),
            Screening.reasoning.is_not(None),
        )
        .order_by(Screening.screened_at.desc(), Screening.id.desc())
        .limit(limit)
    ).all()


def list_screenings_in_force(
    session: Session, clinic_id: int, episode_id: int, visit_id: int | None
) -> Sequence[Screening]:
    """The episode's intake screenings and, given a visit, that visit's re-checks (none
    entered in error), newest first: what limits treatment is among them, in one query."""
    values = {"episode": episode_id, "clinic": clinic_id, "visit": visit_id}
    return session.scalars(_screenings_in_force_query(), values).all()


@cache
def _screenings_in_force_query() -> Select[Screening]:
    """Built once (see ``records._owned``); a null visit matches no re-check."""
    return (
        select(Screening)
        .where(
            Screening.episode_id == bindparam("episode"),
            Screening.clinic_id == bindparam("clinic"),
            Screening.entered_in_error_at.is_(None),
            or_(Screening.kind == "intake", Screening.visit_id == bindparam("visit")),
        )
        .order_by(Screening.screened_at.desc(), Screening.id.desc())
    )


def cleared_rule_ids(session: Session, clinic_id: int, episode_id: int) -> set[str]:
    """Rules whose whole-patient block a clinician has cleared for the episode."""
    return set(
        session.scalars(
            select(ScreeningClearance.rule_id).where(
                ScreeningClearance.episode_id == episode_id,
                ScreeningClearance.clinic_id == clinic_id,
                ScreeningClearance.entered_in_error_at.is_(None),
            )
        )
    )


def count_consents(session: Session, clinic_id: int, episode_id: int) -> int:
    """Every consent decision recorded for the episode (entered-in-error ones included, so a
    new decision's sequence number is never reused)."""
    count = session.scalar(
        select(func.count(Consent.id)).where(
            Consent.episode_id == episode_id, Consent.clinic_id == clinic_id
        )
    )
    return int(count or 0)


def find_current_consent(session: Session, clinic_id: int, episode_id: int) -> Consent | None:
    """The episode's latest consent decision (not entered in error), if any."""
    return session.scalar(
        select(Consent)
        .where(
            Consent.episode_id == episode_id,
            Consent.clinic_id == clinic_id,
            Consent.entered_in_error_at.is_(None),
        )
        .order_by(Consent.sequence.desc(), Consent.id.desc())
        .limit(1)
    )
