"""The intended dose: set on the area card or through the API, checked, and compared with the
measured dose on the visit page and in the drafted note."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.factories import login, make_clinic, make_user

from strigil.core.note_facts import IntendedDose, MeasuredDose
from strigil.services import notes, sensors
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
    assert "Area 1 intended 4–7.5 N, 6 strokes; measured mean " in draft.objective
    assert "8 strokes: above the intended stroke count" in draft.objective


def test_comparison_uses_the_figures_as_shown() -> None:
    wanted = IntendedDose(force_min_n=2, force_max_n=3)
    shown = MeasuredDose(strokes=6, mean_force_n=3.04, peak_force_n=4.0, time_under_load_s=9.6)
    assert wanted.compare(shown) == "intended 2–3 N; measured mean 3.0 N: as intended"
    assert IntendedDose(time_under_load_s=10).deviations(shown) == []
