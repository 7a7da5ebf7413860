"""A clinic's checked translation (a pack) on the patient's pages, in the record and on the
chart; a broken pack stops the start. The pack's texts are synthetic test strings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories import (
    actor,
    login,
    make_clinic,
    make_episode,
    make_patient,
    make_user,
    synthetic_pack,
)

from strigil.config import Settings
from strigil.errors import InvalidInput
from strigil.services import patient_forms
from strigil.store.clinics import User
from strigil.store.outcomes import OutcomeMeasurement
from strigil.web.app import create_app

SOURCE = "Titular sintético de prueba"


def pack_with_anchors(**changes: Any) -> dict[str, Any]:
    anchors = {"low": "Ancla baja de prueba", "high": "Ancla alta de prueba"}
    return synthetic_pack(**({"source": SOURCE} | anchors | changes))


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    folder = tmp_path / "packs"
    folder.mkdir()
    (folder / "quickdash-es.json").write_text(json.dumps(pack_with_anchors()), encoding="utf-8")
    (folder / "README.txt").write_text("not a pack: left alone", encoding="utf-8")
    return Settings(database_url=db_url, data_dir=tmp_path, instrument_translations=folder)


@pytest.fixture
def therapist(session: Session) -> User:
    return make_user(session, make_clinic(session))


def _token(session: Session, therapist: User) -> tuple[str, str]:
    episode = make_episode(
        session, therapist, make_patient(session, therapist), primary_measure="QUICKDASH"
    )
    token, _ = patient_forms.issue(
        session=session,
        actor=actor(therapist),
        episode_id=episode.external_id,
        purpose="questionnaires",
    )
    session.commit()
    return token, str(episode.external_id)


def test_the_spanish_page_shows_the_pack_and_the_record_keeps_it(
    client: TestClient, session: Session, therapist: User
) -> None:
    token, episode_id = _token(session, therapist)
    first = client.get(f"/p/{token}?lang=es").text
    assert '<h1 lang="es">Elemento de prueba 1</h1>' in first
    assert "Open a tight jar" not in first
    assert 'data-testid="published-language"' not in first  # no English-only note
    assert "Ancla baja de prueba" in first and "Ancla alta de prueba" in first
    assert 'data-testid="translation-source"' in first and f"{SOURCE}, 0.1-test" in first
    assert "Piense en su brazo" in first  # no prompt in the pack: Strigil's own, translated
    english = client.get(f"/p/{token}?lang=en").text  # no English pack: as published
    assert '<h1 lang="en">Open a tight jar' in english
    assert "Elemento de prueba" not in english and "translation-source" not in english

    answers = {f"q{i}": "2" for i in range(11)} | {"q11": "4"}
    sent = client.post(f"/p/{token}", data=answers | {"step": "11", "go": "send", "lang": "es"})
    assert 'data-testid="questionnaire-thanks"' in sent.text
    rows = {r.measure: r for r in session.scalars(select(OutcomeMeasurement)).all()}
    assert rows["QUICKDASH"].administration == {
        "language": "es",
        "wording": "translation",
        "translation": f"{SOURCE}, 0.1-test",
    }
    assert rows["NPRS"].administration == {"language": "es", "wording": "strigil"}

    login(client, therapist)
    chart = client.get(f"/episodes/{episode_id}").text
    assert f"answered in Español (es), checked translation: {SOURCE}, 0.1-test" in chart
    hint = chart.split('data-testid="published-language-hint"', 1)[1].split("</div>", 1)[0]
    assert "QUICKDASH: checked translation in Español" in hint and SOURCE in hint
    assert "LEFS: English as published only" in hint


def test_without_a_pack_the_published_items_are_recorded_as_english(
    session: Session, therapist: User, db_url: str, tmp_path: Path, app: Any
) -> None:
    """A link answered in Spanish with no Spanish pack keeps today's page, and the record
    says the items were read in English, as published."""
    plain = create_app(Settings(database_url=db_url, data_dir=tmp_path))
    plain.state.sessionmaker = app.state.sessionmaker
    token, _ = _token(session, therapist)
    with TestClient(plain, base_url="http://127.0.0.1") as client:
        first = client.get(f"/p/{token}?lang=es").text
        assert 'data-testid="published-language"' in first
        assert '<h1 lang="en">Open a tight jar' in first and "translation-source" not in first
        answers = {f"q{i}": "1" for i in range(12)}
        client.post(f"/p/{token}", data=answers | {"step": "11", "go": "send", "lang": "es"})
    row = session.scalars(
        select(OutcomeMeasurement).where(OutcomeMeasurement.measure == "QUICKDASH")
    ).one()
    assert row.administration == {"language": "en", "wording": "published"}


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"items": ["Elemento de prueba"] * 10}, "items: QUICKDASH has 11 items"),
        ({"language": "fr"}, "language: must be one of"),
        ({"source": ""}, "source: must not be empty"),
    ],
)
def test_a_broken_pack_stops_the_start_naming_the_file_and_the_rule(
    db_url: str, tmp_path: Path, changes: dict[str, Any], words: str
) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "mine.json").write_text(json.dumps(pack_with_anchors(**changes)), encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        create_app(Settings(database_url=db_url, data_dir=tmp_path, instrument_translations=folder))
    assert "mine.json" in caught.value.detail and words in caught.value.detail


def test_a_configured_folder_that_is_missing_stops_the_start(db_url: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        create_app(
            Settings(
                database_url=db_url, data_dir=tmp_path, instrument_translations=tmp_path / "nope"
            )
        )
    assert caught.value.field == "instrument_translations"
