"""Questionnaires at /p/{token} one question per screen without JavaScript, the patient's
progress page, and the episode page that issues and revokes these links."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories import actor, login, make_clinic, make_episode, make_patient, make_user
from tests.flow import iastm_visit

from strigil.core import catalog
from strigil.services import outcomes, patient_forms, treatment
from strigil.store.audit import AuditEvent
from strigil.store.clinics import User
from strigil.store.episodes import Episode
from strigil.store.outcomes import OutcomeMeasurement


@pytest.fixture
def therapist(session: Session) -> User:
    return make_user(session, make_clinic(session))


def _episode(session: Session, therapist: User) -> Episode:
    patient = make_patient(session, therapist)
    return make_episode(session, therapist, patient, primary_measure="QUICKDASH")


def _token(
    session: Session, therapist: User, purpose: str = "questionnaires"
) -> tuple[str, Episode]:
    episode = _episode(session, therapist)
    token, _ = patient_forms.issue(
        session=session, actor=actor(therapist), episode_id=episode.external_id, purpose=purpose
    )
    session.commit()
    return token, episode


def _hidden(html: str) -> dict[str, str]:
    """The answers a screen carries forward in hidden inputs."""
    return dict(re.findall(r'<input type="hidden" name="(q\d+)" value="([^"]*)">', html))


def _answer_all(client: TestClient, token: str, answers: list[str]) -> list[str]:
    """Walk every screen as a browser without JavaScript would; returns each page's text."""
    pages = [client.get(f"/p/{token}").text]
    carried: dict[str, str] = {}
    for step, value in enumerate(answers):
        go = "send" if step == len(answers) - 1 else ("skip" if value == "" else "next")
        data = {**carried, "step": str(step), "go": go, f"q{step}": value}
        response = client.post(f"/p/{token}", data=data)
        pages.append(response.text)
        carried = _hidden(response.text)
        if value:
            carried.setdefault(f"q{step}", value)
    return pages


def test_one_question_per_screen_with_progress(
    client: TestClient, session: Session, therapist: User
) -> None:
    token, _ = _token(session, therapist)
    first = client.get(f"/p/{token}")
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    assert 'data-testid="step-count">1 of 12<' in first.text
    assert "Open a tight jar" in first.text and first.text.count('type="radio"') == 5
    assert "Skip this question" in first.text  # QuickDASH allows one missing item
    second = client.post(f"/p/{token}", data={"step": "0", "go": "next", "q0": "3"})
    assert 'data-testid="step-count">2 of 12<' in second.text and _hidden(second.text) == {
        "q0": "3"
    }
    back = client.post(f"/p/{token}", data={"step": "1", "go": "back", "q0": "3", "q1": "2"})
    assert 'data-testid="step-count">1 of 12<' in back.text
    assert 'value="3" checked' in back.text


def test_out_of_range_is_named_kindly_and_nothing_moves(
    client: TestClient, session: Session, therapist: User
) -> None:
    token, _ = _token(session, therapist)
    bad = client.post(f"/p/{token}", data={"step": "0", "go": "next", "q0": "9"})
    assert bad.status_code == 422 and "Please choose one of the numbers from 1 to 5" in bad.text
    assert 'data-testid="step-count">1 of 12<' in bad.text
    pain = client.post(f"/p/{token}", data={"step": "11", "go": "skip"})
    assert pain.status_code == 422 and "cannot be skipped" in pain.text
    assert session.scalars(select(OutcomeMeasurement)).all() == []


