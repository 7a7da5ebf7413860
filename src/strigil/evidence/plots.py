"""Forest and funnel plots (matplotlib, Agg; written to SVG or PNG by the file suffix).

The forest plot follows the layout clinicians know from Cochrane reviews (Lewis & Clarke 2001):
one row per study with its estimate and confidence interval, squares sized by weight, the pooled
estimate as a diamond whose width is its CI, and the prediction interval as a line through it so
the spread of true effects is as visible as the average (IntHout et al. 2016). The funnel plot
shows each estimate against its standard error with pseudo-confidence limits around the pooled
estimate (Sterne et al. 2011).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from scipy import stats

from strigil.evidence.effect_sizes import EffectSizes
from strigil.evidence.inputs import EvidenceInputError, FloatArray
from strigil.evidence.meta import MetaResult, meta_analyze

FormatSpec = tuple[FloatArray, FloatArray]
_INK, _ACCENT, _MUTED = "#1f2933", "#1d4e89", "#7b8794"


@dataclass(frozen=True)
class ForestStyle:
    """Labels of a forest plot. ``exp=True`` back-transforms log ratios (RR, OR) for display."""

    xlabel: str = "Effect size (95% CI)"
    favours_left: str | None = None
    favours_right: str | None = None
    exp: bool = False
    title: str | None = None


def _as_result(data: MetaResult | EffectSizes | FormatSpec) -> MetaResult:
    if isinstance(data, MetaResult):
        return data
    if isinstance(data, EffectSizes):
        return meta_analyze(data.yi, data.vi)
    yi, vi = data
    return meta_analyze(yi, vi)


def _fmt(value: float, exp: bool) -> str:
    return f"{np.exp(value):.2f}" if exp else f"{value:.2f}"


def _check_path(path: str | Path) -> Path:
    out = Path(path)
    if out.suffix.lower() not in (".svg", ".png"):
        raise EvidenceInputError(f"plot path must end in .svg or .png, got {out.name!r}")
    return out


def forest_plot(
    result_or_data: MetaResult | EffectSizes | FormatSpec,
    labels: list[str],
    path: str | Path,
    style: ForestStyle | None = None,
) -> Path:
    """Draw a forest plot of a meta-analysis and save it to ``path`` (.svg or .png).

    ``result_or_data`` is a :class:`MetaResult`, an :class:`EffectSizes` or a ``(yi, vi)`` pair
    (the latter two are pooled with the default REML model first).
    """
    res, style, out = _as_result(result_or_data), style or ForestStyle(), _check_path(path)
    if len(labels) != res.k:
        raise EvidenceInputError(f"lengths differ: labels={len(labels)}, studies={res.k}")
    fig = Figure(figsize=(10, 1.9 + 0.42 * res.k), dpi=150)
    ax = fig.add_axes((0.30, 0.20, 0.42, 0.68))
    rows = np.arange(res.k, dtype=np.float64)[::-1] + 2.0
    _draw_studies(ax, res, rows)
    if res.k > 1:  # one study is shown on its own: no diamond, nothing was pooled
        _draw_pooled(ax, res)
    _decorate(ax, res, style)
    _draw_table(fig, ax, res, labels, rows, style)
    fig.savefig(out, bbox_inches="tight")
    return out


def _draw_studies(ax: Axes, res: MetaResult, rows: FloatArray) -> None:
    crit = stats.norm.isf((1 - res.level) / 2)
    se = np.sqrt(res.vi)
    sizes = 30 + 270 * res.weights / res.weights.max()
    ax.hlines(rows, res.yi - crit * se, res.yi + crit * se, color=_INK, linewidth=1.1)
    ax.scatter(res.yi, rows, s=sizes, marker="s", color=_ACCENT, zorder=3)


def _draw_pooled(ax: Axes, res: MetaResult) -> None:
    if res.method != "EE":
        ax.hlines(0.6, res.pi_low, res.pi_high, color=_MUTED, linewidth=2.0, linestyle=(0, (4, 2)))
    diamond = [(res.ci_low, 0.6), (res.estimate, 0.95), (res.ci_high, 0.6), (res.estimate, 0.25)]
    ax.add_patch(Polygon(diamond, closed=True, color=_INK, zorder=4))
    ax.axvline(res.estimate, color=_INK, linewidth=0.6, linestyle=":", zorder=1)


def _decorate(ax: Axes, res: MetaResult, style: ForestStyle) -> None:
    crit = stats.norm.isf((1 - res.level) / 2)
    se = np.sqrt(res.vi)
    lo = min(float(np.min(res.yi - crit * se)), res.pi_low, 0.0)
    hi = max(float(np.max(res.yi + crit * se)), res.pi_high, 0.0)
    pad = 0.06 * (hi - lo)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(_bottom(res), res.k + 2.6)
    ax.axvline(0.0, color=_INK, linewidth=1.0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_yticks([])
    ax.set_xlabel(style.xlabel, fontsize=10)
    ax.tick_params(axis="x", labelsize=9)
    if style.exp:
        ticks = _ratio_ticks(lo - pad, hi + pad)
        ax.set_xticks(np.log(ticks), [f"{t:g}" for t in ticks])
        ax.set_xlim(lo - pad, hi + pad)
    ax.xaxis.labelpad = 20 if (style.favours_left or style.favours_right) else 4
    for text, ha, dx in ((style.favours_left, "right", -6), (style.favours_right, "left", 6)):
        if text:
            arrow = f"← {text}" if ha == "right" else f"{text} →"
            ax.annotate(arrow, xy=(0.0, 0.0), xycoords=ax.get_xaxis_transform(),
                        xytext=(dx, -22), textcoords="offset points", ha=ha, va="top",
                        fontsize=9, color=_MUTED)  # fmt: skip
    if style.title:
        ax.set_title(style.title, fontsize=12, loc="left", pad=14, x=-0.7)


def _bottom(res: MetaResult) -> float:
    """Room for the pooled row below the studies; none when a single study is shown."""
    return -0.2 if res.k > 1 else 1.2


def _ratio_ticks(lo: float, hi: float) -> list[float]:
    """Readable ratio ticks (0.1, 0.2, 0.5, 1, 2, 5, ...) inside a log-scale range."""
    nice = [m * 10.0**e for e in range(-3, 4) for m in (1.0, 2.0, 5.0)]
    inside = [t for t in nice if lo <= np.log(t) <= hi]
    return inside if len(inside) >= 2 else [float(np.exp(lo)), 1.0, float(np.exp(hi))]


def _pooled_label(res: MetaResult) -> str:
    model = "Common effect" if res.method == "EE" else f"Random effects ({res.method})"
    return f"{model}, k = {res.k}"


def _draw_table(
    fig: Figure, ax: Axes, res: MetaResult, labels: list[str], rows: FloatArray, s: ForestStyle
) -> None:
    """Study labels on the left; weight and estimate [CI] on the right, aligned with the rows."""
    crit = stats.norm.isf((1 - res.level) / 2)
    se = np.sqrt(res.vi)
    tr = ax.get_yaxis_transform()
    head = res.k + 2.2
    pct = int(round(100 * res.level))
    left, right1, right2 = -0.72, 1.04, 1.24
    for x, text, ha in ((left, "Study", "left"), (right1, "Weight", "left"),
                        (right2, f"Estimate [{pct}% CI]", "left")):  # fmt: skip
        ax.text(x, head, text, transform=tr, fontsize=9.5, fontweight="bold", ha=ha)
    for row, lab, y, e, w in zip(rows, labels, res.yi, se, res.weights, strict=True):
        ax.text(left, row, lab, transform=tr, va="center", fontsize=9.5)
        ax.text(right1, row, f"{w:.1f}%", transform=tr, va="center", fontsize=9.5)
        ci = f"{_fmt(y, s.exp)} [{_fmt(y - crit * e, s.exp)}, {_fmt(y + crit * e, s.exp)}]"
        ax.text(right2, row, ci, transform=tr, va="center", fontsize=9.5, family="monospace")
    if res.k > 1:
        _draw_pooled_row(ax, res, s, (left, right1, right2))
    # Below the axis label, whatever the row height: points, not data units.
    ax.annotate(_footnote(res, s), xy=(left, 0.0), xycoords="axes fraction", xytext=(0, -62),
                textcoords="offset points", va="top", fontsize=8.5, color=_MUTED)  # fmt: skip
    del fig


def _draw_pooled_row(
    ax: Axes, res: MetaResult, s: ForestStyle, columns: tuple[float, float, float]
) -> None:
    left, right1, right2 = columns
    tr = ax.get_yaxis_transform()
    pooled = (f"{_fmt(res.estimate, s.exp)} [{_fmt(res.ci_low, s.exp)}, "
              f"{_fmt(res.ci_high, s.exp)}]")  # fmt: skip
    ax.text(left, 0.6, _pooled_label(res), transform=tr, va="center", fontsize=9.5,
            fontweight="bold")  # fmt: skip
    ax.text(right1, 0.6, "100%", transform=tr, va="center", fontsize=9.5, fontweight="bold")
    ax.text(right2, 0.6, pooled, transform=tr, va="center", fontsize=9.5, family="monospace",
            fontweight="bold")  # fmt: skip


def _footnote(res: MetaResult, s: ForestStyle) -> str:
    if res.k == 1:
        return "One study only: nothing pooled; heterogeneity cannot be assessed."
    note = f"I² = {res.i2:.0f}%, τ² = {res.tau2:.3g}"
    if res.method != "EE":
        note += f"; prediction interval {_fmt(res.pi_low, s.exp)} to {_fmt(res.pi_high, s.exp)}"
    return note


def funnel_plot(
    result_or_data: MetaResult | EffectSizes | FormatSpec,
    path: str | Path,
    xlabel: str = "Effect size",
) -> Path:
    """Funnel plot: estimates against standard error (inverted axis) with 95% pseudo-CI limits."""
    res, out = _as_result(result_or_data), _check_path(path)
    se = np.sqrt(res.vi)
    fig = Figure(figsize=(6, 5), dpi=150)
    ax = fig.add_subplot()
    top = float(se.max()) * 1.08
    grid = np.linspace(0, top, 50)
    z = stats.norm.isf(0.025)
    ax.fill_betweenx(grid, res.estimate - z * grid, res.estimate + z * grid, color="#e4e7eb")
    ax.plot(res.estimate - z * grid, grid, color=_MUTED, linewidth=0.8, linestyle="--")
    ax.plot(res.estimate + z * grid, grid, color=_MUTED, linewidth=0.8, linestyle="--")
    ax.axvline(res.estimate, color=_INK, linewidth=1.0)
    ax.scatter(res.yi, se, color=_ACCENT, zorder=3, s=28)
    ax.set_ylim(top, 0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Standard error")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.savefig(out, bbox_inches="tight")
    return out
