"""Clinic insight pages: risk-adjusted outcomes per therapist, and safety and dose rates."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from strigil.errors import InvalidInput
from strigil.services.actors import Permission, require
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.lazy import lazy
from strigil.web.pages.render import page

if TYPE_CHECKING:
    from strigil.services import insight
else:  # the statistics stack loads when an insight page is first opened
    insight = lazy("strigil.services.insight")

router = handler_thread.router()
MinEpisodes = Annotated[int, Query(ge=5, le=100_000)]


def _images(charts: dict[str, str]) -> dict[str, str]:
    """SVG charts as data URIs for ``<img>`` (the page's style policy allows no inline SVG
    styles; an image is also what a screen reader announces by its alt text)."""
    return {
        name: "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
        for name, svg in charts.items()
    }


def _today() -> Any:
    return datetime.now(UTC).date()


@router.get("/insight/outcomes", response_class=HTMLResponse)
def outcomes_page(
    request: Request,
    db: DbSession,
    actor: CurrentActor,
    measure: str = "",
    min_episodes: MinEpisodes = 20,
) -> HTMLResponse:
    """Risk-adjusted outcomes: the model, the funnel plot, the therapists' table."""
    require(actor, Permission.ANALYTICS)
    options = insight.measure_options(session=db, actor=actor)
    measure = measure or (options[0][0] if options else "")
    if measure and measure not in {code for code, _, _ in options}:
        options = [(measure, "no episodes", 0), *options]  # the picker shows what is shown
    result, error = None, None
    if measure:
        try:
            result = insight.outcomes(
                session=db, actor=actor, measure=measure, today=_today(), min_episodes=min_episodes
            )
        except InvalidInput as exc:
            error = exc.detail
    charts = _images(insight.outcome_charts(result)) if result else {}
    ctx = {
        "options": options, "measure": measure, "result": result, "error": error,
        "charts": charts, "min_episodes": min_episodes, "here": "outcomes",
    }  # fmt: skip
    return page(request, "insight/outcomes.html", ctx)


@router.get("/insight/safety", response_class=HTMLResponse)
def safety_page(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    """Adverse events, bruising, stop-rule events, precautions and treatment time."""
    result = insight.safety(session=db, actor=actor, today=_today())
    charts = _images(insight.safety_charts(result))
    return page(request, "insight/safety.html", {"r": result, "charts": charts, "here": "safety"})
