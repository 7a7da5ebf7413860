"""Forest and funnel plots (matplotlib, Agg; written to SVG or PNG by the file suffix).

The forest plot follows the layout clinicians know from Cochrane reviews (Lewis & Clarke 2001):
one row per study with its estimate and confidence interval, squares sized by weight, the pooled
estimate as a diamond whose width is its CI, and the prediction interval as a line through it so
the spread of true effects is as visible as the average (IntHout et al. 2016). The funnel plot
shows each estimate against its standard error with pseudo-confidence limits around the pooled
estimate (Sterne et al. 2011).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory
from scipy import special

from strigil.evidence.effect_sizes import EffectSizes
from strigil.evidence.inputs import EvidenceInputError, FloatArray
from strigil.evidence.meta import MetaResult, meta_analyze

FormatSpec = tuple[FloatArray, FloatArray]
_INK, _ACCENT, _MUTED = "#1f2933", "#1d4e89", "#52606d"


@dataclass(frozen=True)
class ForestStyle:
    """Labels of a forest plot. ``exp=True`` back-transforms log ratios (RR, OR) for display.

    ``outcome`` (with its scale) and ``timepoint`` appear under the title, since an effect is
    uninterpretable without them; ``arm_labels`` head the per-arm columns.
    """

    xlabel: str = "Effect size (95% CI)"
    favours_left: str | None = None
    favours_right: str | None = None
    exp: bool = False
    title: str | None = None
    outcome: str | None = None
    timepoint: str | None = None
    arm_labels: tuple[str, str] = ("Intervention", "Comparator")


@dataclass(frozen=True)
class ArmData:
    """One arm's mean, SD and n as reported (``None`` where the source gave none)."""

    mean: float | None = None
    sd: float | None = None
    n: int | None = None


ArmPair = tuple[ArmData, ArmData]

# Layout in inches: the figure is a table whose rows share the y axis of the plot panel.
_ROW_IN = 0.27
_WIDTH_IN = 11.0
_LABEL_CHARS = 34
_FONT = 8.5
# Column anchors as fractions of the figure width (right-aligned numbers, left-aligned text).
_COL = {"label": 0.012, "m1": 0.300, "sd1": 0.345, "n1": 0.383, "m2": 0.447, "sd2": 0.492,
        "n2": 0.530, "w": 0.590, "plot0": 0.615, "plot1": 0.815, "ci": 0.828}  # fmt: skip


def _as_result(data: MetaResult | EffectSizes | FormatSpec) -> MetaResult:
    if isinstance(data, MetaResult):
        return data
    if isinstance(data, EffectSizes):
        return meta_analyze(data.yi, data.vi)
    yi, vi = data
    return meta_analyze(yi, vi)


def _fmt(value: float, exp: bool) -> str:
    text = f"{np.exp(value):.2f}" if exp else f"{value:.2f}"
    return text.replace("-", "\u2212")  # a true minus sign lines up with digits


def _decimals(pair: ArmPair) -> int:
    """One precision per study row, set by its largest number, so a row reads consistently."""
    values = [abs(v) for arm in pair for v in (arm.mean, arm.sd) if v is not None]
    top = max(values, default=0.0)
    return 2 if top < 10 else 1 if top < 100 else 0


def _num(value: float | None, decimals: int) -> str:
    if value is None:
        return "\u2014"
    return f"{value:.{decimals}f}".replace("-", "\u2212")


