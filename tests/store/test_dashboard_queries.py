"""The dashboard's shortcuts give the answers of the plain queries: recent patients from a
window of the latest visits, and episode flags read a chunk at a time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, recheck_answers

from strigil.core import catalog
from strigil.services import dashboard, visits
from strigil.store import visits as store
from strigil.store.clinics import User
from strigil.store.patients import Patient


def _seen(session: Session, user: User, patient: Patient, days_ago: int) -> None:
    episode = make_episode(session, user, patient)
    ready_for_iastm(session, user, episode)
    visit = visits.start(
        session=session,
        actor=actor(user),
        episode_id=episode.external_id,
        data=visits.VisitStart(tolerance_limit=6, recheck=recheck_answers()),
    )
    visit.started_at = visit.started_at - timedelta(days=days_ago)


def test_recent_patients_from_a_window_match_grouping_every_visit(session: Session) -> None:
    user = make_user(session, make_clinic(session))
    people = [make_patient(session, user, given_name=f"P{i}") for i in range(8)]
    for i, patient in enumerate(people[:6]):
        _seen(session, user, patient, days_ago=10 - i)
    _seen(session, user, people[0], days_ago=0)  # seen again today
    session.flush()
    full = store._recently_seen_everyone(session, user.clinic_id, 5)
    for window in (1, 2, 3, 50):  # too small a window falls back to the full query
        fast = store.list_recently_seen_patients(session, user.clinic_id, limit=5, window=window)
        assert [(p.id, seen) for p, seen in fast] == [(p.id, seen) for p, seen in full], window
    assert full[0][0].id == people[0].id


def test_flags_read_in_chunks_are_the_flags_read_at_once(session: Session) -> None:
    user = make_user(session, make_clinic(session))
    for i in range(7):
        patient = make_patient(session, user, given_name=f"F{i}")
        episode = make_episode(session, user, patient)
        ready_for_iastm(session, user, episode)
        for _ in range(i % 3 + 4):  # four to six visits, never re-measured: flagged
            visits.start(
                session=session,
                actor=actor(user),
                episode_id=episode.external_id,
                data=visits.VisitStart(tolerance_limit=6, recheck=recheck_answers()),
            )
    session.flush()
    limits = catalog.thresholds()
    once = dashboard._episode_flags(session, user.clinic_id, limits, limit=5, chunk=1000)
    assert len(once) == 5
    for chunk in (1, 2, 3):
        assert (
            dashboard._episode_flags(session, user.clinic_id, limits, limit=5, chunk=chunk) == once
        )
