"""Recording a file as a treated area's measured dose: checks, the kept file, caps, audit."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, recheck_in_force

from strigil.errors import InvalidInput, NotFound, NotPermitted
from strigil.sensors.simulate import simulate, to_csv
from strigil.services import sensors, treatment, visits
from strigil.store.audit import AuditEvent
from strigil.store.clinics import User
from strigil.store.sensors import IntendedDose, SensorRecording
from strigil.store.visits import TreatedArea, Visit


@pytest.fixture
def therapist(session: Session) -> User:
    return make_user(session, make_clinic(session))


def _area(session: Session, user: User, **present: tuple[str, ...]) -> TreatedArea:
    who = actor(user)
    patient = make_patient(session, user)
    episode = make_episode(session, user, patient, condition_code="M77.11", side="right")
    ready_for_iastm(session, user, episode, **present)
    reason = {"reasoning": "On blood thinners.", "dose_modification": "Gentle."} if present else {}
    data = visits.VisitStart(
        tolerance_limit=6, recheck=recheck_in_force(session, episode), **reason
    )
    visit = visits.start(session=session, actor=who, episode_id=episode.external_id, data=data)
    area = treatment.AreaInput(body_site="lateral_elbow", side="right",
                               instrument_type="stainless_steel", intensity="gentle")  # fmt: skip
    return treatment.add_area(session=session, actor=who, visit_id=visit.external_id, data=area)


def _content(seed: int = 1, peak_n: float = 6.0) -> bytes:
    return to_csv(simulate(seed, strokes=8, peak_n=peak_n, sample_hz=200.0)).encode()


def _attach(session: Session, user: User, area: TreatedArea, content: bytes, data: Path) \
        -> SensorRecording:  # fmt: skip
    return sensors.record_file(session=session, actor=actor(user),
                               treated_area_id=area.external_id, content=content,
                               file_name="rec.csv", sidecar_text=None, data_dir=data)  # fmt: skip


def test_attach_stores_dose_file_digest_and_audit(
    session: Session, therapist: User, tmp_path: Path
) -> None:
    area = _area(session, therapist)
    content = _content()
    row = _attach(session, therapist, area, content, tmp_path)
    digest = hashlib.sha256(content).hexdigest()
    assert row.file_digest == digest
    assert (tmp_path / row.stored_path).read_bytes() == content
    assert row.stored_path.endswith(f"{digest}.csv")
    assert row.strokes == 8 and row.treated_area_id == area.id
    assert row.force_cap_n is None and not row.cap_exceeded
    assert sensors.summary(row).startswith("8 strokes, mean ")
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "sensor_recording")
    ).all()
    assert [e.entity_id for e in events] == [str(row.external_id)]
    assert events[0].patient_id is not None


def test_anticoagulant_caps_force_and_the_exceedance_is_recorded(
    session: Session, therapist: User, tmp_path: Path
) -> None:
    area = _area(session, therapist, R1=())
    row = _attach(session, therapist, area, _content(peak_n=9.0), tmp_path)
    assert row.force_cap_n == 4.0  # "gentle" in sensors/force_caps.json
    assert row.cap_exceeded
    note = sensors.cap_note(row)
    assert note is not None and "exceeded the precaution cap of 4 N" in note and "R1" in note
    calm = _attach(session, therapist, area, _content(seed=2, peak_n=2.0), tmp_path)
    assert calm.force_cap_n == 4.0 and not calm.cap_exceeded


def test_bad_file_changes_nothing(session: Session, therapist: User, tmp_path: Path) -> None:
    area = _area(session, therapist)
    with pytest.raises(InvalidInput) as caught:
        _attach(session, therapist, area, b"t_s,fz_n\n0,1\n0.01,10000\n", tmp_path)
    assert caught.value.field == "fz_n"
    assert session.scalar(select(func.count()).select_from(SensorRecording)) == 0
    assert not (tmp_path / "recordings").exists()


def test_other_clinic_and_wrong_role_are_refused(
    session: Session, therapist: User, tmp_path: Path
) -> None:
    area = _area(session, therapist)
    stranger = make_user(session, make_clinic(session))
    with pytest.raises(NotFound):
        _attach(session, stranger, area, _content(), tmp_path)
    researcher = make_user(session, therapist.clinic, role="researcher")
    with pytest.raises(NotPermitted):
        _attach(session, researcher, area, _content(), tmp_path)
    assert session.scalar(select(func.count()).select_from(SensorRecording)) == 0


def test_attach_by_email_reads_the_sidecar(
    session: Session, therapist: User, tmp_path: Path
) -> None:
    area = _area(session, therapist)
    path = tmp_path / "rec.csv"
    path.write_bytes(_content())
    path.with_suffix(".json").write_text('{"tool": "T-7", "contact_threshold_n": 0.6}', "utf-8")
    row = sensors.attach_file(session=session, user_email=therapist.email,
                              treated_area_id=area.external_id, path=path,
                              data_dir=tmp_path / "data")  # fmt: skip
    assert row.tool == "T-7" and row.threshold_n == 0.6
    assert (tmp_path / "data" / row.stored_path).with_suffix(".json").is_file()


def test_intended_dose_is_checked_and_replaced(session: Session, therapist: User) -> None:
    area = _area(session, therapist)
    who = actor(therapist)
    with pytest.raises(InvalidInput) as caught:
        sensors.set_intended(session=session, actor=who, treated_area_id=area.external_id,
                             data=sensors.IntendedInput(force_min_n=6, force_max_n=3))  # fmt: skip
    assert caught.value.field == "force_min_n"
    wanted = sensors.IntendedInput(force_min_n=3, force_max_n=6)
    first = sensors.set_intended(session=session, actor=who, treated_area_id=area.external_id,
                                 data=wanted)  # fmt: skip
    again = sensors.set_intended(session=session, actor=who, treated_area_id=area.external_id,
                                 data=sensors.IntendedInput(strokes=40))  # fmt: skip
    assert first.id == again.id and again.strokes == 40 and again.force_max_n is None
    assert session.scalar(select(func.count()).select_from(IntendedDose)) == 1


def test_note_states_the_measured_dose_and_the_exceedance(
    session: Session, therapist: User, tmp_path: Path
) -> None:
    area = _area(session, therapist, R1=())
    row = _attach(session, therapist, area, _content(peak_n=9.0), tmp_path)
    visit = session.get(Visit, area.visit_id)
    assert visit is not None
    record = visits.load_record(session, visit)
    draft = visits.draft_from(session, visit, record)
    claims = [c for _, c in draft.claims if c.source == f"sensor_recording:{row.external_id}"]
    assert len(claims) == 1
    expected = (
        f"Area 1 measured dose: 8 strokes, mean {row.mean_force_n:.1f} N, "
        f"peak {row.peak_force_n:.1f} N, {row.time_under_load_s:.0f} s under load. "
        "The peak exceeded the precaution force cap of 4 N."
    )
    assert claims[0].text == expected
    assert expected in draft.objective
