"""Instrumented IASTM on the visit page (ADR 0016): the running dose of a streaming tool
(HTMX polling) and the form that sets an area's intended dose.

The treated area's card loads the running-dose fragment once; while a stream has samples it
polls every second, while the area is active without a stream every five, and once the area
has ended it stops polling.
"""

from __future__ import annotations

import base64
import math
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from strigil.errors import InvalidInput
from strigil.services import dose_insight, sensors
from strigil.services.actors import Role
from strigil.services.records import TreatedArea
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession, SettingsDep
from strigil.web.pages.common import Form, optional_int, text
from strigil.web.pages.render import page
from strigil.web.pages.visits import area_card

router = handler_thread.router()

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


def _number(form: FormData, name: str, label: str) -> float | None:
    """A decimal number from the form, None when blank, else a 422 naming the field."""
    raw = text(form, name).replace(",", ".")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidInput(f"{label} must be a number", field=name, code="not_a_number")
    return value


@router.post("/areas/{area_id}/intended", response_model=None)
def set_intended(
    request: Request, area_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    """Set the dose the therapist intends for the area (force range, strokes, time)."""
    data = sensors.IntendedInput(
        force_min_n=_number(form, "force_min_n", "the lowest intended force"),
        force_max_n=_number(form, "force_max_n", "the highest intended force"),
        strokes=optional_int(form, "strokes", "the intended stroke count"),
        time_under_load_s=_number(form, "time_under_load_s", "the intended time under load"),
    )
    row = sensors.set_intended(session=db, actor=actor, treated_area_id=area_id, data=data)
    return area_card(request, db, db.get_one(TreatedArea, row.treated_area_id))


def _data_uri(svg: str) -> str:
    """The plot as an image: an inline SVG's style attributes would fall foul of the CSP
    (``style-src 'self'``), an image's own styles do not (``img-src 'self' data:``)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode() if svg else ""


@router.get("/doses", response_class=HTMLResponse)
def doses(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    """Each therapist's measured force per body region (a therapist sees their own)."""
    therapists = dose_insight.force_by_region(session=db, actor=actor)
    context: dict[str, Any] = {
        "therapists": therapists,
        "plot": _data_uri(dose_insight.plot_svg(therapists)),
        "own": actor.role is Role.THERAPIST,
    }
    return page(request, "sensors/doses.html", context)
