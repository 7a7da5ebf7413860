"""Outcome measurements: raw answers kept beside the score and the registry version."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from strigil.store.base import Base, EnteredInErrorMixin, IdMixin, TenantMixin
from strigil.store.episodes import Episode
from strigil.store.visits import Visit

EpisodeScore = tuple[int, int, int, str, float]
"""(episode id, patient id, therapist id, approach, score)."""


class OutcomeMeasurement(IdMixin, TenantMixin, EnteredInErrorMixin, Base):
    """One administration of a measure, at a visit or on its own."""

    __tablename__ = "outcome_measurement"
    __table_args__ = (Index("ix_outcome_episode_measure", "episode_id", "measure", "measured_at"),)

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episode.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"), index=True, default=None)
    measure: Mapped[str] = mapped_column(String(20))
    registry_version: Mapped[str] = mapped_column(String(20))
    measured_at: Mapped[datetime]
    answers: Mapped[list[Any]] = mapped_column(JSON)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    score: Mapped[float] = mapped_column(Float)
    subscores: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    # "patient" when the patient answered through a link (recorded_by is then who issued it)
    source: Mapped[str] = mapped_column(String(10), default="staff", server_default="staff")
    patient_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("patient_link.id"), index=True, default=None
    )
    # What a patient read (patient-reported only): {"language", "wording", "translation"}, the
    # last naming the clinic's checked translation (holder, version) when one was used
    administration: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


def list_completed_episode_scores(
    session: Session, clinic_id: int, condition_group: str, measure: str
) -> list[EpisodeScore]:
    """Every score on ``measure`` of the clinic's discharged episodes of ``condition_group``
    whose primary measure it is, by episode and then in the order measured."""
    rows = session.execute(
        select(
            Episode.id,
            Episode.patient_id,
            Episode.therapist_id,
            Episode.approach,
            OutcomeMeasurement.score,
        )  # fmt: skip
        .join(OutcomeMeasurement, OutcomeMeasurement.episode_id == Episode.id)
        .where(
            Episode.clinic_id == clinic_id,
            OutcomeMeasurement.clinic_id == clinic_id,
            Episode.status == "discharged",
            Episode.entered_in_error_at.is_(None),
            OutcomeMeasurement.entered_in_error_at.is_(None),
            Episode.condition_group == condition_group,
            Episode.primary_measure == measure,
            OutcomeMeasurement.measure == measure,
        )
        .order_by(Episode.id, OutcomeMeasurement.measured_at, OutcomeMeasurement.id)
    ).all()
    return [(r[0], r[1], r[2], r[3], float(r[4])) for r in rows]


def primary_history(
    session: Session, clinic_id: int, episode_ids: Sequence[int]
) -> dict[int, list[tuple[float, datetime]]]:
    """Episode id → its (score, measured at) on its own primary measure, in the order measured."""
    out: dict[int, list[tuple[float, datetime]]] = defaultdict(list)
    for episode_id, score, measured in session.execute(
        select(
            OutcomeMeasurement.episode_id, OutcomeMeasurement.score, OutcomeMeasurement.measured_at
        )
        .join(Episode, Episode.id == OutcomeMeasurement.episode_id)
        .where(
            OutcomeMeasurement.episode_id.in_(episode_ids),
            OutcomeMeasurement.clinic_id == clinic_id,
            OutcomeMeasurement.measure == Episode.primary_measure,
            OutcomeMeasurement.entered_in_error_at.is_(None),
        )
        .order_by(OutcomeMeasurement.episode_id, OutcomeMeasurement.measured_at)
    ):
        out[episode_id].append((score, measured))
    return out


def list_measurements(
    session: Session, clinic_id: int, episode_id: int, measure: str | None = None
) -> Sequence[OutcomeMeasurement]:
    """The episode's measurements (not entered in error), of one measure when given, in the
    order measured."""
    query = select(OutcomeMeasurement).where(
        OutcomeMeasurement.episode_id == episode_id,
        OutcomeMeasurement.clinic_id == clinic_id,
        OutcomeMeasurement.entered_in_error_at.is_(None),
    )
    if measure:
        query = query.where(OutcomeMeasurement.measure == measure)
    return session.scalars(
        query.order_by(OutcomeMeasurement.measured_at, OutcomeMeasurement.id)
    ).all()


def list_discharged_scores_by_visit(
    session: Session, clinic_id: int, condition_group: str, measure: str, *, except_episode: int
) -> list[tuple[int, int, float]]:
    """(episode id, visit number, score) of every visit-bound score on ``measure`` in the
    clinic's discharged episodes of ``condition_group`` other than ``except_episode``, by
    episode and visit number."""
    rows = session.execute(
        select(OutcomeMeasurement.episode_id, Visit.number, OutcomeMeasurement.score)
        .join(Episode, Episode.id == OutcomeMeasurement.episode_id)
        .join(Visit, Visit.id == OutcomeMeasurement.visit_id)
        .where(
            Episode.clinic_id == clinic_id,
            Episode.status == "discharged",
            Episode.condition_group == condition_group,
            Episode.id != except_episode,
            Episode.entered_in_error_at.is_(None),
            OutcomeMeasurement.measure == measure,
            OutcomeMeasurement.entered_in_error_at.is_(None),
        )
        .order_by(OutcomeMeasurement.episode_id, Visit.number)
    ).all()
    return [(int(e), int(n), float(score)) for e, n, score in rows]
