"""Charts of clinic insight (matplotlib, Agg, written to SVG text).

The funnel plot (Spiegelhalter 2005, Stat Med 24:1185-1202) shows each therapist's mean
residual against their caseload with the limits within which a therapist with no true effect
would fall 95 % and 99.8 % of the time: a small caseload sits in the wide mouth of the funnel,
so a large residual from a few patients is not over-read. The interval chart shows each figure
as a dot with its interval line, labelled with its n, sorted so the eye reads a ranking and its
uncertainty together.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

_INK, _ACCENT, _MUTED, _MINE = "#1f2933", "#1d4e89", "#9aa5b1", "#c05621"


@dataclass(frozen=True, slots=True)
class Point:
    """One labelled figure with its interval and n; ``highlight`` draws it in the accent."""

    label: str
    value: float
    low: float
    high: float
    n: int
    highlight: bool = False


def _svg(fig: Figure) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight")
    return out.getvalue()


def funnel_svg(
    points: Sequence[Point], residual_sd: float, *, unit: str, max_n: int | None = None
) -> str:
    """Mean residual against caseload with 95 % and 99.8 % limits around zero."""
    fig = Figure(figsize=(7.5, 4.2), dpi=100)
    ax = fig.add_subplot()
    top = max([p.n for p in points] + [max_n or 0, 10])
    n = np.linspace(1, top * 1.08, 200)
    for z, style, name in ((1.96, "--", "95 % limits"), (3.09, ":", "99.8 % limits")):
        half = z * residual_sd / np.sqrt(n)
        ax.plot(n, half, style, color=_MUTED, lw=1.2, label=name)
        ax.plot(n, -half, style, color=_MUTED, lw=1.2)
    ax.axhline(0, color=_INK, lw=0.8)
    for p in points:
        colour = _MINE if p.highlight else _ACCENT
        ax.plot([p.n], [p.value], "o", color=colour, ms=7 if p.highlight else 5.5)
        if len(points) <= 25 or p.highlight:
            ax.annotate(p.label, (p.n, p.value), xytext=(5, 4), textcoords="offset points",
                        fontsize=8, color=colour)  # fmt: skip
    limit = 3.4 * residual_sd / np.sqrt(max(2.0, min(p.n for p in points) if points else 2.0))
    spread = max([abs(p.value) for p in points] + [limit * 0.5])
    ax.set_ylim(-1.15 * max(spread, 1e-9), 1.15 * max(spread, 1e-9))
    ax.set_xlim(0, top * 1.1)
    ax.set_xlabel("Patients in the last 12 months (caseload)")
    ax.set_ylabel(f"Mean residual ({unit}): better than predicted ↑")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    _tidy(ax)
    return _svg(fig)


def intervals_svg(points: Sequence[Point], *, xlabel: str, reference: float | None = None) -> str:
    """A dot and its interval per row, best at the top, each labelled with its n."""
    rows = sorted(points, key=lambda p: p.value)
    fig = Figure(figsize=(7.5, 0.9 + 0.36 * max(len(rows), 1)), dpi=100)
    ax = fig.add_subplot()
    for i, p in enumerate(rows):
        colour = _MINE if p.highlight else _ACCENT
        low = p.low if np.isfinite(p.low) else p.value
        high = p.high if np.isfinite(p.high) else p.value
        ax.plot([low, high], [i, i], color=colour, lw=2.2, solid_capstyle="butt")
        ax.plot([p.value], [i], "o", color=colour, ms=6)
    if reference is not None:
        ax.axvline(reference, color=_MUTED, lw=1, ls="--")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{p.label}  (n = {p.n})" for p in rows], fontsize=9)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(xlabel)
    _tidy(ax)
    return _svg(fig)


def _tidy(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(colors=_INK, labelsize=9)
    ax.grid(axis="x", color="#e4e7eb", lw=0.6)
    ax.set_axisbelow(True)
