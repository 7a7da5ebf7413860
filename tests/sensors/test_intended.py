"""The intended dose: set on the area card or through the API, checked, and compared with the
measured dose on the visit page and in the drafted note."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories import login, make_clinic, make_user

from strigil.core.note_facts import IntendedDose, MeasuredDose, treating_phase
from strigil.core.notes import TreatedArea, VisitFacts, draft_soap
from strigil.errors import InvalidInput
from strigil.services import auth, notes, sensors
from strigil.store.clinics import User
from strigil.store.sensors import SensorRecording
from strigil.store.visits import Visit

from .test_attach import _area, _attach, _content


def test_comparison_names_what_differs() -> None:
    wanted = IntendedDose(force_min_n=4, force_max_n=7, strokes=30)
    measured = MeasuredDose(strokes=42, mean_force_n=5.8, peak_force_n=9.6, time_under_load_s=26)
    assert wanted.compare(measured) == (
        "intended 4–7 N, 30 strokes; measured mean 5.8 N, 42 strokes: "
        "above the intended stroke count"
    )
    low = MeasuredDose(strokes=30, mean_force_n=3.1, peak_force_n=5.0, time_under_load_s=20)
    assert wanted.deviations(low) == ["mean force below the intended range"]
    exact = MeasuredDose(strokes=30, mean_force_n=5.0, peak_force_n=6.0, time_under_load_s=20)
    assert wanted.compare(exact).endswith(": as intended")
    timed = IntendedDose(time_under_load_s=30)
    assert timed.compare(low) == "intended 30 s under load; measured 20 s under load: " \
        "below the intended time under load"  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"force_min_n": 7, "force_max_n": 4}, "force_min_n"),
        ({"force_min_n": -1}, "force_min_n"),
        ({"force_max_n": 600}, "force_max_n"),
        ({"strokes": 0}, "strokes"),
        ({"time_under_load_s": 0}, "time_under_load_s"),
        ({}, "dose"),
    ],
)
def test_api_refuses_a_bad_intended_dose_and_changes_nothing(
    session: Session, client: TestClient, body: dict[str, float], field: str
) -> None:
    therapist: User = make_user(session, make_clinic(session))
    area = _area(session, therapist)
    session.flush()
    login(client, therapist)
    answer = client.put(f"/api/v1/areas/{area.external_id}/intended-dose", json=body)
    assert answer.status_code == 422, answer.text
    assert field in answer.text
    assert not notes.load_record(session, session.get_one(Visit, area.visit_id)).intended


def test_intended_dose_on_the_page_the_api_and_the_note(
    session: Session, client: TestClient, tmp_path: Path
) -> None:
    therapist: User = make_user(session, make_clinic(session))
    area = _area(session, therapist)
    first: SensorRecording = _attach(session, therapist, area, _content(seed=1), tmp_path)
    second = _attach(session, therapist, area, _content(seed=2), tmp_path)
    session.flush()
    login(client, therapist)
    api = client.put(f"/api/v1/areas/{area.external_id}/intended-dose", json={"strokes": 30})
    assert api.status_code == 200, api.text
    assert api.json()["summary"] == "intended 30 strokes"
    form = {"force_min_n": "4", "force_max_n": "7,5", "strokes": "6"}
    card = client.post(f"/areas/{area.external_id}/intended", data=form,
                       headers={"HX-Request": "true"})  # fmt: skip
    assert card.status_code == 200, card.text
    assert "4–7.5 N, 6 strokes" in card.text
    visit = session.get_one(Visit, area.visit_id)
    page = client.get(f"/visits/{visit.external_id}").text
    assert page.count('data-testid="stored-dose"') == 2  # both stored doses, not only the last
    assert sensors.summary(first) in page and sensors.summary(second) in page
    assert "above the intended stroke count" in page  # 8 strokes measured, 6 intended
    draft = notes.draft_from(visit, notes.load_record(session, visit))
    # two treating recordings of 8 strokes: the treatment as a whole against the intention
    assert "Area 1 intended 4–7.5 N, 6 strokes; measured over 2 treating recordings mean " \
        in draft.objective  # fmt: skip
    assert "16 strokes: above the intended stroke count" in draft.objective
    assert "(treating recordings together)" in page


def test_comparison_uses_the_figures_as_shown() -> None:
    wanted = IntendedDose(force_min_n=2, force_max_n=3)
    shown = MeasuredDose(strokes=6, mean_force_n=3.04, peak_force_n=4.0, time_under_load_s=9.6)
    assert wanted.compare(shown) == "intended 2–3 N; measured mean 3.0 N: as intended"
    assert IntendedDose(time_under_load_s=10).deviations(shown) == []


def _objective(*measured: MeasuredDose) -> str:
    area = TreatedArea(
        region="lower_leg_ankle",
        site="achilles",
        side="right",
        ref="a1",
        measured=measured,
        intended=IntendedDose(force_min_n=4, force_max_n=7, strokes=30, ref="i1"),
    )
    facts = VisitFacts(
        patient_display_name="Ana P.",
        visit_date=date(2026, 5, 4),
        visit_number=1,
        condition_title="Achilles tendinopathy",
        subjective="",
        areas=(area,),
    )
    return draft_soap(facts).objective


EXPLORING = MeasuredDose(strokes=10, mean_force_n=1.9, peak_force_n=2.6, time_under_load_s=6,
                         ref="r1", phase="exploring")  # fmt: skip
TREATING = MeasuredDose(strokes=30, mean_force_n=5.2, peak_force_n=7.9, time_under_load_s=21,
                        ref="r2")  # fmt: skip


def test_an_intended_dose_without_a_recording_is_stated_as_not_measured() -> None:
    assert "Area 1 intended 4–7 N, 30 strokes; not measured." in _objective()
    assert "Area 1 intended 4–7 N, 30 strokes; not measured (only an exploring pass was " \
        "recorded)." in _objective(EXPLORING)  # fmt: skip


def test_the_exploring_pass_is_stated_but_only_the_treating_phase_is_compared() -> None:
    text = _objective(EXPLORING, TREATING)
    assert "Area 1 exploring pass: 10 strokes, mean 1.9 N, peak 2.6 N, 6 s under load." in text
    assert "Area 1 measured dose: 30 strokes, mean 5.2 N, peak 7.9 N, 21 s under load." in text
    assert "Area 1 intended 4–7 N, 30 strokes; measured mean 5.2 N, 30 strokes: as intended." \
        in text  # fmt: skip
    assert "below" not in text  # the light exploring pass is not judged against the target


def test_treating_recordings_count_together() -> None:
    second = MeasuredDose(strokes=10, mean_force_n=3.0, peak_force_n=8.4, time_under_load_s=7)
    whole = treating_phase([EXPLORING, TREATING, second])
    assert whole is not None
    assert (whole.strokes, whole.time_under_load_s, whole.peak_force_n) == (40, 28, 8.4)
    assert whole.mean_force_n == pytest.approx((5.2 * 21 + 3.0 * 7) / 28)  # time-weighted
    assert treating_phase([EXPLORING]) is None
    assert treating_phase([TREATING]) is TREATING


def test_an_unknown_phase_is_refused_and_nothing_is_stored(
    session: Session, tmp_path: Path
) -> None:
    therapist: User = make_user(session, make_clinic(session))
    area = _area(session, therapist)
    session.flush()
    with pytest.raises(InvalidInput) as caught:
        sensors.record_file(session=session, actor=auth.actor_for(therapist),
                            treated_area_id=area.external_id, content=_content(),
                            file_name="r.csv", sidecar_text=None, data_dir=tmp_path,
                            phase="warming")  # fmt: skip
    assert caught.value.field == "phase" and "exploring, treating" in caught.value.detail
    assert session.scalars(select(SensorRecording)).first() is None
    assert not (tmp_path / "recordings").exists()


def test_the_card_compares_the_treating_phase_only(
    session: Session, client: TestClient, tmp_path: Path
) -> None:
    therapist: User = make_user(session, make_clinic(session))
    area = _area(session, therapist)
    actor = auth.actor_for(therapist)
    sensors.set_intended(session=session, actor=actor, treated_area_id=area.external_id,
                         data=sensors.IntendedInput(strokes=8))  # fmt: skip
    for seed, phase in ((3, "exploring"), (1, "treating")):
        sensors.record_file(session=session, actor=actor, treated_area_id=area.external_id,
                            content=_content(seed=seed), file_name=f"{phase}.csv",
                            sidecar_text=None, data_dir=tmp_path, phase=phase)  # fmt: skip
    session.flush()
    login(client, therapist)
    page = client.get(f"/visits/{session.get_one(Visit, area.visit_id).external_id}").text
    assert page.count('data-testid="stored-dose"') == 2
    assert page.count('data-testid="dose-phase"') == 1
    assert page.count('data-testid="dose-comparison"') == 1
    assert "Against the intended dose: as intended." in page  # 8 treating strokes of 8
