"""``strigil evidence sensitivity``: the figures are the engine's (itself checked against
metafor), too few trials give a message instead of a crash, and bad options exit 2."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from strigil.cli.evidence import app
from strigil.evidence import gosh, influence, permutest, trimfill
from strigil.evidence import studies as studies_module
from strigil.evidence.studies import Arm, Effect, Study, pool

runner = CliRunner()
Z975 = float(stats.norm.isf(0.025))


def arm_trial(i: int, mean: float, n: int) -> Study:
    return Study(
        id=f"t{i}", citation=f"Trial{i} A. A made-up trial.", year=2000 + i, design="RCT",
        condition="test", intervention="iastm", comparison="sham", outcome="pain",
        timepoint="4 weeks", doi=None, note="", iastm=Arm(n, mean, 2.0), control=Arm(n, 5.0, 2.0),
    )  # fmt: skip


def effect_trial(i: int, yi: float, vi: float) -> Study:
    """A trial reported as an SMD with CI: pooled as yi, vi = ((upper - lower) / 2z)²."""
    half = Z975 * float(np.sqrt(vi))
    return Study(
        id=f"e{i}", citation=f"Effect{i} B. A made-up trial.", year=2010 + i, design="RCT",
        condition="test", intervention="iastm", comparison="sham", outcome="pain",
        timepoint="4 weeks", doi=None, note="", effect=Effect("SMD", yi, yi - half, yi + half),
    )  # fmt: skip


def effect_trials(yi: Any, vi: Any) -> tuple[Study, ...]:
    return tuple(effect_trial(i, y, v) for i, (y, v) in enumerate(zip(yi, vi, strict=True)))


# Small trials report less pain with IASTM than large ones: an asymmetric funnel.
EIGHT = tuple(
    arm_trial(i, m, n)
    for i, (m, n) in enumerate(
        [(4.0, 20), (3.0, 12), (4.6, 80), (3.9, 40), (2.5, 10), (4.4, 120), (3.5, 15), (4.8, 200)]
    )
)


def use(monkeypatch: pytest.MonkeyPatch, trials: tuple[Study, ...]) -> None:
    monkeypatch.setattr(studies_module, "studies", lambda: trials)


def run_json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["sensitivity", "sham", "--json", *args])
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def test_json_reports_the_engines_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, EIGHT)
    info = run_json()
    fit = pool("pain", "sham").result
    y, v = fit.yi, fit.vi
    assert (info["k"], info["method"], info["test"]) == (8, "REML", "z")
    inf = influence(y, v)
    rows = info["influence"]
    assert [r["label"] for r in rows] == [f"Trial{i} et al. {2000 + i}" for i in range(8)]
    for column in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "q_del", "hat", "weight"):
        np.testing.assert_allclose([r[column] for r in rows], getattr(inf, column), rtol=1e-12)
    assert [r["influential"] for r in rows] == inf.influential.tolist()
    assert info["influential"] == [r["label"] for r in rows if r["influential"]] != []
    tf = trimfill(y, v)
    assert tf.k0 > 0  # the asymmetric funnel really has studies filled in
    assert info["trimfill"]["k0"] == tf.k0 and info["trimfill"]["side"] == tf.side == "left"
    assert info["trimfill"]["estimator"] == "L0"
    assert info["trimfill"]["estimate"] == pytest.approx(tf.fit.estimate, rel=1e-12)
    assert info["trimfill"]["ci_low"] == pytest.approx(tf.fit.ci_low, rel=1e-12)
    assert "4 trials less favourable to IASTM may be missing" in info["trimfill"]["summary"]
    perm = permutest(y, v, exact=True)
    assert info["permutation"] == {
        "pvalue": pytest.approx(perm.pvalue), "model_pvalue": pytest.approx(fit.pvalue),
        "exact": True, "iterations": 256,
    }  # fmt: skip
    g = gosh(y, v, method="DL")
    assert info["gosh"]["method"] == "DL" and info["gosh"]["subsets"] == 255
    assert info["gosh"]["estimate"]["min"] == pytest.approx(g.estimate.min())
    assert info["gosh"]["estimate"]["median"] == pytest.approx(float(np.median(g.estimate)))
    assert info["gosh"]["i2"]["max"] == pytest.approx(g.i2.max())
    assert any("DL model, not REML" in n for n in info["notes"])


def test_estimator_method_and_test_are_passed_through(monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, EIGHT)
    info = run_json("--estimator", "R0", "--method", "EE", "--test", "knha")
    fit = pool("pain", "sham", method="EE", test="knha").result
    tf = trimfill(fit.yi, fit.vi, method="EE", estimator="R0")
    assert info["trimfill"]["estimator"] == "R0" and info["trimfill"]["k0"] == tf.k0
    assert info["gosh"]["method"] == "EE" and info["notes"] == []
    perm = permutest(fit.yi, fit.vi, method="EE", test="knha", exact=True)
    assert info["permutation"]["pvalue"] == pytest.approx(perm.pvalue)
    assert info["permutation"]["model_pvalue"] == pytest.approx(fit.pvalue)


def test_text_output_has_every_part(monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, EIGHT)
    result = runner.invoke(app, ["sensitivity", "sham"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("IASTM vs a sham (placebo) treatment: pain - 8 trials, REML/z, SMD ")
    header = next(line for line in out.splitlines() if line.strip().startswith("study"))
    assert header.split() == ["study", "rstudent", "dffits", "cook.d", "cov.r", "tau2.del",
                              "QE.del", "hat", "weight", "infl"]  # fmt: skip
    flagged = [line.split(" et al.")[0].strip() for line in out.splitlines() if
               line.startswith("  Trial") and line.rstrip().endswith("*")]  # fmt: skip
    assert flagged == [label.split(" et al.")[0] for label in run_json()["influential"]]
    assert "Trim-and-fill (L0): 4 imputed on the left side" in out
    assert "With fewer than 10 trials this check has little power." in out
    assert "Permutation test: p = " in out and "(exact, 256 sign flips); model p = " in out
    assert "GOSH (DL, all 255 subsets):" in out
    assert "  estimate: min " in out and "  I^2 (%):  min " in out


def test_two_trials_say_what_needs_three_and_still_test(monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, EIGHT[:2])
    result = runner.invoke(app, ["sensitivity", "sham"])
    assert result.exit_code == 0, result.output
    assert "note: k = 2: influence diagnostics need at least 3 studies" in result.stdout
    assert "note: k = 2: trim-and-fill needs at least 3 studies" in result.stdout
    assert "Influence (" not in result.stdout and "Trim-and-fill (" not in result.stdout
    assert "(exact, 4 sign flips)" in result.stdout and "GOSH (DL, all 3 subsets)" in result.stdout
    info = run_json()
    assert info["influence"] is None and info["trimfill"] is None
    assert info["influential"] == []


def test_a_single_trial_is_not_pooled_and_not_tested() -> None:
    """The bundled evidence has one usable trial of IASTM vs sham for strength."""
    result = runner.invoke(app, ["sensitivity", "sham", "--outcome", "strength"])
    assert result.exit_code == 0, result.output
    assert "1 trial, not pooled, SMD 1.37 [0.57, 2.16]" in result.stdout
    assert "nothing pooled, so nothing to test for sensitivity" in result.stdout
    info = run_json("--outcome", "strength")
    assert info["permutation"] is None and info["gosh"] is None and info["k"] == 1


def test_q0_undefined_for_the_data_is_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    """One precise trial far below the rest: metafor's Q0 stops with an error here too."""
    yi = [0.0, 0.5, 0.6, 0.7, 0.8, 0.9]
    vi = [0.001, 0.05, 0.06, 0.08, 0.1, 0.12]
    use(monkeypatch, effect_trials(yi, vi))
    info = run_json("--estimator", "Q0")
    assert info["trimfill"] is None
    assert any(n.startswith("trim-and-fill (Q0): the Q0 estimator is undefined") for n in
               info["notes"])  # fmt: skip
    assert info["influence"] is not None and info["permutation"] is not None
    assert run_json()["trimfill"]["k0"] == 2  # L0 is defined for the same data


def test_more_than_twenty_trials_sample_flips_and_skip_gosh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(8)
    vi = rng.uniform(0.02, 0.2, 21)
    yi = rng.normal(0.3, 0.2, 21)
    use(monkeypatch, effect_trials(yi, vi))
    info = run_json("--method", "DL")
    assert info["gosh"] is None
    assert "k = 21: the GOSH summary is given for 2 to 20 studies" in info["notes"]
    assert info["permutation"]["exact"] is False
    assert info["permutation"]["iterations"] == 10_000
    assert len(info["influence"]) == 21
    again = run_json("--method", "DL")
    assert again["permutation"]["pvalue"] == info["permutation"]["pvalue"]  # fixed seed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sensitivity", "spinal_manipulation"], "no trial with usable data"),
        (["sensitivity", "sham", "--estimator", "Q1"], "estimator: estimator must be one of"),
        (["sensitivity", "sham", "--method", "XX"], "unknown method 'XX'"),
        (["sensitivity", "sham", "--test", "t"], "unknown test 't'"),
    ],
)
def test_bad_input_exits_2_naming_the_problem(
    args: list[str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(monkeypatch, EIGHT)
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr and result.stdout == ""
