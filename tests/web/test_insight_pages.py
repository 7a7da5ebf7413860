"""Insight pages and API: they render the model, the funnel plot and the rates with n and
intervals; a researcher's JSON names no patient and no therapist; an assistant is refused;
bad parameters are refused naming the field."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories import login, make_clinic, make_patient, make_user
from tests.services.test_insight import build

from strigil.services import computations, insight
from strigil.store.episodes import Episode


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    computations.cache_of("insight-fits").clear()
    insight._MEMO.clear()  # counts and charts remembered per data version


def test_outcome_page_and_api_for_each_role(client: TestClient, session: Session) -> None:
    clinic = make_clinic(session)
    staff = build(session, clinic, 10)
    researcher = make_user(session, clinic, role="researcher")
    session.commit()

    login(client, staff[0])
    page = client.get("/insight/outcomes", params={"measure": "NPRS"})
    assert page.status_code == 200, page.text
    html = page.text
    assert 'data-testid="model-n"' in html and "n = 30" in html
    assert "data:image/svg+xml;base64," in html  # the funnel plot
    assert 'data-testid="coefficients"' in html and "intake" in html
    assert staff[0].display_name in html and staff[1].display_name not in html
    assert html.count("Open chart") == 10
    safety = client.get("/insight/safety")
    assert safety.status_code == 200 and 'data-testid="safety-table"' in safety.text

    login(client, researcher)
    body = client.get("/api/v1/insight/outcomes", params={"measure": "NPRS"}).json()
    assert body["fit"]["n"] == 30 and body["message"] is None
    terms = [c["term"] for c in body["fit"]["coefficients"]]
    assert terms[0] == "Intercept" and "intake" in terms
    assert {t["label"] for t in body["therapists"]} == {"Therapist A", "Therapist B", "Therapist C"}
    assert body["patients"] == []
    text = str(body)
    assert not any(u.display_name in text for u in staff)
    # no internal therapist or clinic id travels
    assert all("unit" not in (t["mcid"] or {}) for t in body["therapists"])
    assert body["fit"]["clinics"] == [] and body["fit"]["mcid"]["clinics"] == []
    assert all(
        t["n"] == 10 and t["ci_low"] < t["effect"] < t["ci_high"] for t in body["therapists"]
    )
    rates = client.get("/api/v1/insight/safety").json()
    assert rates["clinic"]["visits"] == 30
    assert rates["clinic"]["adverse_events"]["n"] == 30


def test_bad_parameters_and_roles(client: TestClient, session: Session) -> None:
    clinic = make_clinic(session)
    therapist = make_user(session, clinic)
    assistant = make_user(session, clinic, role="assistant")
    session.commit()
    login(client, therapist)
    few = client.get("/api/v1/insight/outcomes", params={"measure": "NPRS"})
    assert few.status_code == 200
    assert few.json()["message"].startswith("not enough data: n = 0, at least 20 needed")
    bad = client.get("/api/v1/insight/outcomes", params={"measure": "NOPE"})
    assert bad.status_code == 422 and bad.json()["field"] == "measure"
    small = client.get("/api/v1/insight/outcomes", params={"measure": "NPRS", "min_episodes": 2})
    assert small.status_code == 422
    page = client.get("/insight/outcomes", params={"measure": "GROC"})
    assert page.status_code == 200 and "already rates change" in page.text
    login(client, assistant)
    assert client.get("/api/v1/insight/outcomes", params={"measure": "NPRS"}).status_code == 403
    assert client.get("/insight/safety").status_code == 403


def test_episode_form_takes_the_risk_factors(client: TestClient, session: Session) -> None:
    clinic = make_clinic(session)
    therapist = make_user(session, clinic)
    patient = make_patient(session, therapist)
    session.commit()
    login(client, therapist)
    form = {
        "condition_code": "M77.11", "body_region": "elbow_forearm", "side": "right",
        "chronicity": "chronic", "primary_measure": "PRTEE", "approach": "iastm",
        "payer": "medicare", "surgery": "yes", "post_surgical_type": "tendon_repair",
        "comorbidity_count": "two",
    }  # fmt: skip
    url = f"/patients/{patient.external_id}/episodes"
    refused = client.post(url, data=form, headers={"Accept": "text/html"})
    assert refused.status_code == 422 and 'data-field="comorbidity_count"' in refused.text
    saved = client.post(url, data=form | {"comorbidity_count": "2"}, follow_redirects=False)
    assert saved.status_code in (303, 200), saved.text[:300]
    episode = session.scalars(select(Episode).where(Episode.patient_id == patient.id)).one()
    assert (episode.payer, episode.surgery, episode.post_surgical_type) == (
        "medicare",
        True,
        "tendon_repair",
    )
    assert episode.comorbidity_count == 2
    edit = client.get(f"/episodes/{episode.external_id}/edit")
    assert '<option value="yes" selected>' in edit.text
    api = client.get(f"/api/v1/episodes/{episode.external_id}").json()
    assert api["payer"] == "medicare" and api["comorbidity_count"] == 2
