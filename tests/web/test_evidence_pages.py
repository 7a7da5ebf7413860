"""Evidence pages and API: they render, have the documented shapes, pool when two trials allow,
show a single trial on its own, say so plainly when no trial has numbers, and show a clinic only
its own aggregates."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.factories import login, make_clinic, make_user
from tests.services.test_comparisons import build

from strigil.evidence import studies as studies_module
from strigil.evidence.studies import Arm, EvidenceBase, Study
from strigil.services import evidence as evidence_service
from strigil.store.clinics import Clinic, User


def trial(i: int, mean: float) -> Study:
    return Study(
        id=f"synthetic{i}", citation=f"Synthetic{i} A. A made-up trial.", year=2000 + i,
        design="RCT", condition="test condition", intervention="iastm",
        comparison="hands_on_mfr", outcome="pain", timepoint="4 weeks", doi=None,
        note="synthetic", iastm=Arm(30, mean, 1.5), control=Arm(30, 4.5, 1.5),
    )  # fmt: skip


@pytest.fixture
def synthetic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three synthetic trials instead of the bundled file (its own version keys the plot cache)."""
    trials = (trial(1, 4.0), trial(2, 3.8), trial(3, 4.4))
    base = EvidenceBase("synthetic-test", ("synthetic",), trials)
    monkeypatch.setattr(studies_module, "studies", lambda: trials)
    monkeypatch.setattr(evidence_service, "load_evidence", lambda: base)


@pytest.fixture
def clinic(session: Session) -> Clinic:
    return make_clinic(session)


@pytest.fixture
def therapist(session: Session, client: TestClient, clinic: Clinic) -> User:
    user = make_user(session, clinic)
    session.commit()
    login(client, user)
    return user


def test_evidence_page_shows_a_single_trial_without_calling_it_pooled(
    client: TestClient, therapist: User
) -> None:
    response = client.get("/evidence")
    assert response.status_code == 200
    html = response.text
    panel = html.split('id="sham-strength"')[1].split("</section>")[0]
    assert "IASTM compared with a sham (placebo) treatment: strength" in html
    assert "One trial, shown on its own (nothing to pool)" in panel
    assert "1.37 (0.57 to 2.16), z = 3.38" in panel  # Kivlan 2015, checked against metafor
    assert "Pooled SMD" not in panel and "Prediction interval" not in panel
    assert 'src="/evidence/forest/sham/strength.svg?method=REML&amp;test=z"' in panel
    assert "based on one small trial" in panel
    assert "Kivlan et al. 2015" in panel and "doi.org/10.1186/s12891-015-0778-9" in panel
    assert "Time point: immediately after one treatment" in panel
    assert "Change: IASTM 15 ± 18, n = 15 vs comparison -6 ± 11, n = 15" in panel
    assert "style=" not in html and "<script>" not in html  # CSP: classes only


def test_evidence_page_shows_grade_table_and_rob2_per_trial(
    client: TestClient, therapist: User
) -> None:
    html = client.get("/evidence").text
    panel = html.split('id="sham-strength"')[1].split("</section>")[0]
    grade = panel.split('data-testid="grade"')[1].split("</table>")[0]
    for domain in ("Risk of bias", "Inconsistency", "Indirectness", "Imprecision",
                   "Publication bias"):  # fmt: skip
        assert f'<th scope="row">{domain}</th>' in grade
    assert "30 participants, below the optimal information size of 400" in grade
    assert "very low" in grade
    rob = panel.split('data-testid="rob2"')[1].split("</details>")[0]
    assert "Missing outcome data:</strong>" in rob and "some concerns" in rob
    assert "not judged" in rob
    mfr = html.split('id="hands_on_mfr-pain"')[1].split("</section>")[0]
    assert "not graded" in mfr and "controlled trial, randomisation not stated" in mfr
    assert "Sources disagree" not in mfr


def test_evidence_page_says_plainly_when_no_trial_has_numbers(
    client: TestClient, therapist: User
) -> None:
    html = client.get("/evidence").text
    panel = html.split('id="spinal_manipulation-pain"')[1].split("</section>")[0]
    assert "The only randomised trial here does not report numbers we could use" in panel
    assert "<img" not in panel


def test_single_trial_forest_plot_has_no_pooled_diamond(
    client: TestClient, therapist: User
) -> None:
    plot = client.get("/evidence/forest/sham/strength.svg")
    assert plot.status_code == 200
    assert "Kivlan et al. 2015" in plot.text
    assert "% change in maximal isometric unilateral squat force" in plot.text
    assert "One study only: nothing pooled" in plot.text
    assert "Random effects" not in plot.text and "Common effect" not in plot.text


def test_evidence_page_pools_and_links_the_forest_plot(
    client: TestClient, therapist: User, synthetic: None
) -> None:
    html = client.get("/evidence").text
    assert 'src="/evidence/forest/hands_on_mfr/pain.svg?method=REML&amp;test=z"' in html
    assert "Prediction interval" in html and "I²" in html and "τ²" in html
    assert "Compared with hands-on myofascial release or massage, IASTM may" in html
    plot = client.get("/evidence/forest/hands_on_mfr/pain.svg")
    assert plot.status_code == 200
    assert plot.headers["content-type"].startswith("image/svg+xml")
    assert plot.text.lstrip().startswith("<?xml") and "<svg" in plot.text


def test_forest_plot_of_unpoolable_comparison_is_422(client: TestClient, therapist: User) -> None:
    response = client.get("/evidence/forest/hands_on_mfr/pain.svg")
    assert response.status_code == 422


