"""The bundled evidence base, pooling, summaries, certainty labels and plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from strigil.evidence import meta_analyze
from strigil.evidence.grade import grade
from strigil.evidence.plots import ForestStyle, forest_plot, funnel_plot
from strigil.evidence.studies import (
    Arm,
    Study,
    load_evidence,
    plain_language_summary,
    pool,
    studies,
)


def make_trial(i: int, mean_iastm: float, comparison: str = "hands_on_mfr") -> Study:
    return Study(
        id=f"t{i}", citation="synthetic", year=2020 + i, design="RCT", condition="test",
        intervention="iastm", comparison=comparison, outcome="pain", timepoint="4 weeks",
        doi=None, note="", iastm=Arm(30, mean_iastm, 2.0), control=Arm(30, 5.0, 2.0),
    )  # fmt: skip


def test_bundled_file_is_versioned_and_sourced() -> None:
    base = load_evidence()
    assert base.version and base.sources
    ids = [s.id for s in base.studies]
    assert len(ids) == len(set(ids))
    for s in base.studies:
        assert s.citation and s.design
        assert s.note or s.doi, f"{s.id} has neither a DOI nor a note"


def test_unsourced_numbers_stay_null() -> None:
    williams = next(s for s in studies() if s.id == "williams_iastm_vs_mfr_clbp")
    assert williams.effect is None and williams.iastm is None


def test_pool_refuses_without_any_usable_trial() -> None:
    with pytest.raises(ValueError, match="no trial with usable data"):
        pool("pain", "spinal_manipulation")


def test_single_trial_is_reported_alone_with_metafor_numbers() -> None:
    """Kivlan 2015 (Astym vs sham, strength, higher better) on its own; reference values from
    metafor 3.8.1: escalc("SMD", 15, 18, 15, -6, 11, 15) then rma(method="EE") (k = 1)."""
    single = pool("strength", "sham", method="REML", test="knha")
    assert single.single and [s.id for s in single.studies] == ["kivlan2015_sham"]
    r = single.result
    assert (r.method, r.test, r.k) == ("EE", "z", 1)
    assert r.estimate == pytest.approx(1.369735860903910, rel=1e-9)
    assert r.se == pytest.approx(0.405712877304590, rel=1e-9)
    assert (r.ci_low, r.ci_high) == pytest.approx((0.574553233322795, 2.164918488485025), rel=1e-9)
    assert r.pvalue == pytest.approx(0.000735155170012, rel=1e-6)
    table = grade("sham", "strength", single.studies, r)
    assert table.certainty == "very low"
    text = plain_language_summary(r, "sham", "strength", "very low")
    assert "based on one small trial" in text and "large difference in strength" in text


def test_non_randomised_numbers_are_listed_never_pooled() -> None:
    lee = next(s for s in studies() if s.id == "lee2016_pain")
    assert lee.has_numbers and not lee.usable
    with pytest.raises(ValueError, match="no trial with usable data"):
        pool("pain", "control")


def test_pool_turns_arm_data_into_smd_favouring_iastm_when_pain_is_lower() -> None:
    trials = (
        make_trial(1, 4.0),
        make_trial(2, 4.5),
        make_trial(3, 4.2),
        make_trial(4, 3.0, "sham"),
    )
    pooled = pool("pain", "hands_on_mfr", evidence=trials)
    assert [s.id for s in pooled.studies] == ["t1", "t2", "t3"]
    assert pooled.result.k == 3
    assert pooled.result.estimate > 0


def test_plain_language_summary_is_honest_about_uncertainty() -> None:
    res = meta_analyze([0.1, -0.2], [0.05, 0.08])
    text = plain_language_summary(res, "hands-on myofascial release", "pain", "low")
    assert text.startswith("Compared with hands-on myofascial release")
    assert "little or no difference" in text
    assert "2 small studies" in text
    assert "low" in text


def test_plain_language_summary_names_a_clear_effect() -> None:
    res = meta_analyze([0.9, 1.0, 0.85, 0.95, 1.1], [0.01] * 5)
    text = plain_language_summary(res, "sham", "pain", "moderate")
    assert "a large difference in pain (better with IASTM)" in text


@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_forest_and_funnel_plots_are_written(tmp_path: Path, suffix: str) -> None:
    res = meta_analyze([0.2, 0.5, -0.1, 0.3], [0.04, 0.02, 0.05, 0.03])
    style = ForestStyle(favours_left="control", favours_right="IASTM", title="t")
    out = forest_plot(res, ["A", "B", "C", "D"], tmp_path / f"f{suffix}", style)
    assert out.stat().st_size > 1000
    assert funnel_plot(res, tmp_path / f"u{suffix}").stat().st_size > 1000
    if suffix == ".svg":
        text = out.read_text()
        assert "<svg" in text


def test_forest_plot_accepts_raw_data_and_checks_labels(tmp_path: Path) -> None:
    data = (np.array([0.2, 0.5, 0.1]), np.array([0.04, 0.02, 0.05]))
    assert forest_plot(data, ["a", "b", "c"], tmp_path / "x.svg").exists()
    with pytest.raises(ValueError, match="lengths differ"):
        forest_plot(data, ["a"], tmp_path / "y.svg")
    with pytest.raises(ValueError, match="svg or .png"):
        forest_plot(data, ["a", "b", "c"], tmp_path / "y.pdf")
