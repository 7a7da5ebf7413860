"""The clinic revision moves on with every committed clinical change, and only then."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_patient, make_user
from tests.flow import iastm_visit

from strigil.services import audit, treatment
from strigil.store import fhir, revisions, tenancy
from strigil.store.audit import AuditEvent
from strigil.store.clinics import Instrument
from strigil.store.visits import TreatedArea, Visit


def test_a_committed_change_moves_its_clinic_on_and_no_other(session: Session) -> None:
    a, b = make_clinic(session), make_clinic(session)
    user = make_user(session, a)
    session.commit()
    before_a, before_b = revisions.current(session, a.id), revisions.current(session, b.id)
    patient = make_patient(session, user)
    session.commit()
    assert revisions.current(session, a.id) == before_a + 1
    assert revisions.current(session, b.id) == before_b
    patient.given_name = "Renamed"
    session.commit()
    assert revisions.current(session, a.id) == before_a + 2


def test_reads_audit_rows_and_rollbacks_leave_it_alone(session: Session) -> None:
    clinic = make_clinic(session)
    user = make_user(session, clinic)
    session.commit()
    start = revisions.current(session, clinic.id)
    audit.record(session=session, actor=actor(user), action="read", entity_type="visit")
    session.commit()
    assert revisions.current(session, clinic.id) == start
    make_patient(session, user)
    session.flush()
    session.rollback()
    session.commit()
    assert revisions.current(session, clinic.id) == start


def test_a_savepoint_rolled_back_keeps_the_changes_made_before_it(session: Session) -> None:
    clinic = make_clinic(session)
    user = make_user(session, clinic)
    session.commit()
    start = revisions.current(session, clinic.id)
    make_patient(session, user)
    with session.begin_nested() as nested:
        make_patient(session, user)
        session.flush()
        nested.rollback()
    session.commit()
    assert revisions.current(session, clinic.id) == start + 1


def test_a_bulk_statement_moves_every_clinic_on(session: Session) -> None:
    clinic = make_clinic(session)
    user = make_user(session, clinic)
    session.commit()
    start = revisions.current(session, clinic.id)
    session.execute(insert(AuditEvent).values(clinic_id=clinic.id, action="x", entity_type="y"))
    session.commit()
    assert revisions.current(session, clinic.id) == start  # audit rows do not count
    make_patient(session, user)  # an ORM row: counted through the flush
    session.execute(revisions.ClinicRevision.__table__.select())  # a read: not counted
    session.commit()
    assert revisions.current(session, clinic.id) == start + 1


def test_the_revision_is_written_under_the_clinic_scope(session: Session) -> None:
    """On PostgreSQL the row is written by the restricted role inside row-level security."""
    clinic = make_clinic(session)
    user = make_user(session, clinic)
    session.commit()
    start = revisions.current(session, clinic.id)
    tenancy.restrict(session)
    tenancy.enter_clinic(session, clinic.id)
    make_patient(session, user)
    session.commit()
    tenancy.leave_clinic(session)
    assert revisions.current(session, clinic.id) == start + 1


def test_a_clinic_made_in_a_rolled_back_savepoint_is_not_counted(session: Session) -> None:
    with session.begin_nested() as nested:
        gone = make_clinic(session)
        session.flush()
        gone_id = gone.id
        nested.rollback()
    session.commit()  # the note of the vanished clinic writes nothing and breaks nothing
    assert revisions.current(session, gone_id) == 0


def test_a_write_below_the_orm_is_counted_when_noted(session: Session) -> None:
    """A driver-level bulk insert (the FHIR import on PostgreSQL) notes itself."""
    clinic = make_clinic(session)
    session.commit()
    start = revisions.current(session, clinic.id)
    revisions.note_bulk_write(session)
    session.commit()
    assert revisions.current(session, clinic.id) == start + 1


def test_the_bulk_insert_of_an_import_moves_the_revision(session: Session) -> None:
    """On PostgreSQL the import inserts below the ORM; on SQLite through a Core statement."""
    clinic = make_clinic(session)
    session.commit()
    start = revisions.current(session, clinic.id)
    row = {"clinic_id": clinic.id, "label": "Imported blade", "type_code": "stainless_steel"}
    (new_id,) = fhir.insert_rows(session, Instrument, [row])
    session.commit()
    assert new_id > 0
    assert revisions.current(session, clinic.id) == start + 1


def _area_of(session: Session, visit: Visit) -> TreatedArea:
    return session.scalars(select(TreatedArea).where(TreatedArea.visit_id == visit.id)).one()


def _patient_revision(session: Session, patient_id: int) -> int:
    found = session.scalar(
        select(revisions.PatientRevision.revision).where(
            revisions.PatientRevision.patient_id == patient_id
        )
    )
    return int(found or 0)


def test_a_row_named_through_its_visit_or_area_moves_only_its_patient_on(
    session: Session,
) -> None:
    user = make_user(session, make_clinic(session))
    first, second = iastm_visit(session, user), iastm_visit(session, user)
    session.commit()
    area = _area_of(session, first)
    before = {v.patient_id: _patient_revision(session, v.patient_id) for v in (first, second)}
    treatment.record_reading(
        session=session, actor=actor(user), treated_area_id=area.external_id, value=2
    )
    session.commit()  # a reading names its area only
    assert _patient_revision(session, first.patient_id) == before[first.patient_id] + 1
    assert _patient_revision(session, second.patient_id) == before[second.patient_id]
    for visit in (first, second):  # two patients in one transaction, each moved once
        treatment.record_reading(
            session=session,
            actor=actor(user),
            treated_area_id=_area_of(session, visit).external_id,
            value=1,
        )
    session.commit()
    assert _patient_revision(session, first.patient_id) == before[first.patient_id] + 2
    assert _patient_revision(session, second.patient_id) == before[second.patient_id] + 1
