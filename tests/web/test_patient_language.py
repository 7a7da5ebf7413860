"""The patient's pages in their language: a check-in answered in Spanish from start to end,
the browser's language as the fallback, the patient's own switch, kind errors in Spanish;
and the clinic's "send by email" action next to an issued link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.factories import actor, login, make_clinic, make_user
from tests.flow import iastm_visit

from strigil.services import patient_forms, patient_links, treatment
from strigil.store.base import utcnow
from strigil.store.clinics import User
from strigil.store.patient_links import PatientLink
from strigil.store.visits import Visit

ANSWERS = {
    "soreness": "3",
    "bruising": "small",
    "skin_broken": "no",
    "calf_pain": "no",
    "numbness": "yes",
    "other": "Un poco de hormigueo en la mano",
}


@pytest.fixture
def therapist(session: Session) -> User:
    return make_user(session, make_clinic(session))


def _link(session: Session, therapist: User, language: str | None) -> tuple[str, PatientLink]:
    visit = iastm_visit(session, therapist)
    token, link = patient_links.issue_checkin(
        session=session, actor=actor(therapist), visit_id=visit.external_id, language=language
    )
    session.commit()
    return token, link


def test_a_checkin_in_spanish_from_start_to_end(
    client: TestClient, session: Session, therapist: User
) -> None:
    token, _ = _link(session, therapist, "es")
    form = client.get(f"/p/{token}")
    assert form.status_code == 200 and '<html lang="es">' in form.text
    assert form.headers["content-language"] == "es"
    for words in (
        "¿Cómo se encuentra después de su visita?",
        "Moretones en la zona tratada",
        "¿Tiene hormigueo o entumecimiento?",
        "Enviar",
        'name="lang" value="es"',
    ):
        assert words in form.text, words
    assert "How are you" not in form.text

    bad = client.post(f"/p/{token}", data={**ANSWERS, "soreness": "11", "lang": "es"})
    assert bad.status_code == 422
    assert "Por favor, elija un número del 0 (sin dolor) al 10" in bad.text
    assert 'value="Un poco de hormigueo en la mano"' not in bad.text  # a textarea, not a value
    assert "Un poco de hormigueo en la mano" in bad.text  # what they typed is kept

    sent = client.post(f"/p/{token}", data={**ANSWERS, "lang": "es"})
    assert sent.status_code == 200 and "Sus respuestas se enviaron a la clínica" in sent.text

    twice = client.post(f"/p/{token}", data={**ANSWERS, "lang": "es"})
    assert twice.status_code == 410 and "ya recibimos sus respuestas" in twice.text
    reopened = client.get(f"/p/{token}")  # the link's language holds without the form's
    assert reopened.status_code == 410 and "ya recibimos sus respuestas" in reopened.text


def test_an_expired_checkin_is_explained_in_the_links_language(
    client: TestClient, session: Session, therapist: User
) -> None:
    token, link = _link(session, therapist, "es")
    link.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    page = client.get(f"/p/{token}")
    assert page.status_code == 410 and "pasó el plazo para responder" in page.text
    sent = client.post(f"/p/{token}", data={**ANSWERS, "lang": "es"})
    assert sent.status_code == 410 and "pasó el plazo para responder" in sent.text


def test_the_browser_language_is_the_fallback_and_the_patient_can_switch(
    client: TestClient, session: Session, therapist: User
) -> None:
    token, _ = _link(session, therapist, None)
    spanish = client.get(f"/p/{token}", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert "¿Cómo se encuentra después de su visita?" in spanish.text
    assert 'data-testid="language-switch"' in spanish.text and 'href="?lang=en"' in spanish.text
    english = client.get(f"/p/{token}?lang=en", headers={"Accept-Language": "es-MX"})
    assert '<html lang="en">' in english.text and "How are you after your visit?" in english.text
    unknown = client.get(f"/p/{token}", headers={"Accept-Language": "de-DE,fr;q=0.8"})
    assert "How are you after your visit?" in unknown.text

    token_es, _ = _link(session, therapist, "es")
    switched = client.get(f"/p/{token_es}?lang=en")
    assert "How are you after your visit?" in switched.text


def test_staff_pick_the_language_and_without_a_mail_server_print_the_link(
    client: TestClient, session: Session, therapist: User
) -> None:
    visit = iastm_visit(session, therapist)
    session.commit()
    csrf = login(client, therapist)
    page = client.get(f"/visits/{visit.external_id}")
    assert 'data-testid="checkin-language"' in page.text and ">Español<" in page.text
    issued = client.post(
        f"/visits/{visit.external_id}/checkin-link", data={"csrf_token": csrf, "language": "es"}
    )
    assert issued.status_code == 200 and "open in Español" in issued.text
    assert 'data-testid="email-link-form"' not in issued.text
    assert "print the link or read it out" in issued.text
    bad = client.post(
        f"/visits/{visit.external_id}/checkin-link", data={"csrf_token": csrf, "language": "xx"}
    )
    assert bad.status_code == 422 and "language must be one of en, es" in bad.text
    api = f"/api/v1/visits/{visit.external_id}/checkin-links"
    assert client.post(api, params={"language": "es"}).status_code == 201
    refused = client.post(api, params={"language": "klingon"})
    assert refused.status_code == 422 and refused.json()["field"] == "language"
    url = issued.text.split('data-testid="checkin-url">')[1].split("<")[0]
    client.cookies.clear()
    opened = client.get(url.replace("http://127.0.0.1", ""))
    assert "¿Cómo se encuentra después de su visita?" in opened.text


def test_the_link_is_emailed_from_the_link_page_when_a_mail_server_is_set(
    client: TestClient, session: Session, therapist: User
) -> None:
    client.app.state.settings = client.app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"smtp_host": "127.0.0.1", "smtp_from": "desk@clinic.example.org"}
    )
    visit = iastm_visit(session, therapist)
    visit.episode.patient.email = "ana.patient@example.org"
    session.commit()
    csrf = login(client, therapist)
    issued = client.post(f"/visits/{visit.external_id}/checkin-link", data={"csrf_token": csrf})
    assert 'data-testid="email-link-form"' in issued.text
    assert 'value="ana.patient@example.org"' in issued.text
    action = issued.text.split('action="/patient-links/')[1].split('"')[0]
    token = issued.text.split('name="token" value="')[1].split('"')[0]
    sent = client.post(
        f"/patient-links/{action}",
        data={"csrf_token": csrf, "token": token, "email": "ana.patient@example.org"},
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"].endswith("#checkins")
    visit_page = client.get(f"/visits/{visit.external_id}")
    assert 'data-testid="link-email-state"' in visit_page.text
    assert "email queued" in visit_page.text and "ana.patient@example.org" in visit_page.text
    forged = client.post(
        f"/patient-links/{action}",
        data={"csrf_token": csrf, "token": "forged", "email": "x@example.org"},
    )
    assert forged.status_code == 422


def _prescribed_visit(session: Session, therapist: User) -> Visit:
    visit = iastm_visit(session, therapist)  # tennis elbow (M77.11)
    treatment.prescribe(
        session=session,
        actor=actor(therapist),
        visit_id=visit.external_id,
        data=treatment.Prescription("wrist_extensor_stretch", 2, hold_seconds=30),
    )
    session.commit()
    return visit


def test_the_home_programme_on_the_progress_page_speaks_spanish(
    client: TestClient, session: Session, therapist: User
) -> None:
    visit = _prescribed_visit(session, therapist)
    token, _ = patient_forms.issue(
        session=session,
        actor=actor(therapist),
        episode_id=visit.episode.external_id,
        purpose="progress",
    )
    session.commit()
    spanish = client.get(f"/p/{token}?lang=es")
    assert spanish.status_code == 200
    programme = spanish.text.split('data-testid="home-programme"')[1].split("</section>")[0]
    for words in (
        "Estiramiento de la parte de arriba del antebrazo",
        "2 series, mantener 30 segundos, a diario",
        "doble suavemente la muñeca hacia abajo",
    ):
        assert words in programme, words
    for english in ("Wrist extensor stretch", "2 sets", "Straighten the elbow", "daily"):
        assert english not in programme, english
    english_page = client.get(f"/p/{token}?lang=en")
    assert "Wrist extensor stretch" in english_page.text and "2 sets, hold 30 seconds, daily" in (
        english_page.text
    )


def test_the_printed_sheet_names_exercises_and_condition_in_spanish(
    client: TestClient, session: Session, therapist: User
) -> None:
    visit = _prescribed_visit(session, therapist)
    login(client, therapist)
    sheet = client.get(f"/visits/{visit.external_id}/sheet?lang=es").text
    article = sheet.split('data-testid="sheet"')[1]
    for words in (
        "Codo de tenista (dolor en la parte de afuera del codo)",
        "Estiramiento de la parte de arriba del antebrazo",
        "doble suavemente la muñeca hacia abajo",
        "2 series, mantener 30 segundos",
    ):
        assert words in article, words
    for english in ("Tennis elbow", "Wrist extensor stretch", "Straighten the elbow"):
        assert english not in article, english
    plain = client.get(f"/visits/{visit.external_id}/sheet").text
    assert "Tennis elbow (pain on the outer side of the elbow)" in plain
    assert "Wrist extensor stretch" in plain
