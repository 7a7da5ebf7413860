"""Today's day book for the demo clinics, booked through the same services as a booking on
the page (so the overlap rule and the audit trail apply), so the dashboard opens on a day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from strigil.services import appointments, auth
from strigil.store.clinics import User
from strigil.store.episodes import Episode
from strigil.store.patients import Patient

PER_THERAPIST = 6
FIRST_HOUR = 8
MINUTES = 45


def book_day(*, session: Session, clinic_ids: list[int], day: date) -> int:
    """Book ``PER_THERAPIST`` appointments on ``day`` for every therapist of each clinic, with
    patients whose episode is active; returns how many were booked."""
    booked = 0
    for clinic_id in clinic_ids:
        therapists = session.scalars(
            select(User)
            .where(User.clinic_id == clinic_id, User.role == "therapist")
            .order_by(User.id)
        ).all()
        episodes = _active_episodes(session, clinic_id, len(therapists) * PER_THERAPIST)
        for n, (episode_id, patient_id) in enumerate(episodes):
            therapist = therapists[n // PER_THERAPIST]
            slot = n % PER_THERAPIST
            start = datetime.combine(day, time(FIRST_HOUR), tzinfo=UTC) + timedelta(hours=slot)
            appointments.book(
                session=session,
                actor=auth.actor_for(therapist),
                data=appointments.AppointmentInput(
                    patient_id=patient_id,
                    therapist_id=therapist.external_id,
                    starts_at=start,
                    minutes=MINUTES,
                    episode_id=episode_id,
                    note="Follow-up" if slot else "First visit of the day",
                ),
            )
            booked += 1
    return booked


def _active_episodes(session: Session, clinic_id: int, limit: int) -> list[tuple[object, object]]:
    rows = session.execute(
        select(Episode.external_id, Patient.external_id)
        .join(Patient, Patient.id == Episode.patient_id)
        .where(
            Episode.clinic_id == clinic_id,
            Episode.status == "active",
            Episode.entered_in_error_at.is_(None),
            Patient.entered_in_error_at.is_(None),
        )
        .order_by(Episode.id)
        .limit(limit)
    ).all()
    return [(e, p) for e, p in rows]
