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
from strigil.store.episodes import Consent, Episode, Screening, ScreeningClearance
from strigil.store.outcomes import OutcomeMeasurement
from strigil.store.patients import Patient
from strigil.store.visits import (
    BillingLine,
    DiscomfortReading,
    ExercisePrescription,
    NoteAddendum,
    RestrictionFinding,
    SkinResponse,
    TreatedArea,
    Visit,
    VisitMeasurement,
)


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
    assert set(outcomes.primary_history(session, cid, both)) == {a.episode.id}
    assert set(visit_store.list_visit_starts(session, cid, both)) == {a.episode.id}

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


def _record(session: Session, w: World) -> TreatedArea:
    """A treated area with a reading and a bruise, and one row of each other visit record."""
    cid, uid, vid = w.clinic.id, w.user.id, w.visit.id
    now = utcnow()
    area = TreatedArea(
        clinic_id=cid, visit_id=vid, body_site="lateral_elbow", body_region="elbow",
        side="right", instrument_type="stainless_steel", intensity="gentle", status="stopped",
        stop_reason="completed",
    )  # fmt: skip
    session.add(area)
    session.flush()
    later = Visit(
        clinic_id=cid, episode_id=w.episode.id, patient_id=w.patient.id, therapist_id=uid,
        number=2, started_at=now, status="signed",
    )  # fmt: skip
    session.add_all(
        [
            later,
            DiscomfortReading(clinic_id=cid, treated_area_id=area.id, recorded_by_id=uid, value=3),
            SkinResponse(
                clinic_id=cid, treated_area_id=area.id, recorded_by_id=uid, grade="ecchymosis"
            ),
            ExercisePrescription(
                clinic_id=cid, visit_id=vid, exercise_code="x", sets=1, repetitions=5,
                frequency="daily",
            ),
            VisitMeasurement(
                clinic_id=cid, visit_id=vid, recorded_by_id=uid, kind="ppt", name="PPT",
                unit="kPa", pre_value=300.0,
            ),
            BillingLine(clinic_id=cid, visit_id=vid, recorded_by_id=uid, code="97110", seconds=60),
            NoteAddendum(clinic_id=cid, visit_id=vid, author_id=uid, text="later"),
            Screening(
                clinic_id=cid, patient_id=w.patient.id, episode_id=w.episode.id, kind="intake",
                rule_set_version="t", answers={}, result_status="clear", result={},
                screened_by_id=uid, screened_at=now,
            ),
            ScreeningClearance(
                clinic_id=cid, patient_id=w.patient.id, episode_id=w.episode.id, rule_id="A3",
                cleared_by="Dr Test", cleared_at=now, note="treated", recorded_by_id=uid,
            ),
            Consent(
                clinic_id=cid, patient_id=w.patient.id, episode_id=w.episode.id,
                decision="granted", text_version="t", text_sha256="0" * 64, text="t",
                recorded_by_id=uid, decided_at=now,
            ),
        ]
    )  # fmt: skip
    session.flush()
    return area


def test_visit_record_queries_return_only_that_clinics_rows(session: Session) -> None:
    a, b = _world(session, "Record A"), _world(session, "Record B")
    area_a, area_b = _record(session, a), _record(session, b)
    cid, va, vb = a.clinic.id, a.visit.id, b.visit.id

    assert visit_store.get_visit(session, cid, va) is a.visit
    assert visit_store.get_area(session, cid, area_a.id) is area_a
    for get, row_id in ((visit_store.get_visit, vb), (visit_store.get_area, area_b.id)):
        with pytest.raises(NotFound):
            get(session, cid, row_id)
    with pytest.raises(NotFound):
        clinics.get_user(session, cid, b.user.id)
    assert clinics.get_user(session, cid, a.user.id) is a.user
    assert set(clinics.users_by_id(session, cid)) == {a.user.id}

    assert visit_store.count_visits(session, cid, a.episode.id) == 2
    assert visit_store.count_visits(session, cid, b.episode.id) == 0
    for page, mine, theirs in (
        (visit_store.list_visits_of_episode, a.episode.id, b.episode.id),
        (visit_store.list_visits_of_patient, a.patient.id, b.patient.id),
    ):
        assert len(page(session, cid, mine, limit=10)) == 2
        assert list(page(session, cid, theirs, limit=10)) == []
    day = utcnow() - timedelta(days=1), utcnow() + timedelta(days=1)
    assert {v.clinic_id for v in visit_store.list_visits_started_between(session, cid, *day)} == {
        cid
    }
    assert visit_store.visit_numbers(session, cid, b.episode.id) == {}

    for listing in (
        visit_store.list_areas,
        visit_store.list_findings,
        visit_store.list_prescriptions,
        visit_store.list_measurements,
        visit_store.list_billing_lines,
        visit_store.list_addenda,
        adverse_events.list_for_visit,
    ):
        assert len(listing(session, cid, va)) == 1, listing.__name__
        assert list(listing(session, cid, vb)) == [], listing.__name__
    assert visit_store.count_areas(session, cid, va) == 1
    assert visit_store.count_areas(session, cid, va, status="active") == 0
    assert visit_store.count_areas(session, cid, vb) == 0
    assert visit_store.list_area_endings(session, cid, vb) == []
    assert visit_store.list_area_endings(session, cid, va) == [
        ("lateral_elbow", "right", "completed", "ecchymosis")
    ]
    both = [area_a.id, area_b.id]
    assert {k: len(v) for k, v in visit_store.list_readings(session, cid, both).items()} == {
        area_a.id: 1,
        area_b.id: 0,
    }
    assert set(visit_store.list_skin_responses(session, cid, both)) == {area_a.id}
    sides = ("right", "bilateral")
    site = (a.patient.id, "lateral_elbow", sides)
    assert visit_store.last_treated_at(session, cid, *site) is not None
    assert visit_store.has_unresolved_bruise(session, cid, *site)
    other = (b.patient.id, "lateral_elbow", sides)
    assert visit_store.last_treated_at(session, cid, *other) is None
    assert not visit_store.has_unresolved_bruise(session, cid, *other)
    assert len(visit_store.list_previous_findings(session, cid, a.episode.id, 2)) == 1
    assert list(visit_store.list_previous_findings(session, cid, b.episode.id, 2)) == []

    for e, n in ((a.episode.id, 1), (b.episode.id, 0)):
        assert (episodes.find_latest_screening(session, cid, e, "intake") is not None) == bool(n)
        assert len(episodes.list_screenings_in_force(session, cid, e, None)) == n
        assert len(episodes.cleared_rule_ids(session, cid, e)) == n
        assert episodes.count_consents(session, cid, e) == n
        assert (episodes.find_current_consent(session, cid, e) is not None) == bool(n)
        assert len(outcomes.list_measurements(session, cid, e)) == 2 * n
    assert [e.patient_id for e in adverse_events.list_open(session, cid, limit=10)] == [
        a.patient.id
    ]
    assert list(adverse_events.list_for_patient(session, cid, b.patient.id)) == []
