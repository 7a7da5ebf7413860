"""Force per therapist and body region: how hard each clinician actually works the tool.

Issue 15, item 4. Trained clinicians differ widely (individual mean forces 1.9–8.1 N, within-
clinician CV 14–35 %, J Sport Rehabil 2024), so a clinic lead wants each therapist's spread by
region, and a therapist their own. Each recording counts once, by its time-weighted mean force
(docs/sensors.md); the summary is the median and interquartile range, which a few unusual
recordings do not move, with the median and largest peak beside it. Only figures and staff
names leave this module: no patient, so the page is not patient data (ADR 0016).
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from sqlalchemy.orm import Session

from strigil.core import catalog
from strigil.services.actors import Actor, Permission, Role, require
from strigil.store import clinics as clinic_store
from strigil.store import sensors as store

_INK, _BOX, _DOT = "#1f2933", "#0b5c7a", "#b45309"


@dataclass(frozen=True, slots=True)
class RegionForce:
    """One therapist's recordings on one body region."""

    region: str
    label: str
    recordings: int
    mean_median_n: float
    mean_q1_n: float
    mean_q3_n: float
    peak_median_n: float
    peak_max_n: float
    means_n: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class TherapistForce:
    user_id: int
    name: str
    regions: tuple[RegionForce, ...]

    @property
    def recordings(self) -> int:
        return sum(r.recordings for r in self.regions)


def force_by_region(*, session: Session, actor: Actor) -> list[TherapistForce]:
    """Each therapist's force per body region; a therapist sees only their own."""
    require(actor, Permission.ANALYTICS)
    own = actor.user_id if actor.role is Role.THERAPIST else None
    grouped: dict[int, dict[str, list[tuple[float, float]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for user_id, region, mean, peak in store.force_rows(session, actor.clinic_id, own):
        grouped[user_id][region].append((mean, peak))
    users = clinic_store.users_by_id(session, actor.clinic_id)
    labels = {r.code: r.label for r in catalog.body_regions()}
    out = [
        TherapistForce(
            user_id=user_id,
            name=users[user_id].display_name if user_id in users else "unknown user",
            regions=tuple(
                _region(code, labels.get(code, code), rows) for code, rows in regions.items()
            ),
        )
        for user_id, regions in grouped.items()
    ]
    return sorted(out, key=lambda t: t.name)


def _region(code: str, label: str, rows: list[tuple[float, float]]) -> RegionForce:
    means = np.array([m for m, _ in rows])
    peaks = np.array([p for _, p in rows])
    q1, median, q3 = np.percentile(means, [25, 50, 75])
    return RegionForce(
        region=code,
        label=label,
        recordings=len(rows),
        mean_median_n=float(median),
        mean_q1_n=float(q1),
        mean_q3_n=float(q3),
        peak_median_n=float(np.median(peaks)),
        peak_max_n=float(peaks.max()),
        means_n=tuple(float(m) for m in means),
    )


def plot_svg(therapists: list[TherapistForce]) -> str:
    """Box-and-strip plot of the recordings' mean force, one row per therapist and region."""
    rows = [(t.name, r) for t in therapists for r in t.regions]
    if not rows:
        return ""
    fig = Figure(figsize=(7.0, 0.9 + 0.45 * len(rows)))
    ax = fig.add_subplot()
    positions = np.arange(len(rows))[::-1]
    ax.boxplot(
        [r.means_n for _, r in rows],
        positions=positions,
        orientation="horizontal",
        widths=0.55,
        showfliers=False,
        medianprops={"color": _BOX, "linewidth": 2},
        boxprops={"color": _INK},
        whiskerprops={"color": _INK},
        capprops={"color": _INK},
    )
    jitter = np.random.default_rng(0)  # fixed: the same data draws the same picture
    for y, (_, r) in zip(positions, rows, strict=True):
        spread = jitter.uniform(-0.15, 0.15, len(r.means_n))
        ax.scatter(r.means_n, y + spread, s=14, color=_DOT, alpha=0.75, zorder=3, linewidths=0)
    ax.set_yticks(positions, [f"{name} · {r.label} (n={r.recordings})" for name, r in rows])
    ax.set_xlabel("Mean force per recording (N)")
    top = max(m for _, r in rows for m in r.means_n)
    ax.set_xlim(0, max(1.0, top * 1.15))  # room to the right of the strongest recording
    ax.grid(axis="x", color="#e4e7eb")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None})
    svg = out.getvalue()
    return svg[svg.index("<svg") :]
