"""The forest plot carries what a reviewer reads off it (RevMan / metafor ``forest()`` layout)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from strigil.evidence import effect_size, meta_analyze
from strigil.evidence.meta import MetaResult
from strigil.evidence.plots import ArmData, ArmPair, ForestStyle, forest_plot, funnel_plot

STYLE = ForestStyle(
    xlabel="SMD (positive favours IASTM)", favours_left="Favours massage",
    favours_right="Favours IASTM", title="IASTM vs massage: pain",
    outcome="pain, VAS 0-10 (lower is better)", timepoint="after 4 weeks",
    arm_labels=("IASTM", "Massage"),
)  # fmt: skip


def synthetic(k: int, seed: int = 3) -> tuple[MetaResult, list[ArmPair]]:
    rng = np.random.default_rng(seed)
    n1, n2 = rng.integers(10, 60, k), rng.integers(10, 60, k)
    m1, m2 = rng.normal(3.2, 1.0, k), rng.normal(4.0, 1.0, k)
    sd1, sd2 = rng.uniform(0.8, 2.0, k), rng.uniform(0.8, 2.0, k)
    es = effect_size("SMD", m1i=m1, sd1i=sd1, n1i=n1, m2i=m2, sd2i=sd2, n2i=n2)
    res = meta_analyze(-es.yi, es.vi, method="REML" if k > 1 else "EE")
    arms = [
        (ArmData(float(a), float(b), int(c)), ArmData(float(d), float(e), int(f)))
        for a, b, c, d, e, f in zip(m1, sd1, n1, m2, sd2, n2, strict=True)
    ]
    return res, arms


def texts(svg: Path) -> list[str]:
    """The text runs matplotlib records beside each glyph path (one comment per text)."""
    raw = re.findall(r"<!-- (.*?) -->", svg.read_text(), flags=re.S)
    return [t.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") for t in raw]


def test_svg_has_q_line_overall_test_weights_and_arm_columns(tmp_path: Path) -> None:
    res, arms = synthetic(5)
    labels = [f"Trial {i}" for i in range(5)]
    found = texts(forest_plot(res, labels, tmp_path / "f.svg", STYLE, arms))
    q_line = next(t for t in found if t.startswith("Heterogeneity:"))
    assert f"Q = {res.q:.2f}, df = {res.q_df}" in q_line
    assert f"\u03c4\u00b2 = {res.tau2:.3g}" in q_line and f"I\u00b2 = {res.i2:.0f}%" in q_line
    assert re.search(r"\((p = \d\.\d{3}|p < 0\.001)\)", q_line)
    overall = next(t for t in found if t.startswith("Test for overall effect:"))
    assert f"z = {res.zval:.2f}".replace("-", "\u2212") in overall and "p " in overall
    weights = [float(t[:-1]) for t in found if re.fullmatch(r"\d+\.\d%", t)]
    assert len(weights) == 6 and weights[-1] == 100.0
    assert sum(weights[:-1]) == pytest.approx(100.0, abs=0.3)  # rounded to 0.1 each
    for header in ("IASTM", "Massage", "Mean", "SD", "N", "Weight", "Estimate [95% CI]"):
        assert header in found
    first = arms[0][0]
    assert f"{first.mean:.2f}" in found and f"{first.sd:.2f}" in found and str(first.n) in found
    assert str(sum(p[0].n or 0 for p in arms)) in found  # total N of the IASTM arms
    assert any(t.startswith("Outcome: pain, VAS") and "Time point: after 4 weeks" in t
               for t in found)  # fmt: skip
    assert "Prediction interval" in found
    assert "\u2190 Favours massage" in found and "Favours IASTM \u2192" in found


def test_knapp_hartung_shows_t_with_df(tmp_path: Path) -> None:
    res = meta_analyze([0.2, 0.5, -0.1, 0.3], [0.04, 0.02, 0.05, 0.03], test="knha")
    found = texts(forest_plot(res, list("abcd"), tmp_path / "t.svg"))
    assert any(t.startswith("Test for overall effect: t(3) = ") for t in found)


def test_missing_arm_numbers_show_a_dash_not_a_guess(tmp_path: Path) -> None:
    res = meta_analyze([0.2, 0.5], [0.04, 0.02])
    arms: list[ArmPair | None] = [(ArmData(1.0, None, 20), ArmData(2.0, 1.0, None)), None]
    found = texts(forest_plot(res, ["a", "b"], tmp_path / "d.svg", STYLE, arms))
    assert found.count("\u2014") == 2
    with pytest.raises(ValueError, match="lengths differ: arms=1"):
        forest_plot(res, ["a", "b"], tmp_path / "e.svg", STYLE, arms[:1])


@pytest.mark.parametrize("k", [1, 50])
def test_k1_and_k50_render_and_height_grows(tmp_path: Path, k: int) -> None:
    res, arms = synthetic(k)
    labels = [f"A long study label that goes on and on, number {i}" for i in range(k)]
    png = forest_plot(res, labels, tmp_path / "f.png", STYLE, arms)
    height, width = imread(png).shape[:2]
    assert width > 1500
    assert (height > 2000) if k == 50 else (height < 700)
    found = texts(forest_plot(res, labels, tmp_path / "f.svg", STYLE, arms))
    assert "A long study label that goes on a\u2026" in found  # cut, not overlapping
    if k == 1:
        assert "One study only: nothing pooled; heterogeneity cannot be assessed." in found
        assert not any(t.startswith("Heterogeneity:") for t in found)
        assert "100.0%" in found
    else:
        assert any(t.startswith("Random effects (REML), k = 50") for t in found)


def test_funnel_has_axis_labels_and_contours(tmp_path: Path) -> None:
    res, _ = synthetic(12)
    found = texts(funnel_plot(res, tmp_path / "u.svg", xlabel="SMD", title="Funnel"))
    assert "Standard error (smaller = larger study)" in found and "SMD" in found
    assert {"90% pseudo-CI", "95% pseudo-CI", "99% pseudo-CI"} <= set(found)
