"""The demo clinic: deterministic, synthetic, and rich enough to show every feature."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from strigil import demo
from strigil.core import response
from strigil.store.clinics import Clinic, User
from strigil.store.episodes import Episode
from strigil.store.outcomes import OutcomeMeasurement
from strigil.store.patients import Patient
from strigil.store.visits import DiscomfortReading, RestrictionFinding, SkinResponse, Visit

ANCHOR = date(2026, 11, 2)


def test_same_seed_gives_the_same_content(session: Session) -> None:
    first = demo.load(session=session, patients=12, seed=7, anchor=ANCHOR, hash_content=True)
    session.rollback()
    second = demo.load(session=session, patients=12, seed=7, anchor=ANCHOR, hash_content=True)
    session.rollback()
    other = demo.load(session=session, patients=12, seed=8, anchor=ANCHOR, hash_content=True)
    assert first.content_hash == second.content_hash
    assert first.content_hash != other.content_hash
    assert len(first.content_hash) == 64


def test_demo_has_two_clinics_three_therapists_each_and_rich_histories(session: Session) -> None:
    summary = demo.load(session=session, patients=60, anchor=ANCHOR)
    assert summary.patients == 60
    assert session.scalar(select(func.count(Clinic.id))) == 2
    therapists = Counter(session.scalars(select(User.clinic_id).where(User.role == "therapist")))
    assert sorted(therapists.values()) == [3, 3]
    assert session.scalar(select(func.count(Patient.id))) == 60
    conditions = set(session.scalars(select(Episode.condition_code)))
    assert len(conditions) >= 8
    per_episode = Counter(session.scalars(select(Visit.episode_id)))
    assert min(per_episode.values()) >= 4 and max(per_episode.values()) <= 12
    for model in (RestrictionFinding, DiscomfortReading, SkinResponse):
        assert session.scalar(select(func.count()).select_from(model))
    assert all(p.record_number.startswith("DEMO-") for p in session.scalars(select(Patient)))


def test_demo_trajectories_include_responders_and_non_responders(session: Session) -> None:
    demo.load(session=session, patients=60, anchor=ANCHOR)
    categories: Counter[str] = Counter()
    for episode in session.scalars(select(Episode)):
        rows = session.scalars(
            select(OutcomeMeasurement)
            .where(
                OutcomeMeasurement.episode_id == episode.id,
                OutcomeMeasurement.measure == episode.primary_measure,
            )
            .order_by(OutcomeMeasurement.measured_at)
        ).all()
        result = response.classify(episode.primary_measure, rows[0].score, rows[-1].score)
        categories[result.category] += 1
    assert categories["improved"] >= 10
    assert categories["unchanged"] + categories["worse"] >= 5


def test_demo_has_two_therapist_reliability_checks(session: Session) -> None:
    demo.load(session=session, anchor=ANCHOR)
    checks = session.scalars(select(Visit.id).where(Visit.reliability_check)).all()
    assert checks
    raters = session.execute(
        select(
            RestrictionFinding.visit_id,
            func.count(func.distinct(RestrictionFinding.recorded_by_id)),
        )
        .where(RestrictionFinding.visit_id.in_(checks))
        .group_by(RestrictionFinding.visit_id)
    ).all()
    assert raters and all(n == 2 for _, n in raters)


def test_demo_day_is_booked_through_the_services(session: Session) -> None:
    from datetime import UTC, datetime

    from strigil.services import appointments, auth
    from strigil.store.appointments import Appointment
    from strigil.store.audit import AuditEvent

    demo.load(session=session, patients=60, anchor=ANCHOR)
    rows = session.scalars(select(Appointment)).all()
    per_therapist = Counter(a.therapist_id for a in rows)
    assert max(per_therapist.values()) == 6
    for clinic_id in (1, 2):  # six per therapist, as far as the clinic's active episodes go
        active = session.scalar(
            select(func.count(Episode.id)).where(
                Episode.clinic_id == clinic_id, Episode.status == "active"
            )
        )
        booked = sum(1 for a in rows if a.clinic_id == clinic_id)
        assert booked == min(int(active or 0), 18)
    assert all(a.starts_at.date() == ANCHOR and a.status == "booked" for a in rows)
    assert all(a.episode_id is not None for a in rows)
    audited = session.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.entity_type == "appointment")
    )
    assert audited == len(rows)
    therapist = session.scalars(select(User).where(User.role == "therapist")).first()
    assert therapist is not None
    noon = datetime(ANCHOR.year, ANCHOR.month, ANCHOR.day, 12, tzinfo=UTC)
    today = appointments.today(session=session, actor=auth.actor_for(therapist), now=noon)
    assert len(today) == sum(1 for a in rows if a.clinic_id == therapist.clinic_id) > 0