def test_study_list_page(client: TestClient, therapist: User) -> None:
    response = client.get("/evidence/studies")
    assert response.status_code == 200
    assert (
        "randomised trial" in response.text
        and "https://doi.org/10.1186/s12998-016-0096-9" in response.text
    )
    assert "Outcome and time point</th>" in response.text
    assert "Time point: immediately after one treatment" in response.text
    assert "controlled trial, randomisation not stated" in response.text
    assert "Sources disagree" in response.text and "Phys Ther Rev" in response.text


def test_pages_need_sign_in(client: TestClient) -> None:
    response = client.get("/api/v1/evidence/studies")
    assert response.status_code == 401


def test_api_studies_shape(client: TestClient, therapist: User) -> None:
    body = client.get("/api/v1/evidence/studies").json()
    assert body["version"]
    elhafez = next(s for s in body["studies"] if s["id"] == "elhafez2020")
    assert elhafez["usable"] is False and elhafez["design"] == "controlled_trial"
    assert elhafez["arms"]["iastm"] == {"n": 20, "mean": 3.45, "sd": 1.09}
    assert elhafez["source_note"] and elhafez["measure"] == "VAS (0-10)"
    kivlan = next(s for s in body["studies"] if s["id"] == "kivlan2015_sham")
    assert kivlan["rob2"]["domains"]["missing_data"]["judgement"] == "some concerns"
    assert kivlan["rob2"]["domains"]["randomisation"]["judgement"] is None
    assert kivlan["rob2"]["overall"] is None
    shewail = next(s for s in body["studies"] if s["id"] == "shewail2023")
    assert shewail["arms"] is None and shewail["usable"] is False


def test_api_pool_of_one_trial_is_the_trial_not_a_pooled_result(
    client: TestClient, therapist: User
) -> None:
    response = client.get(
        "/api/v1/evidence/pool", params={"outcome": "strength", "comparison": "sham"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["k"] == 1 and body["pooled"] is False and body["studies"] == ["kivlan2015_sham"]
    assert body["estimate"] == pytest.approx(1.369735860903910, rel=1e-9)
    assert body["grade"]["certainty"] == "very low" and len(body["grade"]["domains"]) == 5
    assert body["tau2"] is None and body["i2"] is None and body["pi_low"] is None


def test_api_pool_without_usable_trial_is_422(client: TestClient, therapist: User) -> None:
    response = client.get(
        "/api/v1/evidence/pool", params={"outcome": "pain", "comparison": "spinal_manipulation"}
    )
    assert response.status_code == 422
    assert "no trial with usable data" in response.json()["detail"]


def test_api_pool_shape(client: TestClient, therapist: User, synthetic: None) -> None:
    params = {"outcome": "pain", "comparison": "hands_on_mfr", "method": "DL", "test": "knha"}
    body = client.get("/api/v1/evidence/pool", params=params).json()
    assert body["k"] == 3 and body["method"] == "DL" and body["test"] == "knha"
    assert body["pooled"] is True
    for key in ("estimate", "ci_low", "ci_high", "tau2", "i2", "q", "pi_low", "pi_high"):
        assert isinstance(body[key], float)
    assert body["estimate"] > 0  # less pain with IASTM in the synthetic trials
    assert body["certainty"] in ("very low", "low", "moderate", "high")
    assert body["summary"].startswith("Compared with hands-on myofascial release or massage")


def test_api_pool_unknown_method_names_the_field(client: TestClient, therapist: User) -> None:
    params = {"outcome": "strength", "comparison": "sham", "method": "XX"}
    response = client.get("/api/v1/evidence/pool", params=params)
    assert response.status_code == 422 and response.json()["field"] == "method"


def test_clinic_page_without_data(client: TestClient, therapist: User) -> None:
    response = client.get("/evidence/clinic")
    assert response.status_code == 200 and "No completed episodes yet" in response.text


def test_clinic_page_and_api_show_only_aggregates(
    client: TestClient, session: Session, clinic: Clinic
) -> None:
    staff = build(session, clinic, 24, 2.0)
    researcher = make_user(session, clinic, role="researcher")
    build(session, make_clinic(session), 30, -4.0, seed=5)
    session.commit()
    login(client, researcher)
    html = client.get("/evidence/clinic").text
    assert 'data-testid="adjusted"' in html and "confounding by indication" in html
    assert "Testperson" not in html and staff[0].display_name not in html
    params = {"condition_group": "lateral_elbow", "measure": "NPRS"}
    body = client.get("/api/v1/evidence/clinic-comparison", params=params).json()
    assert body["fitted"] is True and body["estimate"] > 0
    assert [a["n"] for a in body["arms"]] == [12, 12]
    assert set(body) >= {"ci_low", "ci_high", "pvalue", "model", "caveat", "n_therapists"}


def test_clinic_comparison_too_small_via_api(
    client: TestClient, session: Session, clinic: Clinic
) -> None:
    staff = build(session, clinic, 4, 2.0)
    session.commit()
    login(client, staff[0])
    params = {"condition_group": "lateral_elbow", "measure": "NPRS"}
    body = client.get("/api/v1/evidence/clinic-comparison", params=params).json()
    assert body["fitted"] is False and "Too few" in body["message"]


def test_assistant_gets_403_for_clinic_data(
    client: TestClient, session: Session, clinic: Clinic
) -> None:
    assistant = make_user(session, clinic, role="assistant")
    session.commit()
    login(client, assistant)
    assert client.get("/api/v1/evidence/reliability").status_code == 403
    assert client.get("/evidence/clinic").status_code == 403


def test_reliability_page_and_api(client: TestClient, therapist: User) -> None:
    response = client.get("/evidence/reliability")
    assert response.status_code == 200
    assert "how can it be treated?" in response.text and "Landis" in response.text
    assert 'data-testid="no-checks"' in response.text
    body = client.get("/api/v1/evidence/reliability").json()
    assert body["visits"] == [] and body["pooled_kappa"] is None and body["message"]
