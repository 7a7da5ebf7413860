"""People get pages, programs get JSON: an error on a page route (not found, a refused form,
a database outage) answers an HTML page; the API keeps its ``{"detail", "code"}`` body."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from tests.factories import login, make_clinic, make_user

from strigil.services import patients


def _is_page(response: object, status: int, code: str) -> None:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert "text/html" in response.headers["content-type"]  # type: ignore[attr-defined]
    assert f'data-code="{code}"' in response.text  # type: ignore[attr-defined]


def _is_json(response: object, status: int, code: str) -> None:
    assert response.status_code == status  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["code"] == code and isinstance(body["detail"], str)


def test_not_found_is_a_page_for_pages_and_json_for_the_api(
    client: TestClient, session: Session
) -> None:
    login(client, make_user(session, make_clinic(session)))
    _is_page(client.get("/no-such-page"), 404, "http_404")
    _is_page(client.get("/patients/3f1d2c4b-0000-4000-8000-000000000000"), 404, "patient_not_found")
    _is_json(client.get("/api/v1/no-such-thing"), 404, "http_404")


def test_a_refused_form_is_a_page(client: TestClient, session: Session) -> None:
    login(client, make_user(session, make_clinic(session), role="admin"))
    del client.headers["X-CSRF-Token"]
    _is_page(client.post("/admin/instruments", data={"label": "X"}), 403, "csrf_failed")
    _is_json(client.post("/api/v1/patients", json={}), 403, "csrf_failed")


def test_an_outage_is_a_page_for_pages_and_json_for_the_api(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(client, make_user(session, make_clinic(session)))

    def down(**_: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(patients, "search", down)
    _is_page(client.get("/patients"), 503, "database_unavailable")
    _is_json(client.get("/api/v1/patients"), 503, "database_unavailable")