def test_the_whole_set_arrives_in_the_chart_marked_patient_reported(
    client: TestClient, session: Session, therapist: User, caplog: pytest.LogCaptureFixture
) -> None:
    token, episode = _token(session, therapist)
    caplog.set_level(logging.INFO)
    pages = _answer_all(client, token, ["2", "", "2", "1", "1", "4", "2", "2", "3", "1", "2", "7"])
    assert 'data-testid="questionnaire-thanks"' in pages[-1]
    again = client.post(f"/p/{token}", data={"step": "11", "go": "send", "q11": "7"})
    assert again.status_code == 410 and "already received" in again.text
    rows = session.scalars(select(OutcomeMeasurement)).all()
    assert sorted(r.measure for r in rows) == ["NPRS", "QUICKDASH"]
    assert all(r.source == "patient" for r in rows)
    server_lines = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]
    assert all(token not in line for line in server_lines)
    for row in session.scalars(select(AuditEvent)).all():
        assert token not in repr((row.entity_id, row.route, row.detail))
    login(client, therapist)
    chart = client.get(f"/episodes/{episode.external_id}")
    assert chart.status_code == 200
    assert chart.text.count('data-testid="patient-reported"') == 2
    api = client.get(f"/api/v1/episodes/{episode.external_id}/measurements")
    assert api.status_code == 200 and {m["source"] for m in api.json()} == {"patient"}


def test_two_skipped_quickdash_items_send_the_patient_back(
    client: TestClient, session: Session, therapist: User
) -> None:
    token, _ = _token(session, therapist)
    pages = _answer_all(client, token, ["", "", "2", "1", "1", "4", "2", "2", "3", "1", "2", "7"])
    assert "Please answer at least 10 of these 11 questions" in pages[-1]
    assert 'data-testid="step-count">1 of 12<' in pages[-1]
    assert session.scalars(select(OutcomeMeasurement)).all() == []


def test_the_progress_page_speaks_plainly_and_shows_the_clinic_phone(
    client: TestClient, session: Session, therapist: User
) -> None:
    therapist.clinic.phone = "+1 555 0100"
    token, episode = _token(session, therapist, purpose="progress")
    for answers in ([4.0] * 11, [3.0] * 11):
        outcomes.record(
            session=session,
            actor=actor(therapist),
            episode_id=episode.external_id,
            data=outcomes.MeasurementInput("QUICKDASH", answers, {}),
        )
    session.commit()
    page = client.get(f"/p/{token}")
    assert page.status_code == 200
    assert "Your arm function score improved by 25 points." in page.text
    assert "A change of 13.4 points or more is usually noticeable." in page.text
    assert "not enough similar patients yet" in page.text
    assert 'href="tel:+15550100"' in page.text and therapist.clinic.name in page.text
    assert episode.patient.display_name not in page.text  # nothing that names anyone
    for staff_only in ("MCID", "IASTM", "verify", "GK"):
        assert staff_only not in page.text
    assert client.get(f"/p/{token}").status_code == 200  # may be opened again


def test_the_progress_page_pictures_each_home_exercise(
    client: TestClient, session: Session, therapist: User
) -> None:
    visit = iastm_visit(session, therapist)
    codes = ("wrist_flexor_stretch", "grip_squeeze")
    for code in codes:
        treatment.prescribe(
            session=session,
            actor=actor(therapist),
            visit_id=visit.external_id,
            data=treatment.Prescription(code, sets=2, repetitions=10),
        )
    episode = session.scalars(select(Episode).where(Episode.id == visit.episode_id)).one()
    token, _ = patient_forms.issue(
        session=session, actor=actor(therapist), episode_id=episode.external_id, purpose="progress"
    )
    session.commit()
    page = client.get(f"/p/{token}").text
    programme = page.split('data-testid="home-programme"', 1)[1].split("</section>")[0]
    assert programme.count('role="img"') == len(codes)
    for code in codes:
        assert f'data-exercise="{code}"' in programme
        assert f'aria-label="{catalog.exercise(code).name}"' in programme
    assert episode.patient.display_name not in programme


