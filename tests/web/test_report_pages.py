"""The episode page links its progress report (and, once discharged, its discharge summary)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.factories import login, make_clinic, make_episode, make_patient, make_user

HTML = {"Accept": "text/html"}


def test_episode_page_links_reports_and_serves_them_by_role(
    session: Session, client: TestClient
) -> None:
    clinic = make_clinic(session)
    therapist = make_user(session, clinic)
    episode = make_episode(session, therapist, make_patient(session, therapist))
    session.flush()
    login(client, therapist)
    url = f"/episodes/{episode.external_id}"
    page = client.get(url, headers=HTML).text
    assert f'href="{url}/progress-report.pdf"' in page
    assert "discharge-summary.pdf" not in page  # still active
    pdf = client.get(f"{url}/progress-report.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["cache-control"] == "no-store" and pdf.content.startswith(b"%PDF")
    assert client.get(f"{url}/discharge-summary.pdf").status_code == 409
    episode.status = "discharged"
    session.flush()
    assert f'href="{url}/discharge-summary.pdf"' in client.get(url, headers=HTML).text
    assert client.get(f"{url}/discharge-summary.pdf").content.startswith(b"%PDF")
    client.cookies.clear()
    login(client, make_user(session, clinic, role="researcher"))
    assert client.get(f"{url}/progress-report.pdf").status_code == 403
