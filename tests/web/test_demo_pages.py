"""Every main page opens on the demo clinic, the data a new user first sees after `make run`."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from strigil import demo
from strigil.store.episodes import Episode
from strigil.store.visits import Visit


def test_demo_clinic_pages_open(session: Session, client: TestClient) -> None:
    demo.load(session=session, anchor=date(2026, 11, 2))
    session.commit()
    signed_in = client.post(
        "/api/v1/auth/login",
        json={"email": "therapist1@northside.example", "password": demo.DEMO_PASSWORD},
    )
    assert signed_in.status_code == 200
    episode = session.scalars(select(Episode).where(Episode.clinic_id == 1)).first()
    visit = session.scalars(select(Visit).where(Visit.clinic_id == 1)).first()
    assert episode is not None and visit is not None
    for path in (
        "/",
        "/patients",
        "/evidence",
        "/evidence/studies",
        "/evidence/clinic",
        "/evidence/reliability",
        f"/episodes/{episode.external_id}",
        f"/visits/{visit.external_id}",
        f"/patients/{episode.patient.external_id}",
    ):
        response = client.get(path, headers={"accept": "text/html"})
        assert response.status_code == 200, f"{path}: {response.status_code}"
