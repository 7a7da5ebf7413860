"""Consent through the JSON API in the patient's language, as the consent page does: the text
read and the decision name the versioned template and hash of that language; an unknown
language is a 422 naming ``language`` that records nothing."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories import login, make_clinic, make_episode, make_patient, make_user

from strigil.core import consent
from strigil.store.audit import AuditEvent
from strigil.store.clinics import User
from strigil.store.episodes import Consent, Episode

API = "/api/v1"


@pytest.fixture
def therapist(session: Session) -> User:
    return make_user(session, make_clinic(session))


@pytest.fixture
def episode(session: Session, therapist: User) -> Episode:
    made = make_episode(session, therapist, make_patient(session, therapist))  # tennis elbow
    session.commit()
    return made


def _consents(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Consent)) or 0


def test_a_consent_read_in_spanish_is_recorded_with_the_spanish_template_and_hash(
    client: TestClient, session: Session, therapist: User, episode: Episode
) -> None:
    login(client, therapist)
    shown = client.get(f"{API}/episodes/{episode.external_id}/consent-text?language=es")
    assert shown.status_code == 200, shown.text
    text = shown.json()
    assert text["version"] == "iastm-es-2026.4" and text["language"] == "es"
    assert text["text"].startswith("Consentimiento para la movilización")
    assert "Codo de tenista (dolor en la parte de afuera del codo)" in text["text"]
    assert hashlib.sha256(text["text"].encode()).hexdigest() == text["sha256"]

    made = client.post(
        f"{API}/episodes/{episode.external_id}/consents",
        json={"decision": "granted", "shown_sha256": text["sha256"], "language": "es"},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["text_version"], body["language"], body["text_sha256"]) == (
        "iastm-es-2026.4",
        "es",
        text["sha256"],
    )
    row = session.scalars(select(Consent)).one()
    assert row.text == text["text"] and row.text_version == "iastm-es-2026.4"
    audited = session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "consent", AuditEvent.action == "create")
    ).one()
    assert audited.detail is not None
    assert audited.detail["text_version"] == "iastm-es-2026.4"
    assert audited.detail["text_sha256"] == text["sha256"]
    withdrawn = client.post(f"{API}/episodes/{episode.external_id}/consents/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json()["language"] == "es"


def test_english_stays_the_default_and_a_hash_from_the_other_language_is_refused(
    client: TestClient, session: Session, therapist: User, episode: Episode
) -> None:
    login(client, therapist)
    english = client.get(f"{API}/episodes/{episode.external_id}/consent-text").json()
    assert english["version"] == consent.TEMPLATE_VERSION and english["language"] == "en"
    assert "Tennis elbow" in english["text"]
    spanish = client.get(f"{API}/episodes/{episode.external_id}/consent-text?language=es").json()
    assert spanish["sha256"] != english["sha256"]
    wrong = client.post(
        f"{API}/episodes/{episode.external_id}/consents",
        json={"decision": "granted", "shown_sha256": english["sha256"], "language": "es"},
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "shown_sha256"
    assert _consents(session) == 0
    made = client.post(
        f"{API}/episodes/{episode.external_id}/consents",
        json={"decision": "granted", "shown_sha256": english["sha256"]},
    )
    assert made.status_code == 201
    assert (made.json()["text_version"], made.json()["language"]) == (
        consent.TEMPLATE_VERSION,
        "en",
    )


@pytest.mark.parametrize("language", ["klingon", "ES", "es-MX", "fr", " es"])
def test_an_unknown_language_names_the_field_and_records_nothing(
    client: TestClient, session: Session, therapist: User, episode: Episode, language: str
) -> None:
    login(client, therapist)
    shown = client.get(
        f"{API}/episodes/{episode.external_id}/consent-text", params={"language": language}
    )
    assert shown.status_code == 422 and shown.json()["field"] == "language"
    assert "en, es" in shown.json()["detail"]
    before = session.scalar(select(func.count()).select_from(AuditEvent))
    made = client.post(
        f"{API}/episodes/{episode.external_id}/consents",
        json={"decision": "granted", "language": language},
    )
    assert made.status_code == 422 and made.json()["field"] == "language"
    assert _consents(session) == 0
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_the_language_of_a_stored_template_version() -> None:
    assert consent.language_of(consent.TEMPLATE_VERSION) == "en"
    assert consent.language_of("iastm-es-2026.3") == "es"  # records made before 2026.4
    assert consent.language_of(consent.version_for("es")) == "es"
    assert consent.language_of("odd") == "en"


def test_another_clinics_episode_is_not_found_in_any_language(
    client: TestClient, session: Session, episode: Episode
) -> None:
    stranger = make_user(session, make_clinic(session))
    session.commit()
    login(client, stranger)
    for answer in (
        client.get(f"{API}/episodes/{episode.external_id}/consent-text?language=es"),
        client.post(
            f"{API}/episodes/{episode.external_id}/consents",
            json={"decision": "granted", "language": "es"},
        ),
    ):
        assert answer.status_code == 404
    assert _consents(session) == 0
