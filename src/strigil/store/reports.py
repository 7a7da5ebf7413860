"""What a progress report or discharge summary reads about one episode, a query per kind."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from strigil.store.adverse_events import AdverseEvent
from strigil.store.episodes import Episode
from strigil.store.visits import ExercisePrescription, TreatedArea, Visit

__all__ = [
    "find_episode_in_any_clinic",
    "list_adverse_events_of_episode",
    "list_areas_of_episode",
    "list_latest_prescriptions",
    "list_visits_in_order",
]


def find_episode_in_any_clinic(session: Session, external_id: uuid.UUID) -> Episode | None:
    """The episode with this public id in any clinic (the operator's CLI), unless in error."""
    return session.scalar(
        select(Episode).where(
            Episode.external_id == external_id, Episode.entered_in_error_at.is_(None)
        )
    )


def list_visits_in_order(session: Session, clinic_id: int, episode_id: int) -> Sequence[Visit]:
    """The episode's visits (not entered in error), first to last."""
    return session.scalars(
        select(Visit)
        .where(
            Visit.episode_id == episode_id,
            Visit.clinic_id == clinic_id,
            Visit.entered_in_error_at.is_(None),
        )
        .order_by(Visit.number, Visit.id)
    ).all()


def list_areas_of_episode(
    session: Session, clinic_id: int, episode_id: int
) -> list[tuple[int, TreatedArea]]:
    """(visit number, area) for every live treated area of the episode's live visits."""
    rows = session.execute(
        select(Visit.number, TreatedArea)
        .join(Visit, Visit.id == TreatedArea.visit_id)
        .where(
            Visit.episode_id == episode_id,
            Visit.clinic_id == clinic_id,
            Visit.entered_in_error_at.is_(None),
            TreatedArea.entered_in_error_at.is_(None),
        )
        .order_by(Visit.number, TreatedArea.id)
    )
    return [(int(n), area) for n, area in rows]


def list_adverse_events_of_episode(
    session: Session, episode: Episode
) -> list[tuple[int | None, AdverseEvent]]:
    """(visit number, event) for the patient's live adverse events that belong to the episode,
    oldest first: recorded against one of its visits or treated areas, or, with neither, with
    an onset between the episode's start and its discharge."""
    area = aliased(TreatedArea)
    rows = session.execute(
        select(Visit.episode_id, Visit.number, AdverseEvent)
        .outerjoin(area, area.id == AdverseEvent.treated_area_id)
        .outerjoin(
            Visit,
            (Visit.id == func.coalesce(AdverseEvent.visit_id, area.visit_id))
            & Visit.entered_in_error_at.is_(None),
        )
        .where(
            AdverseEvent.patient_id == episode.patient_id,
            AdverseEvent.clinic_id == episode.clinic_id,
            AdverseEvent.entered_in_error_at.is_(None),
        )
        .order_by(AdverseEvent.onset_at, AdverseEvent.id)
    )
    out: list[tuple[int | None, AdverseEvent]] = []
    for episode_id, number, event in rows:
        if episode_id == episode.id:
            out.append((int(number), event))
        elif episode_id is None and _within(event.onset_at.date(), episode):
            out.append((None, event))
    return out


def _within(day: date, episode: Episode) -> bool:
    return episode.started_on <= day and (episode.ended_on is None or day <= episode.ended_on)


def list_latest_prescriptions(
    session: Session, clinic_id: int, episode_id: int
) -> tuple[int | None, Sequence[ExercisePrescription]]:
    """The after-care of the latest visit of the episode that prescribed any: (visit number,
    its live prescriptions)."""
    number = session.scalar(
        select(Visit.number)
        .join(ExercisePrescription, ExercisePrescription.visit_id == Visit.id)
        .where(
            Visit.episode_id == episode_id,
            Visit.clinic_id == clinic_id,
            Visit.entered_in_error_at.is_(None),
            ExercisePrescription.entered_in_error_at.is_(None),
        )
        .order_by(Visit.number.desc())
        .limit(1)
    )
    if number is None:
        return None, ()
    rows = session.scalars(
        select(ExercisePrescription)
        .join(Visit, Visit.id == ExercisePrescription.visit_id)
        .where(
            Visit.episode_id == episode_id,
            Visit.clinic_id == clinic_id,
            Visit.number == number,
            Visit.entered_in_error_at.is_(None),
            ExercisePrescription.entered_in_error_at.is_(None),
        )
        .order_by(ExercisePrescription.id)
    ).all()
    return int(number), rows
