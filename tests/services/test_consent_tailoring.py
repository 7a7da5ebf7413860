"""The consent names the condition in plain words and explains this patient's precautions."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.factories import actor, login, make_clinic, make_episode, make_patient, make_user
from tests.flow import all_clear, ready_for_iastm, recheck_answers

from strigil.core import consent
from strigil.errors import InvalidInput
from strigil.services import consents, documents, screenings, visits
from strigil.store.clinics import User
from strigil.store.episodes import Episode


def _episode(session: Session, **kw: str) -> tuple[User, Episode]:
    user = make_user(session, make_clinic(session))
    return user, make_episode(session, user, make_patient(session, user), **kw)


def _screen(session: Session, user: User, episode: Episode, **present: tuple[str, ...]) -> None:
    screenings.screen(
        session=session,
        actor=actor(user),
        episode_id=episode.external_id,
        answers=all_clear(**present),
        reasoning="Reviewed with the patient.",
        dose_modification="Gentle pressure, short areas.",
    )


def test_the_condition_is_named_in_plain_words(session: Session) -> None:
    _, episode = _episode(session, condition_code="M72.2", body_region="foot")
    text = consents.preview(session=session, episode=episode).text
    assert "Your condition: Plantar fasciitis (heel pain)" in text
    assert "fibromatosis" not in text.lower()


def test_a_patient_on_blood_thinners_is_told_bruising_is_more_likely(session: Session) -> None:
    user, episode = _episode(session)
    plain = consents.preview(session=session, episode=episode)
    _screen(session, user, episode, R1=())
    tailored = consents.preview(session=session, episode=episode)
    assert "What your health questions mean for you" not in plain.text
    assert "thins the blood. Bruising is more likely" in tailored.text
    assert "no more than gentle pressure and 60 seconds on each area" in tailored.text
    assert tailored.sha256 != plain.sha256 and tailored.verify()


@pytest.mark.parametrize(
    ("rule", "regions", "words"),
    [
        ("R15", ("wrist_hand",), "you must tell us at once"),
        ("R17", ("thoracic",), "osteoporosis"),
        ("R14", ("elbow_forearm",), "thin or fragile"),
        ("R12", (), "steroid medicine"),
    ],
)
def test_each_precaution_is_explained(
    session: Session, rule: str, regions: tuple[str, ...], words: str
) -> None:
    user, episode = _episode(session)
    _screen(session, user, episode, **{rule: regions})
    assert words in consents.preview(session=session, episode=episode).text


def test_the_record_keeps_the_tailored_text_and_its_hash(session: Session) -> None:
    user, episode = _episode(session)
    _screen(session, user, episode, R1=())
    shown = consents.preview(session=session, episode=episode)
    row = consents.record(
        session=session,
        actor=actor(user),
        episode_id=episode.external_id,
        decision="granted",
        shown_sha256=shown.sha256,
    )
    assert row.text == shown.text and row.text_sha256 == shown.sha256
    assert row.text_version == consent.TEMPLATE_VERSION
    assert consent.ConsentText(row.text_version, row.text, row.text_sha256).verify()


def test_a_rescreen_after_the_text_was_shown_refuses_the_old_text(session: Session) -> None:
    user, episode = _episode(session)
    _screen(session, user, episode)
    shown = consents.preview(session=session, episode=episode)
    _screen(session, user, episode, R1=())
    with pytest.raises(InvalidInput) as err:
        consents.record(
            session=session,
            actor=actor(user),
            episode_id=episode.external_id,
            decision="granted",
            shown_sha256=shown.sha256,
        )
    assert (err.value.field, err.value.code) == ("shown_sha256", "consent_text_changed")


def test_precaution_sentences_follow_rule_order_once_each() -> None:
    sentences = consent.precaution_sentences(["R15", "R1", "R1", "A9", "UNKNOWN"])
    assert len(sentences) == 2 and sentences[0].startswith("You take a medicine")


def test_the_consent_page_shows_the_tailored_text(session: Session, client: TestClient) -> None:
    user, episode = _episode(session)
    _screen(session, user, episode, R1=())
    login(client, user)
    html = client.get(f"/episodes/{episode.external_id}/consent").text
    assert "What your health questions mean for you" in html
    assert "Bruising is more likely" in html


def test_the_after_care_sheet_names_the_condition_in_plain_words(
    session: Session, client: TestClient
) -> None:
    user, episode = _episode(session, condition_code="M72.2", body_region="foot")
    ready_for_iastm(session, user, episode)
    visit = visits.start(
        session=session,
        actor=actor(user),
        episode_id=episode.external_id,
        data=visits.VisitStart(tolerance_limit=6, recheck=recheck_answers()),
    )
    assert documents.condition_for_patient(visit) == "Plantar fasciitis (heel pain)"
    login(client, user)
    html = client.get(f"/visits/{visit.external_id}/sheet").text
    assert "Your condition: <strong>Plantar fasciitis (heel pain)</strong>" in html
    assert "fibromatosis" not in html.lower()
    pdf = client.get(f"/visits/{visit.external_id}/aftercare.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_consent_in_spanish_keeps_its_own_version_and_hash(session: Session) -> None:
    user, episode = _episode(session)
    english = consents.preview(session=session, episode=episode)
    _screen(session, user, episode, R1=())
    spanish = consents.preview(session=session, episode=episode, language="es")
    assert spanish.version == "iastm-es-2026.4" and english.version == consent.TEMPLATE_VERSION
    for words in (
        "Consentimiento para la movilización de tejidos blandos",
        "Tratamiento previsto: IASTM en la zona afectada",
        "Qué significan para usted sus respuestas sobre su salud",
        "hace la sangre más líquida",
        "Por eso usaremos como máximo una presión suave y 60 segundos en cada zona.",
        "Enrojecimiento y calor en la piel",
        "Su derecho a detenerse",
        "La investigación sobre este tratamiento muestra resultados mixtos",
    ):
        assert words in spanish.text, words
    assert "Your right to stop" not in spanish.text and spanish.verify()
    assert spanish.sha256 != consents.preview(session=session, episode=episode).sha256


def test_a_consent_read_in_spanish_is_recorded_in_spanish(
    client: TestClient, session: Session
) -> None:
    user, episode = _episode(session)
    _screen(session, user, episode)
    session.commit()
    csrf = login(client, user)
    page = client.get(f"/episodes/{episode.external_id}/consent?lang=es")
    assert page.status_code == 200 and 'lang="es">Consentimiento para' in page.text
    assert 'name="language" value="es"' in page.text
    shown = page.text.split('name="shown_sha256" value="')[1].split('"')[0]
    made = client.post(
        f"/episodes/{episode.external_id}/consent",
        data={"csrf_token": csrf, "decision": "granted", "shown_sha256": shown, "language": "es"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    row = consents.current(session, episode)
    assert row is not None and row.text_version == "iastm-es-2026.4" and row.text_sha256 == shown
    assert row.text.startswith("Consentimiento para la movilización")
    wrong = client.post(
        f"/episodes/{episode.external_id}/consent",
        data={"csrf_token": csrf, "decision": "granted", "shown_sha256": shown},
    )
    assert wrong.status_code == 422  # the Spanish text's hash is not the English text's
