"""Store queries: each clinic-scoped list returns the given clinic's rows and no other's.

Two clinics get the same kinds of rows; every query is asked about the first clinic and must
not return anything of the second (row-level security is off on SQLite and for the owner, so
this checks the queries' own clinic filter).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session
from tests.factories import make_clinic, make_episode, make_patient, make_user

from strigil.errors import NotFound
from strigil.store import adverse_events, audit, clinics, episodes, outcomes, patients, records
from strigil.store import visits as visit_store
from strigil.store.adverse_events import AdverseEvent
from strigil.store.audit import AuditEvent
from strigil.store.base import utcnow
from strigil.store.clinics import Clinic, Instrument, User
from strigil.store.episodes import Episode
from strigil.store.outcomes import OutcomeMeasurement
from strigil.store.patients import Patient
from strigil.store.visits import RestrictionFinding, Visit


@dataclass
class World:
    clinic: Clinic
    user: User
    patient: Patient
    episode: Episode
    visit: Visit


def _world(session: Session, name: str) -> World:
    clinic = make_clinic(session, name)
    user = make_user(session, clinic)
    patient = make_patient(session, user, family_name=f"Shared{name}")
    episode = make_episode(session, user, patient, primary_measure="NPRS")
    episode.status = "discharged"
    episode.condition_group = "lateral_elbow"
    now = utcnow()
    visit = Visit(
        clinic_id=clinic.id, episode_id=episode.id, patient_id=patient.id,
        therapist_id=user.id, number=1, started_at=now, reliability_check=True,
    )  # fmt: skip
    session.add(visit)
    session.flush()
    for days, score in ((10, 7.0), (1, 3.0)):
        session.add(
            OutcomeMeasurement(
                clinic_id=clinic.id,
                patient_id=patient.id,
                episode_id=episode.id,
                measure="NPRS",
                registry_version="test",
                measured_at=now - timedelta(days=days),
                answers=[score],
                score=score,
                recorded_by_id=user.id,
            )  # fmt: skip
        )
    session.add_all(
        [
            AdverseEvent(
                clinic_id=clinic.id, patient_id=patient.id, visit_id=visit.id,
                category="bruise", severity="mild", description="bruise", onset_at=now,
                recorded_by_id=user.id,
            ),
            RestrictionFinding(
                clinic_id=clinic.id, visit_id=visit.id, recorded_by_id=user.id,
                chart_view="front", x=0.2, y=0.4, body_site="lateral_epicondyle",
                texture="gravelly", severity=2,
            ),
            Instrument(clinic_id=clinic.id, label="Scanner", type_code="scanner"),
            AuditEvent(clinic_id=clinic.id, user_id=user.id, action="read", entity_type="x",
                       patient_id=str(patient.external_id)),
        ]
    )  # fmt: skip
    session.flush()
    return World(clinic, user, patient, episode, visit)


def test_clinic_scoped_queries_return_only_that_clinics_rows(session: Session) -> None:
    a, b = _world(session, "Query A"), _world(session, "Query B")
    cid = a.clinic.id

    assert records.find_owned(session, Patient, a.patient.external_id, cid) is a.patient
    assert records.find_owned(session, Patient, b.patient.external_id, cid) is None
    assert patients.find_patient(session, cid, a.patient.id) is a.patient
    assert patients.find_patient(session, cid, b.patient.id) is None
    assert list(patients.list_matching(session, cid, ["shared"], limit=10)) == [a.patient]

    assert [u.id for u in clinics.list_users(session, cid)] == [a.user.id]
    assert set(clinics.user_names(session, cid)) == {a.user.id}
    assert {i.clinic_id for i in clinics.list_instruments(session, cid)} == {cid}
    assert {e.clinic_id for e in audit.list_events(session, cid)} == {cid}

    assert list(episodes.list_for_patient(session, cid, b.patient.id)) == []
    assert episodes.count_discharged_by_group(session, cid) == [("lateral_elbow", "NPRS", 1)]
    scores = outcomes.list_completed_episode_scores(session, cid, "lateral_elbow", "NPRS")
    assert {row[0] for row in scores} == {a.episode.id}

    both = [a.episode.id, b.episode.id]
    assert set(outcomes.primary_scores(session, cid, both)) == {a.episode.id}
    assert outcomes.count_visits_since_primary_measured(session, cid, both) == {a.episode.id: 1}

    summaries = visit_store.list_visit_summaries(session, cid)
    assert [row[0] for row in summaries] == [a.visit.external_id]
    recent = visit_store.list_recently_seen_patients(session, cid)
    assert [p for p, _ in recent] == [a.patient]
    assert [v for v, _ in visit_store.list_reliability_checks(session, cid)] == [a.visit]
    findings = visit_store.list_findings_of_visits(session, cid, [a.visit.id, b.visit.id])
    assert {f.visit_id for f in findings} == {a.visit.id}
    events = adverse_events.list_open_with_patients(session, cid)
    assert [p for _, p in events] == [a.patient]


def test_active_episodes_and_filters(session: Session) -> None:
    a = _world(session, "Query C")
    a.episode.status = "active"
    session.flush()
    rows = visit_store.list_active_episodes(session, a.clinic.id)
    assert [(r[0], r[-1]) for r in rows] == [(a.episode.id, 1)]
    assert visit_store.list_visit_summaries(session, a.clinic.id, status="signed") == []
    assert visit_store.list_findings_of_visits(session, a.clinic.id, []) == []
    assert audit.list_events(session, a.clinic.id, action="write") == []


def test_get_clinic_raises_not_found(session: Session) -> None:
    clinic = make_clinic(session, "Query D")
    assert clinics.get_clinic(session, clinic.id) is clinic
    assert clinics.find_clinic_by_name(session, "Query D") is clinic
    with pytest.raises(NotFound) as caught:
        clinics.get_clinic(session, clinic.id + 10_000)
    assert caught.value.code == "clinic_not_found"
