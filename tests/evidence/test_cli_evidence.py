"""The ``strigil evidence`` Typer sub-app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from strigil.cli.evidence import app
from strigil.evidence import studies as studies_module
from strigil.evidence.studies import Arm, Study

runner = CliRunner()


def _trial(i: int, mean: float) -> Study:
    return Study(
        id=f"t{i}", citation="synthetic", year=2020 + i, design="RCT", condition="test",
        intervention="iastm", comparison="sham", outcome="pain", timepoint="4 weeks",
        doi=None, note="", iastm=Arm(25, mean, 2.0), control=Arm(25, 5.0, 2.0),
    )  # fmt: skip


@pytest.fixture
def synthetic_evidence(monkeypatch: pytest.MonkeyPatch) -> None:
    trials = (_trial(1, 4.0), _trial(2, 4.6), _trial(3, 3.9))
    monkeypatch.setattr(studies_module, "studies", lambda: trials)


def test_studies_lists_bundled_entries() -> None:
    result = runner.invoke(app, ["studies", "--json"])
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["version"]
    assert any(s["id"] == "crothers2016_gt_vs_placebo" for s in payload["studies"])
    plain = runner.invoke(app, ["studies"])
    assert "crothers2016_gt_vs_smt" in plain.stdout


def test_pool_writes_json_and_plot(tmp_path: Path, synthetic_evidence: None) -> None:
    plot = tmp_path / "forest.svg"
    result = runner.invoke(
        app, ["pool", "--comparison", "sham", "--json", "--plot", str(plot), "--test", "knha"]
    )
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["k"] == 3 and info["test"] == "knha"
    assert info["pooled"] is True
    assert "Compared with a sham (placebo) treatment" in info["summary"]
    assert plot.exists()


def test_pool_of_the_bundled_single_trial_says_it_is_not_pooled(tmp_path: Path) -> None:
    plot = tmp_path / "forest.png"
    args = ["pool", "--outcome", "strength", "--comparison", "sham", "--plot", str(plot)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("1 trial, not pooled (kivlan2015_sham): SMD 1.37 [0.57, 2.16]")
    assert "heterogeneity not estimable" in result.stdout
    assert "GRADE: certainty very low" in result.stdout
    for domain in ("risk of bias", "inconsistency", "indirectness", "imprecision",
                   "publication bias"):  # fmt: skip
        assert f"  {domain}" in result.stdout
    assert plot.stat().st_size > 1000
    as_json = runner.invoke(app, [*args[:-2], "--json", "--plot", str(tmp_path / "f.svg")])
    info = json.loads(as_json.stdout)
    assert info["pooled"] is False and info["i2"] is None and info["k"] == 1
    assert [d["domain"] for d in info["grade"]["domains"]][0] == "risk of bias"


def test_studies_says_which_numbers_can_be_pooled_with_design_outcome_and_time_point() -> None:
    text = runner.invoke(app, ["studies"]).stdout
    blocks = {b.split()[0]: b for b in text.split("\n") if b and not b.startswith(" ")}
    assert blocks["kivlan2015_sham"].endswith("poolable")
    assert blocks["elhafez2020"].endswith(
        "numbers listed, not pooled (controlled trial, randomisation not stated)"
    )
    assert blocks["lee2016_pain"].endswith("(controlled trial, randomisation not stated)")
    assert "not randomised" not in blocks["lee2016_pain"]
    assert blocks["tang2025_pain"].endswith("review estimate")
    assert blocks["shewail2023"].endswith("no usable numbers read")
    lee = text.split("lee2016_pain (")[1].split("\nlee2016_rom")[0]
    assert "design:     controlled trial, randomisation not stated" in lee
    assert "outcome:    pain - VAS (mm)" in lee
    assert "time point: after a 4-week programme" in lee
    rom = text.split("lee2016_rom (")[1].split("\n", 6)[:6]
    assert any("range of motion - lumbar flexion" in line for line in rom)


def test_forest_only_writes_plot(tmp_path: Path, synthetic_evidence: None) -> None:
    plot = tmp_path / "f.png"
    result = runner.invoke(app, ["forest", "--comparison", "sham", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert plot.stat().st_size > 1000


def test_pool_default_plot_path_is_in_cwd(
    tmp_path: Path, synthetic_evidence: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["pool", "--comparison", "sham"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "evidence-forest.svg").exists()
    assert "certainty" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pool", "--comparison", "hands_on_mfr"], "no trial with usable data"),
        (["pool", "--outcome", "pain", "--comparison", "control"], "no trial with usable data"),
        (["pool", "--comparison", "sham", "--method", "XX"], "unknown method"),
        (["pool", "--comparison", "sham", "--test", "t"], "unknown test"),
        (["forest", "--comparison", "sham", "--plot", "out.pdf"], ".svg or .png"),
    ],
)
def test_bad_input_exits_2_with_message_on_stderr(
    args: list[str],
    message: str,
    synthetic_evidence: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    if "hands_on_mfr" in args:
        monkeypatch.setattr(studies_module, "studies", lambda: ())
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr
