"""The Sensitivity section of the evidence page: the engine's figures in a compact table, the
influential trials flagged, trim-and-fill in plain words, and computed once per evidence
version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.factories import login, make_clinic, make_user

from strigil.evidence import studies as studies_module
from strigil.evidence.robustness import SensitivityReport, sensitivity_report
from strigil.evidence.studies import Arm, EvidenceBase, Study, pool
from strigil.services import evidence as evidence_service
from strigil.store.clinics import User

# Small trials report less pain with IASTM than large ones: an asymmetric funnel.
ASYMMETRIC = [(4.0, 20), (3.0, 12), (4.6, 80), (3.9, 40), (2.5, 10), (4.4, 120), (3.5, 15),
              (4.8, 200)]  # fmt: skip


def trial(i: int, mean: float, n: int) -> Study:
    return Study(
        id=f"synthetic{i}", citation=f"Synthetic{i} A. A made-up trial.", year=2000 + i,
        design="RCT", condition="test condition", intervention="iastm", comparison="sham",
        outcome="pain", timepoint="4 weeks", doi=None, note="synthetic",
        iastm=Arm(n, mean, 2.0), control=Arm(n, 5.0, 2.0),
    )  # fmt: skip


Use = Callable[[list[tuple[float, int]], str], None]


@pytest.fixture
def use(monkeypatch: pytest.MonkeyPatch) -> Use:
    """Replace the bundled evidence by synthetic trials under their own version string."""

    def install(arms: list[tuple[float, int]], version: str) -> None:
        trials = tuple(trial(i, m, n) for i, (m, n) in enumerate(arms))
        base = EvidenceBase(version, ("synthetic",), trials)
        monkeypatch.setattr(studies_module, "studies", lambda: trials)
        monkeypatch.setattr(evidence_service, "load_evidence", lambda: base)

    evidence_service._sensitivity.cache_clear()
    return install


@pytest.fixture
def therapist(session: Session, client: TestClient) -> User:
    user = make_user(session, make_clinic(session))
    session.commit()
    login(client, user)
    return user


def panel(html: str, anchor: str = "sham-pain") -> str:
    return html.split(f'id="{anchor}"')[1].split("</section>\n</section>")[0]


def expected() -> SensitivityReport:
    fit = pool("pain", "sham").result
    labels = [f"Synthetic{i} et al. {2000 + i}" for i in range(fit.k)]
    return sensitivity_report(fit.yi, fit.vi, labels)


def test_pooled_comparison_shows_the_sensitivity_table(
    client: TestClient, therapist: User, use: Use
) -> None:
    use(ASYMMETRIC, "synthetic-sensitivity-1")
    html = client.get("/evidence").text
    part = panel(html).split('data-testid="sensitivity"')[1]
    report = expected()
    assert report.influential  # the synthetic data do flag a trial
    named = part.split('data-testid="influential">')[1].split("</td>")[0]
    assert named == ", ".join(report.influential)
    rows = part.split('data-testid="influence"')[1].split("</table>")[0].split("<tr")[2:]
    flagged = [r.split('scope="row">')[1].split("<")[0] for r in rows if 'class="ev-flag"' in r]
    assert tuple(flagged) == report.influential and len(rows) == 8
    tf = report.trimfill
    assert tf is not None and tf.k0 == 4
    assert (
        f'data-testid="trimfill">4 imputed on the left side; adjusted SMD {tf.estimate:.2f} '
        f"({tf.ci_low:.2f} to {tf.ci_high:.2f})</td>" in part
    )
    words = part.split('data-testid="trimfill-words">')[1].split("</p>")[0]
    assert words.startswith("Trim-and-fill suggests 4 trials less favourable to IASTM may be")
    assert f"moves the pooled SMD from {report.estimate:.2f} to {tf.estimate:.2f}" in words
    assert "only one possible reason" in words
    perm = report.permutation
    assert perm is not None
    assert perm.model_pvalue < 0.001 <= perm.pvalue
    assert (
        f'data-testid="permutation">p = {perm.pvalue:.3f} (exact, 256 sign flips); '
        "model p &lt; 0.001</td>" in part
    )
    g = report.gosh
    assert g is not None
    assert "GOSH (DL, 255 subsets)</th><td" in part
    assert f"SMD {g.estimate[0]:.2f} to {g.estimate[4]:.2f} (median {g.estimate[2]:.2f}" in part
    assert "GOSH subsets are fitted with the DL model, not REML" in part
    assert "style=" not in html and "<script>" not in html  # CSP: classes only


def test_two_trials_say_what_cannot_be_assessed(
    client: TestClient, therapist: User, use: Use
) -> None:
    use(ASYMMETRIC[:2], "synthetic-sensitivity-2")
    part = panel(client.get("/evidence").text).split('data-testid="sensitivity"')[1]
    assert 'data-testid="influential"><span class="muted">not assessed</span>' in part
    assert "k = 2: influence diagnostics need at least 3 studies" in part
    assert "k = 2: trim-and-fill needs at least 3 studies" in part
    assert 'data-testid="trimfill"' not in part and 'data-testid="influence"' not in part
    assert "(exact, 4 sign flips)" in part


def test_a_single_trial_has_no_sensitivity_section(client: TestClient, therapist: User) -> None:
    html = client.get("/evidence").text
    assert 'data-testid="sensitivity"' not in panel(html, "sham-strength")


def test_computed_once_per_evidence_version(
    client: TestClient, therapist: User, use: Use, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> SensitivityReport:
        calls.append(1)
        return sensitivity_report(*args, **kwargs)

    monkeypatch.setattr(evidence_service, "sensitivity_report", counted)
    use(ASYMMETRIC, "synthetic-sensitivity-3")
    first = client.get("/evidence").text
    second = client.get("/evidence").text
    assert len(calls) == 1 and first == second
    client.get("/evidence", params={"method": "DL"})  # another model is another computation
    assert len(calls) == 2
    use(ASYMMETRIC, "synthetic-sensitivity-4")  # a new evidence release computes afresh
    client.get("/evidence")
    assert len(calls) == 3
