"""Clinic insight through the services: episodes become model input (completers, dropouts,
patients still in care), each role sees only its cut, too little data gets a message, the fit
is cached per data version, and the safety rates count what happened in the visits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_episode, make_patient, make_user

from strigil.errors import InvalidInput, NotPermitted
from strigil.services import computations, episodes, insight
from strigil.store.adverse_events import AdverseEvent
from strigil.store.audit import AuditEvent
from strigil.store.base import utcnow
from strigil.store.clinics import Clinic, User
from strigil.store.episodes import Episode
from strigil.store.outcomes import OutcomeMeasurement
from strigil.store.visits import SkinResponse, TreatedArea, Visit


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    computations.cache_of("insight-fits").clear()
    insight._MEMO.clear()  # counts and charts remembered per data version


def _score(session: Session, user: User, episode: Episode, score: float, days_ago: int) -> None:
    session.add(
        OutcomeMeasurement(
            clinic_id=user.clinic_id, patient_id=episode.patient_id, episode_id=episode.id,
            measure="NPRS", registry_version="test",
            measured_at=utcnow() - timedelta(days=days_ago), answers=[score], score=score,
            recorded_by_id=user.id,
        )
    )  # fmt: skip


def _visit(session: Session, user: User, episode: Episode, days_ago: int, number: int) -> Visit:
    visit = Visit(
        clinic_id=user.clinic_id, episode_id=episode.id, patient_id=episode.patient_id,
        therapist_id=user.id, number=number, started_at=utcnow() - timedelta(days=days_ago),
        status="signed",
    )  # fmt: skip
    session.add(visit)
    session.flush()
    return visit


def build(session: Session, clinic: Clinic, per_therapist: int, seed: int = 3) -> list[User]:
    """Three therapists with discharged NPRS episodes; the second is planted 1.5 points better."""
    rng = np.random.default_rng(seed)
    staff = [make_user(session, clinic) for _ in range(3)]
    for t, user in enumerate(staff):
        for _ in range(per_therapist):
            episode = make_episode(
                session, user, make_patient(session, user), primary_measure="NPRS"
            )
            episode.status, episode.ended_on = "discharged", (utcnow() - timedelta(days=20)).date()
            episode.started_on = (utcnow() - timedelta(days=80)).date()
            episode.payer = str(rng.choice(["private", "medicare"]))
            episode.comorbidity_count = int(rng.integers(0, 4))
            intake = float(rng.uniform(5, 9))
            gain = 0.4 * intake + (1.5 if t == 1 else 0.0) + float(rng.normal(0, 0.8))
            _score(session, user, episode, round(intake, 1), 80)
            _score(session, user, episode, float(np.clip(round(intake - gain, 1), 0, 10)), 20)
            _visit(session, user, episode, 25, 1)
    session.flush()
    return staff


def test_each_role_sees_its_own_cut_of_one_fit(session: Session) -> None:
    clinic = make_clinic(session)
    staff = build(session, clinic, 12)
    session.commit()
    today = utcnow().date()
    mine = insight.outcomes(session=session, actor=actor(staff[1]), measure="NPRS", today=today)
    assert mine.fit is not None and mine.message is None
    assert mine.fit.n == 36 and mine.fit.n_therapists == 3
    assert mine.fit.residuals == () and mine.fit.therapists == () and mine.fit.clinics == ()
    (row,) = mine.therapists
    assert row.mine and row.label == staff[1].display_name and row.n == 12
    assert row.effect > 0 and row.ci_low < row.effect < row.ci_high
    assert len(mine.patients) == 12
    audited = session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.entity_type == "clinic_insight", AuditEvent.patient_id.is_not(None),
            AuditEvent.user_id == staff[1].id,
        )
    )  # fmt: skip
    assert audited == 12

    admin = make_user(session, clinic, role="admin")
    theirs = insight.outcomes(session=session, actor=actor(admin), measure="NPRS", today=today)
    assert {r.label for r in theirs.therapists} == {u.display_name for u in staff}
    assert theirs.patients == ()
    best = max(theirs.therapists, key=lambda r: r.effect)
    assert best.label == staff[1].display_name

    researcher = make_user(session, clinic, role="researcher")
    blind = insight.outcomes(session=session, actor=actor(researcher), measure="NPRS", today=today)
    labels = {r.label for r in blind.therapists}
    assert labels == {"Therapist A", "Therapist B", "Therapist C"}
    assert not labels & {u.display_name for u in staff}
    assert blind.patients == ()
    assert sorted(r.effect for r in blind.therapists) == sorted(r.effect for r in theirs.therapists)


def test_too_few_episodes_says_how_many(session: Session) -> None:
    staff = build(session, make_clinic(session), 2)
    session.commit()
    result = insight.outcomes(
        session=session, actor=actor(staff[0]), measure="NPRS", today=utcnow().date()
    )
    assert result.fit is None and result.therapists == ()
    assert result.message is not None
    assert result.message.startswith("not enough data: n = 6, at least 20 needed")
    lower = insight.outcomes(
        session=session, actor=actor(staff[0]), measure="NPRS", today=utcnow().date(),
        min_episodes=5,
    )  # fmt: skip
    assert lower.fit is not None and lower.fit.n == 6


def test_dropouts_and_patients_in_care(session: Session) -> None:
    clinic = make_clinic(session)
    staff = build(session, clinic, 8)
    user = staff[0]
    lapsed = make_episode(session, user, make_patient(session, user), primary_measure="NPRS")
    lapsed.started_on = (utcnow() - timedelta(days=100)).date()
    _score(session, user, lapsed, 8.0, 100)
    _visit(session, user, lapsed, 90, 1)
    current = make_episode(session, user, make_patient(session, user), primary_measure="NPRS")
    _score(session, user, current, 7.0, 3)
    _visit(session, user, current, 3, 1)
    session.flush()
    session.commit()
    result = insight.outcomes(
        session=session, actor=actor(user), measure="NPRS", today=utcnow().date()
    )
    assert result.fit is not None
    assert result.fit.n == 25 and result.fit.n_dropouts == 1
    assert result.n_in_care == 1
    (row,) = result.therapists
    assert row.n == 9 and row.n_dropouts == 1
    dropped = [p for p in result.patients if p.dropout]
    assert len(dropped) == 1 and dropped[0].actual == 0.0
    assert dropped[0].patient_id == str(lapsed.patient.external_id)


def test_fit_is_reused_until_the_data_change(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    staff = build(session, make_clinic(session), 8)
    session.commit()
    calls: list[int] = []
    real = insight.risk_model.fit

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(insight.risk_model, "fit", counting)
    who, today = actor(staff[0]), utcnow().date()
    insight.outcomes(session=session, actor=who, measure="NPRS", today=today)
    insight.outcomes(session=session, actor=who, measure="NPRS", today=today)
    assert len(calls) == 1
    episode = make_episode(
        session, staff[0], make_patient(session, staff[0]), primary_measure="NPRS"
    )
    session.commit()
    insight.outcomes(session=session, actor=who, measure="NPRS", today=today)
    assert len(calls) == 2
    assert episode.id


def test_bad_input_and_roles(session: Session) -> None:
    clinic = make_clinic(session)
    user = make_user(session, clinic)
    today = utcnow().date()
    with pytest.raises(InvalidInput) as bad:
        insight.outcomes(session=session, actor=actor(user), measure="GROC", today=today)
    assert bad.value.field == "measure"
    with pytest.raises(InvalidInput) as small:
        insight.outcomes(session=session, actor=actor(user), measure="NPRS", today=today,
                         min_episodes=2)  # fmt: skip
    assert small.value.field == "min_episodes"
    assistant = make_user(session, clinic, role="assistant")
    with pytest.raises(NotPermitted):
        insight.outcomes(session=session, actor=actor(assistant), measure="NPRS", today=today)
    with pytest.raises(NotPermitted):
        insight.safety(session=session, actor=actor(assistant), today=today)
    empty = insight.safety(session=session, actor=actor(user), today=today)
    assert empty.message == "not enough data: n = 0 visits in the last 12 months"


def test_safety_rates_count_events_per_100_visits(session: Session) -> None:
    clinic = make_clinic(session)
    staff = build(session, clinic, 10)  # 10 visits each
    user = staff[0]
    visits = session.scalars(select(Visit).where(Visit.therapist_id == user.id)).all()
    for i, visit in enumerate(visits[:4]):
        area = TreatedArea(
            clinic_id=clinic.id, visit_id=visit.id, body_site="lateral_elbow",
            body_region="elbow_forearm", side="right", instrument_type="stainless_steel",
            intensity="gentle", seconds=60 * (i + 1),
            stop_reason="tolerance_reached" if i < 2 else "completed",
        )  # fmt: skip
        session.add(area)
        session.flush()
        if i == 0:
            session.add(SkinResponse(clinic_id=clinic.id, treated_area_id=area.id,
                                     recorded_by_id=user.id, grade="ecchymosis"))  # fmt: skip
            session.add(AdverseEvent(
                clinic_id=clinic.id, patient_id=visit.patient_id, visit_id=visit.id,
                category="bruising", severity="mild", description="Bruise",
                onset_at=datetime.now(UTC), recorded_by_id=user.id,
            ))  # fmt: skip
    session.flush()
    result = insight.safety(session=session, actor=actor(user), today=utcnow().date())
    (mine,) = result.therapists
    assert mine.visits == 10
    assert mine.adverse_events.events == 1 and mine.adverse_events.value == 10.0
    assert mine.adverse_events.ci_low < 10.0 < mine.adverse_events.ci_high
    assert mine.bruising.events == 1
    assert set(mine.stops) == {"tolerance_reached"}  # a completed area is no stop-rule event
    assert mine.stops["tolerance_reached"].value == 20.0
    minutes = mine.minutes["elbow_forearm"]
    assert minutes.n == 4 and minutes.value == 2.5 and minutes.ci_low < 2.5 < minutes.ci_high
    assert result.clinic is not None and result.clinic.visits == 30
    assert result.clinic.adverse_events.value == pytest.approx(100 / 30)


def test_episode_risk_factors_are_validated_and_kept(session: Session) -> None:
    clinic = make_clinic(session)
    user = make_user(session, clinic)
    patient = make_patient(session, user)
    base: dict[str, object] = {
        "condition_code": "M77.11",
        "body_region": "elbow_forearm",
        "side": "right",
        "chronicity": "chronic",
        "primary_measure": "PRTEE",
    }
    cases: list[tuple[dict[str, object], str]] = [
        ({"payer": "insurer"}, "payer"),
        ({"post_surgical_type": "arthroscopy"}, "post_surgical_type"),
        ({"surgery": False, "post_surgical_type": "arthroscopy"}, "post_surgical_type"),
        ({"comorbidity_count": -1}, "comorbidity_count"),
        ({"comorbidity_count": 31}, "comorbidity_count"),
    ]
    who = actor(user)
    for extra, field in cases:
        data = episodes.EpisodeInput(**base, **extra)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput) as error:
            episodes.open_episode(
                session=session, actor=who, patient_id=patient.external_id, data=data
            )
        assert error.value.field == field
    before = session.scalar(select(func.count(Episode.id)).where(Episode.clinic_id == clinic.id))
    assert before == 0
    extra = {
        "payer": "workers_comp",
        "surgery": True,
        "post_surgical_type": "tendon_repair",
        "comorbidity_count": 2,
    }
    data = episodes.EpisodeInput(**base, **extra)  # type: ignore[arg-type]
    episode = episodes.open_episode(
        session=session, actor=who, patient_id=patient.external_id, data=data
    )
    saved = (episode.payer, episode.surgery, episode.post_surgical_type, episode.comorbidity_count)
    assert saved == ("workers_comp", True, "tendon_repair", 2)


def test_an_event_recorded_without_a_visit_counts_against_the_visit_it_followed(
    session: Session,
) -> None:
    clinic = make_clinic(session)
    staff = build(session, clinic, 10)
    first, second = staff[0], staff[1]
    visit = session.scalars(
        select(Visit).where(Visit.therapist_id == second.id).order_by(Visit.started_at.desc())
    ).first()
    assert visit is not None
    phoned_in = {"category": "bruising", "severity": "mild", "description": "Rang: bruise"}
    session.add(AdverseEvent(clinic_id=clinic.id, patient_id=visit.patient_id, visit_id=None,
                             onset_at=visit.started_at + timedelta(days=1),
                             recorded_by_id=first.id, **phoned_in))  # fmt: skip
    before_any = make_patient(session, first)  # onset before any visit of the period
    session.add(AdverseEvent(clinic_id=clinic.id, patient_id=before_any.id, visit_id=None,
                             onset_at=utcnow() - timedelta(days=2),
                             recorded_by_id=first.id, **phoned_in))  # fmt: skip
    session.flush()
    admin = make_user(session, clinic, role="admin")
    result = insight.safety(session=session, actor=actor(admin), today=utcnow().date())
    events = {t.label: t.adverse_events.events for t in result.therapists}
    assert events[second.display_name] == 1  # the phoned-in bruise followed their visit
    assert sum(events.values()) == 1
    assert result.unattributed_events == 1
    assert result.clinic is not None and result.clinic.adverse_events.events == 2
