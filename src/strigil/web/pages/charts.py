"""Server-rendered SVG progress charts: scores by visit, the MCID band, the expected course."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from strigil.services import outcomes
from strigil.services.actors import Actor
from strigil.services.episodes import Episode

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 260, 56, 16, 16, 36


@dataclass(frozen=True, slots=True)
class Scale:
    x_max: int
    y_min: float
    y_max: float

    def x(self, visit: float) -> float:
        return round(LEFT + (WIDTH - LEFT - RIGHT) * visit / max(self.x_max, 1), 1)

    def y(self, value: float) -> float:
        span = (self.y_max - self.y_min) or 1.0
        clamped = min(max(value, self.y_min), self.y_max)
        return round(TOP + (HEIGHT - TOP - BOTTOM) * (self.y_max - clamped) / span, 1)


def progress_context(db: Session, actor: Actor, episode: Episode) -> dict[str, Any]:
    """Progress on every measure of the episode (primary first), each with its chart, ready
    for ``outcomes/_progress.html``."""
    results = outcomes.progress_all(session=db, actor=actor, episode_id=episode.external_id)
    return {"progress_list": [(result, chart(result)) for result in results]}


def _xs(result: outcomes.Progress) -> list[int]:
    return [
        p.visit_number if p.visit_number is not None else i + 1 for i, p in enumerate(result.points)
    ]


def chart(result: outcomes.Progress) -> dict[str, Any] | None:
    """Coordinates for the SVG: points, line, MCID band, expected IQR band, axis ticks."""
    if not result.points:
        return None
    m = result.measure
    xs = _xs(result)
    expected = result.expected.by_visit if result.expected else ()
    scale = Scale(max([*xs, *(v.visit for v in expected), 1]) + 1, float(m.min), float(m.max))
    points = [
        (scale.x(x), scale.y(p.score), p.score) for x, p in zip(xs, result.points, strict=True)
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "points": points,
        "line": " ".join(f"{px},{py}" for px, py, _ in points),
        "mcid": _mcid_band(result, scale),
        "expected": _expected_band(result, scale),
        "y_ticks": [(scale.y(v), _fmt(v)) for v in _ticks(scale.y_min, scale.y_max)],
        "x_ticks": [(scale.x(v), v) for v in range(1, scale.x_max)],
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "bottom": HEIGHT - BOTTOM,
    }


def _sign(result: outcomes.Progress) -> float:
    return 1.0 if result.measure.higher_is_better else -1.0


def _mcid_band(result: outcomes.Progress, scale: Scale) -> dict[str, float] | None:
    mcid = result.measure.default_mcid
    if mcid is None or mcid.value is None or result.measure.change_score:
        return None
    base = result.points[0].score
    target = base + _sign(result) * mcid.value
    top, bottom = scale.y(max(base, target)), scale.y(min(base, target))
    return {"y": top, "h": max(bottom - top, 1.0), "target_y": scale.y(target), "value": mcid.value}


def _expected_band(result: outcomes.Progress, scale: Scale) -> str | None:
    """The IQR of similar episodes' change, drawn around this patient's baseline."""
    if result.expected is None or not result.expected.by_visit:
        return None
    base, sign = result.points[0].score, _sign(result)
    rows = result.expected.by_visit
    upper = [f"{scale.x(v.visit)},{scale.y(base + sign * v.q3)}" for v in rows]
    lower = [f"{scale.x(v.visit)},{scale.y(base + sign * v.q1)}" for v in reversed(rows)]
    return " ".join(upper + lower)


def _ticks(low: float, high: float) -> list[float]:
    step = (high - low) / 4
    return [low + step * i for i in range(5)]


def _fmt(value: float) -> str:
    return f"{value:g}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"
