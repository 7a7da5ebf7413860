"""The running dose of an instrumented tool on the visit page (HTMX polling, ADR 0016).

The treated area's card loads this fragment once; while a stream has samples it polls every
second, while the area is active without a stream every five, and once the area has ended it
stops polling.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from strigil.services import sensors
from strigil.web.deps import CurrentActor, DbSession, SettingsDep
from strigil.web.pages.render import page

router = APIRouter()

WIDTH, HEIGHT = 240, 40


def sparkline(trace: list[float | None], top: float) -> str:
    """SVG polyline points of the recent force trace (gaps skipped), 0 N at the bottom."""
    if len(trace) < 2 or top <= 0:
        return ""
    step = WIDTH / (len(trace) - 1)
    return " ".join(
        f"{i * step:.1f},{HEIGHT - max(0.0, min(v, top)) / top * HEIGHT:.1f}"
        for i, v in enumerate(trace)
        if v is not None
    )


@router.get("/areas/{area_id}/sensor-live", response_class=HTMLResponse)
def sensor_live(
    request: Request, area_id: str, db: DbSession, actor: CurrentActor, settings: SettingsDep
) -> HTMLResponse:
    live = sensors.live_dose(
        session=db,
        actor=actor,
        treated_area_id=area_id,
        data_dir=settings.data_dir,
        cap_overrides=settings.sensors_force_caps,
    )
    forces = [v for v in live["trace"] if v is not None]
    top = max([live["force_cap_n"] or 0.0, *forces, 1.0]) * 1.1
    cap_y = HEIGHT - live["force_cap_n"] / top * HEIGHT if live["force_cap_n"] else None
    context: dict[str, Any] = {
        "area_id": area_id,
        "live": live,
        "points": sparkline(live["trace"], top),
        "top": top,
        "cap_y": cap_y,
        "width": WIDTH,
        "height": HEIGHT,
    }
    return page(request, "visits/_sensor_live.html", context)
