"""The diagnosis search of the API and of the episode form understands clinical words."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.factories import login, make_clinic, make_user

from strigil.core import icd10


def _signed_in(session: Session, client: TestClient) -> None:
    icd10.warm()  # the server builds the index on a background thread at start; wait for it
    login(client, make_user(session, make_clinic(session)))


def test_the_api_offers_tennis_elbow_first_with_the_term_and_plain_title(
    session: Session, client: TestClient
) -> None:
    _signed_in(session, client)
    found = client.get("/api/v1/catalog/icd10", params={"q": "tennis", "limit": 5}).json()
    assert found[0]["code"] == "M77.11"
    assert found[0]["matched_term"] == "tennis elbow"
    assert found[0]["lay_title"].startswith("Tennis elbow")


def test_the_api_refuses_an_over_long_or_blank_query_naming_q(
    session: Session, client: TestClient
) -> None:
    _signed_in(session, client)
    for q in ("x" * 81, "   "):
        answer = client.get("/api/v1/catalog/icd10", params={"q": q})
        assert answer.status_code == 422 and answer.json()["field"] == "q", answer.json()


def test_the_episode_form_picker_offers_codes_for_clinical_words(
    session: Session, client: TestClient
) -> None:
    _signed_in(session, client)
    html = client.get("/icd10", params={"condition_code": "DVT"}, headers={"HX-Request": "true"})
    assert html.status_code == 200 and 'value="I82.401 ' in html.text and ">DVT<" in html.text


def test_the_picker_refuses_an_over_long_query_naming_its_field(
    session: Session, client: TestClient
) -> None:
    _signed_in(session, client)
    answer = client.get(
        "/icd10", params={"condition_code": "x" * 81}, headers={"HX-Request": "true"}
    )
    assert answer.status_code == 422 and "at most 80" in answer.text


def test_the_picker_answers_at_once_while_the_index_is_still_building(
    session: Session, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _signed_in(session, client)
    monkeypatch.setattr(icd10, "index_ready", lambda: False)
    html = client.get("/icd10", params={"condition_code": "DVT"}, headers={"HX-Request": "true"})
    assert html.status_code == 200 and "<option" not in html.text