def _pval(p: float) -> str:
    """p as reviewers write it: three decimals, or "< 0.001"."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _short(label: str) -> str:
    """Long labels are cut with an ellipsis so columns never collide (full text: alt/caption)."""
    return label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1].rstrip() + "\u2026"


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
    arms: Sequence[ArmPair | None] | None = None,
) -> Path:
    """Draw a forest plot of a meta-analysis and save it to ``path`` (.svg or .png).

    ``result_or_data`` is a :class:`MetaResult`, an :class:`EffectSizes` or a ``(yi, vi)`` pair
    (the latter two are pooled with the default REML model first). ``arms`` gives each study's
    per-arm mean, SD and n for the data columns (RevMan's layout); without it they are omitted.
    The figure grows with k, so 1 to 50 studies stay readable.
    """
    res, style, out = _as_result(result_or_data), style or ForestStyle(), _check_path(path)
    if len(labels) != res.k:
        raise EvidenceInputError(f"lengths differ: labels={len(labels)}, studies={res.k}")
    if arms is not None and len(arms) != res.k:
        raise EvidenceInputError(f"lengths differ: arms={len(arms)}, studies={res.k}")
    layout = _Layout(res.k)
    fig = Figure(figsize=(_WIDTH_IN, layout.height), dpi=150)
    ax = fig.add_axes(layout.plot_box())
    rows = np.arange(res.k, 0, -1, dtype=np.float64)  # first study at the top
    _draw_studies(ax, res, rows)
    if res.k > 1:  # one study is shown on its own: no diamond, nothing was pooled
        _draw_pooled(ax, res)
    _decorate(ax, res, style, layout)
    table = _Table(fig, ax)
    table.header(res, style, arms is not None)
    table.studies(res, labels, rows, style, arms)
    table.summary(res, style, arms)
    _titles(fig, style, layout)
    fig.savefig(out, bbox_inches="tight", pad_inches=0.12)  # never clip a long CI text
    return out


@dataclass(frozen=True)
class _Layout:
    """Vertical budget in inches: title block, header, rows, summary block, axis block."""

    k: int

    @property
    def top_in(self) -> float:
        return 0.95

    @property
    def bottom_in(self) -> float:
        return 0.85

    @property
    def ylim(self) -> tuple[float, float]:
        # rows 1..k; header at k + 1.0 and k + 1.9; summary rows at 0 and below.
        return (-3.6 if self.k > 1 else -2.2, self.k + 2.5)

    @property
    def height(self) -> float:
        lo, hi = self.ylim
        return self.top_in + self.bottom_in + (hi - lo) * _ROW_IN

    def plot_box(self) -> tuple[float, float, float, float]:
        h = self.height
        return (_COL["plot0"], self.bottom_in / h, _COL["plot1"] - _COL["plot0"],
                (h - self.top_in - self.bottom_in) / h)  # fmt: skip


def _ci_bounds(res: MetaResult) -> tuple[FloatArray, FloatArray]:
    crit = float(special.ndtri(1 - (1 - res.level) / 2))
    se = np.sqrt(res.vi)
    return res.yi - crit * se, res.yi + crit * se


def _draw_studies(ax: Axes, res: MetaResult, rows: FloatArray) -> None:
    lo, hi = _ci_bounds(res)
    # Square area proportional to weight (Lewis & Clarke 2001), bounded so k = 50 rows do not touch.
    sizes = 12 + 110 * res.weights / res.weights.max()
    ax.hlines(rows, lo, hi, color=_INK, linewidth=1.0)
    ax.scatter(res.yi, rows, s=sizes, marker="s", color=_ACCENT, zorder=3, linewidths=0)


def _has_pi(res: MetaResult) -> bool:
    return res.k > 1 and res.method not in ("EE", "FE")


def _draw_pooled(ax: Axes, res: MetaResult) -> None:
    y = 0.0
    diamond = [
        (res.ci_low, y),
        (res.estimate, y + 0.38),
        (res.ci_high, y),
        (res.estimate, y - 0.38),
    ]
    ax.add_patch(Polygon(diamond, closed=True, color=_INK, zorder=4))
    ax.vlines(res.estimate, y, res.k + 0.5, color=_INK, linewidth=0.6, linestyle=":", zorder=1)
    if _has_pi(res):
        ax.hlines(-1.0, res.pi_low, res.pi_high, color=_MUTED, linewidth=2.0)
        ax.vlines([res.pi_low, res.pi_high], -1.2, -0.8, color=_MUTED, linewidth=1.4)


def _decorate(ax: Axes, res: MetaResult, style: ForestStyle, layout: _Layout) -> None:
    lo_ci, hi_ci = _ci_bounds(res)
    extra = [res.pi_low, res.pi_high] if _has_pi(res) else [res.ci_low, res.ci_high]
    lo = min(float(np.min(lo_ci)), *extra, 0.0)
    hi = max(float(np.max(hi_ci)), *extra, 0.0)
    pad = 0.06 * (hi - lo) or 0.5
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(*layout.ylim)
    ax.vlines(0.0, layout.ylim[0], res.k + 0.5, color=_INK, linewidth=0.9)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_yticks([])
    ax.tick_params(axis="x", labelsize=_FONT)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    if style.exp:
        ticks = _ratio_ticks(lo - pad, hi + pad)
        ax.set_xticks(np.log(ticks), [f"{t:g}" for t in ticks])
        ax.set_xlim(lo - pad, hi + pad)
    for text, ha, dx in ((style.favours_left, "right", -4), (style.favours_right, "left", 4)):
        if text:
            arrow = f"\u2190 {text}" if ha == "right" else f"{text} \u2192"
            ax.annotate(arrow, xy=(0.0, 0.0), xycoords=ax.get_xaxis_transform(),
                        xytext=(dx, -20), textcoords="offset points", ha=ha, va="top",
                        fontsize=_FONT, color=_INK)  # fmt: skip
    ax.annotate(style.xlabel, xy=(0.5, 0.0), xycoords="axes fraction", xytext=(0, -36),
                textcoords="offset points", ha="center", va="top", fontsize=_FONT,
                color=_MUTED)  # fmt: skip


def _ratio_ticks(lo: float, hi: float) -> list[float]:
    """Readable ratio ticks (0.1, 0.2, 0.5, 1, 2, 5, ...) inside a log-scale range."""
    nice = [m * 10.0**e for e in range(-3, 4) for m in (1.0, 2.0, 5.0)]
    inside = [t for t in nice if lo <= np.log(t) <= hi]
    return inside if len(inside) >= 2 else [float(np.exp(lo)), 1.0, float(np.exp(hi))]


def _pooled_label(res: MetaResult) -> str:
    model = "Common effect" if res.method in ("EE", "FE") else f"Random effects ({res.method})"
    return f"{model}, k = {res.k}"


def _titles(fig: Figure, style: ForestStyle, layout: _Layout) -> None:
    h = layout.height
    if style.title:
        fig.text(_COL["label"], 1 - 0.22 / h, style.title, fontsize=11, fontweight="bold",
                 va="top", color=_INK)  # fmt: skip
    parts = [f"Outcome: {style.outcome}" if style.outcome else None,
             f"Time point: {style.timepoint}" if style.timepoint else None]  # fmt: skip
    line = "   \u00b7   ".join(p for p in parts if p)
    if line:
        fig.text(_COL["label"], 1 - 0.50 / h, line, fontsize=_FONT + 0.5, va="top", color=_INK)


class _Table:
    """The text columns, drawn in figure-x / data-y coordinates so they align with the rows."""

    def __init__(self, fig: Figure, ax: Axes) -> None:
        self.ax = ax
        self.tr = blended_transform_factory(fig.transFigure, ax.transData)

    def put(self, col: str, y: float, text: str, ha: str = "right", **kw: object) -> None:
        opts: dict[str, object] = {"fontsize": _FONT, "color": _INK, "va": "center"}
        opts.update(kw)
        self.ax.text(_COL[col], y, text, transform=self.tr, ha=ha, clip_on=False, **opts)  # type: ignore[arg-type]

    def header(self, res: MetaResult, s: ForestStyle, with_arms: bool) -> None:
        k, bold = res.k, {"fontweight": "bold"}
        self.put("label", k + 1.0, "Study", ha="left", **bold)
        if with_arms:
            for side, (m, sd, n) in zip(s.arm_labels, (("m1", "sd1", "n1"), ("m2", "sd2", "n2")),
                                        strict=True):  # fmt: skip
                centre = (_COL[m] + _COL[n]) / 2 - 0.012
                self.ax.text(centre, k + 1.9, side, transform=self.tr, ha="center",
                             va="center", fontsize=_FONT, fontweight="bold")  # fmt: skip
                for col, name in ((m, "Mean"), (sd, "SD"), (n, "N")):
                    self.put(col, k + 1.0, name, **bold)
        self.put("w", k + 1.0, "Weight", **bold)
        pct = int(round(100 * res.level))
        self.put("ci", k + 1.0, f"Estimate [{pct}% CI]", ha="left", **bold)
        model = (
            "common effect" if res.method in ("EE", "FE") or k == 1 else f"random ({res.method})"
        )
        self.ax.text((_COL["plot0"] + _COL["plot1"]) / 2, k + 1.0, f"IV, {model}, {pct}% CI",
                     transform=self.tr, ha="center", va="center", fontsize=_FONT,
                     fontweight="bold", color=_INK)  # fmt: skip
        self.ax.plot([0, 1], [k + 0.55] * 2, transform=self.tr, color=_MUTED, linewidth=0.6,
                     clip_on=False)  # fmt: skip

    def studies(
        self,
        res: MetaResult,
        labels: list[str],
        rows: FloatArray,
        s: ForestStyle,
        arms: Sequence[ArmPair | None] | None,
    ) -> None:
        lo, hi = _ci_bounds(res)
        for i, (row, lab) in enumerate(zip(rows, labels, strict=True)):
            self.put("label", row, _short(lab), ha="left")
            pair = arms[i] if arms is not None else None
            if pair is not None:
                for arm, cols in zip(pair, (("m1", "sd1", "n1"), ("m2", "sd2", "n2")),
                                     strict=True):  # fmt: skip
                    for col, value in zip(cols, (arm.mean, arm.sd), strict=False):
                        self.put(col, row, _num(value, _decimals(pair)))
                    self.put(cols[2], row, "\u2014" if arm.n is None else str(arm.n))
            self.put("w", row, f"{res.weights[i]:.1f}%")
            ci = f"{_fmt(res.yi[i], s.exp):>6} [{_fmt(lo[i], s.exp)}, {_fmt(hi[i], s.exp)}]"
            self.put("ci", row, ci, ha="left", family="monospace")

    def summary(
        self, res: MetaResult, s: ForestStyle, arms: Sequence[ArmPair | None] | None
    ) -> None:
        muted = {"color": _MUTED}
        if res.k == 1:
            self.put("label", -0.4, "One study only: nothing pooled; heterogeneity cannot be "
                     "assessed.", ha="left", **muted)  # fmt: skip
            self.put("label", -1.2, f"Test for the effect of this study: {_test(res)}",
                     ha="left", **muted)  # fmt: skip
            return
        bold = {"fontweight": "bold"}
        self.put("label", 0.0, _pooled_label(res), ha="left", **bold)
        if arms is not None:
            for col, side in (("n1", 0), ("n2", 1)):
                ns = [p[side].n for p in arms if p is not None]
                if ns and None not in ns and len(ns) == res.k:
                    self.put(col, 0.0, str(sum(int(n or 0) for n in ns)), **bold)
        self.put("w", 0.0, "100.0%", **bold)
        pooled = (f"{_fmt(res.estimate, s.exp):>6} [{_fmt(res.ci_low, s.exp)}, "
                  f"{_fmt(res.ci_high, s.exp)}]")  # fmt: skip
        self.put("ci", 0.0, pooled, ha="left", family="monospace", **bold)
        if _has_pi(res):
            self.put("label", -1.0, "Prediction interval", ha="left", **muted)
            self.put("ci", -1.0, f"{'':>6} [{_fmt(res.pi_low, s.exp)}, {_fmt(res.pi_high, s.exp)}]",
                     ha="left", family="monospace", **muted)  # fmt: skip
        self.put("label", -2.0, _heterogeneity(res), ha="left", **muted)
        self.put("label", -2.8, f"Test for overall effect: {_test(res)}", ha="left", **muted)


def _heterogeneity(res: MetaResult) -> str:
    """RevMan's heterogeneity line: τ², Q with its df and p, and I²."""
    return (f"Heterogeneity: \u03c4\u00b2 = {res.tau2:.3g}; Q = {res.q:.2f}, df = {res.q_df} "
            f"({_pval(res.q_pvalue)}); I\u00b2 = {res.i2:.0f}%")  # fmt: skip


def _test(res: MetaResult) -> str:
    """z, or t with its df (Knapp-Hartung), and the two-sided p of the estimate."""
    stat = f"t({res.df})" if res.df is not None else "z"
    return f"{stat} = {res.zval:.2f} ({_pval(res.pvalue)})".replace("-", "\u2212")


def funnel_plot(
    result_or_data: MetaResult | EffectSizes | FormatSpec,
    path: str | Path,
    xlabel: str = "Effect size",
    title: str | None = None,
) -> Path:
    """Funnel plot: estimates against standard error (inverted axis) with pseudo-confidence
    regions (90 %, 95 %, 99 %) around the pooled estimate, as metafor's ``funnel()`` draws them.
    """
    res, out = _as_result(result_or_data), _check_path(path)
    se = np.sqrt(res.vi)
    fig = Figure(figsize=(6.4, 5.2), dpi=150)
    ax = fig.add_subplot()
    top = float(se.max()) * 1.1 or 1.0
    grid = np.linspace(0, top, 60)
    shades = ((0.99, "#eef0f3"), (0.95, "#dde2e8"), (0.90, "#cbd2d9"))
    for level, colour in shades:
        z = float(special.ndtri(1 - (1 - level) / 2))
        ax.fill_betweenx(grid, res.estimate - z * grid, res.estimate + z * grid, color=colour,
                         label=f"{level:.0%} pseudo-CI", linewidth=0)  # fmt: skip
        ax.plot(res.estimate - z * grid, grid, color=_MUTED, linewidth=0.6)
        ax.plot(res.estimate + z * grid, grid, color=_MUTED, linewidth=0.6)
    ax.axvline(
        res.estimate,
        color=_INK,
        linewidth=1.0,
        label=f"Pooled estimate {_fmt(res.estimate, False)}",
    )
    ax.axvline(0.0, color=_INK, linewidth=0.6, linestyle=":")
    ax.scatter(res.yi, se, color=_ACCENT, zorder=3, s=26, edgecolors="white", linewidths=0.5,
               label=f"Studies (k = {res.k})")  # fmt: skip
    ax.set_ylim(top, 0)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel("Standard error (smaller = larger study)", fontsize=9)
    ax.tick_params(labelsize=8.5)
    if title:
        ax.set_title(title, fontsize=10.5, loc="left")
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.savefig(out, bbox_inches="tight")
    return out