def test_issue_from_the_episode_page_list_and_revoke(
    client: TestClient, session: Session, therapist: User
) -> None:
    episode = _episode(session, therapist)
    session.commit()
    csrf = login(client, therapist)
    detail = client.get(f"/episodes/{episode.external_id}")
    assert 'data-testid="issue-patient-link"' in detail.text
    issued = client.post(
        f"/episodes/{episode.external_id}/patient-links",
        data={"csrf_token": csrf, "purpose": "questionnaires", "measures": ["QUICKDASH", "NPRS"]},
    )
    assert issued.status_code == 200 and "<svg" in issued.text
    assert issued.headers["cache-control"] == "no-store"
    url = re.search(r'data-testid="patient-link-url">([^<]+)<', issued.text)
    assert url is not None and "/p/" in url.group(1)
    listed = client.get(f"/episodes/{episode.external_id}")
    assert listed.text.count('data-testid="patient-link-row"') == 1
    link_id = re.search(r'action="/patient-links/([^/]+)/revoke"', listed.text)
    assert link_id is not None
    revoked = client.post(
        f"/patient-links/{link_id.group(1)}/revoke",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert revoked.status_code == 303 and "#patient-links" in revoked.headers["location"]
    assert "revoked" in client.get(f"/episodes/{episode.external_id}").text
    refused = client.post(
        f"/episodes/{episode.external_id}/patient-links",
        data={"csrf_token": csrf, "purpose": "questionnaires", "measures": "ROM"},
    )
    assert refused.status_code == 422 and "a patient can answer alone" in refused.text
    assert client.get(f"/episodes/{episode.external_id}").text.count("patient-link-row") == 1
    client.cookies.clear()
    assert client.get("/p/" + url.group(1).split("/p/")[1]).status_code == 410


def test_screening_answers_reach_the_therapist_as_a_draft(
    client: TestClient, session: Session, therapist: User
) -> None:
    episode = _episode(session, therapist)
    token, link = patient_forms.issue(
        session=session,
        actor=actor(therapist),
        episode_id=episode.external_id,
        purpose="questionnaires",
        measure_codes=["NPRS", "SCREENING"],
    )
    rules = [s.rule_id for s in patient_forms.screens(link) if s.rule_id]
    session.commit()
    first_question = client.post(f"/p/{token}", data={"step": "0", "go": "next", "q0": "5"})
    assert "A question for your safety" in first_question.text
    assert "ask me at the clinic" in first_question.text
    answers = ["5", *("yes" if r == "R1" else ("" if r == "R8" else "no") for r in rules)]
    pages = _answer_all(client, token, answers)
    assert 'data-testid="questionnaire-thanks"' in pages[-1]
    csrf = login(client, therapist)
    assert csrf
    home = client.get(f"/episodes/{episode.external_id}")
    assert 'data-testid="draft-waiting"' in home.text and "the patient, through a link" in home.text
    screening = client.get(f"/episodes/{episode.external_id}/screening")
    assert re.search(r'name="ans_R1" value="yes" checked', screening.text)
    assert not re.search(r'name="ans_R8" value="(yes|no)" checked', screening.text)


def test_in_spanish_our_words_are_translated_and_a_published_instrument_says_why_not(
    client: TestClient, session: Session, therapist: User
) -> None:
    token, _ = _token(session, therapist)
    first = client.get(f"/p/{token}?lang=es").text
    assert "Piense en su brazo, hombro o mano durante la última semana." in first
    assert "ninguna dificultad o ningún síntoma" in first
    assert 'data-testid="published-language"' in first  # QuickDASH's items stay as published
    assert '<h1 lang="en">Open a tight jar' in first
    data = {f"q{i}": "2" for i in range(11)} | {"step": "10", "go": "next", "lang": "es"}
    pain = client.post(f"/p/{token}", data=data).text
    assert "¿Qué tan fuerte es su dolor en este momento?" in pain
    assert "<h1>Su dolor</h1>" in pain and "el peor dolor que pueda imaginar" in pain
    assert 'data-testid="published-language"' not in pain  # the pain scale is in our words
    english = client.get(f"/p/{token}?lang=en").text
    assert 'data-testid="published-language"' not in english


def test_screening_questions_are_asked_in_spanish(
    client: TestClient, session: Session, therapist: User
) -> None:
    episode = _episode(session, therapist)
    token, _ = patient_forms.issue(
        session=session,
        actor=actor(therapist),
        episode_id=episode.external_id,
        purpose="questionnaires",
        measure_codes=["SCREENING"],
    )
    session.commit()
    page = client.get(f"/p/{token}?lang=es").text
    assert "¿Tiene un coágulo de sangre en una vena" in page
