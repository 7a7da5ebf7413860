"""Clinic insight in the JSON API: risk-adjusted outcomes and safety rates, cut to the role
(a therapist's own figures, an admin's clinic, a researcher's pseudonymised figures)."""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Query
from fastapi.responses import JSONResponse

from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.lazy import lazy

if TYPE_CHECKING:
    from strigil.services import insight
else:  # the statistics stack loads when insight is first asked for
    insight = lazy("strigil.services.insight")

router = handler_thread.router(prefix="/insight", tags=["insight"])


def _plain(value: Any) -> Any:
    """JSON-safe: an unbounded interval end (one patient) becomes null, dates ISO text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


@router.get("/measures")
def measures(db: DbSession, actor: CurrentActor) -> list[dict[str, Any]]:
    """The primary measures the clinic uses that have an intake score, with episode counts."""
    return [
        {"measure": code, "name": name, "episodes": n}
        for code, name, n in insight.measure_options(session=db, actor=actor)
    ]


@router.get("/outcomes", responses={202: {"description": "the model is being fitted"}})
def outcomes(
    db: DbSession,
    actor: CurrentActor,
    measure: str,
    min_episodes: Annotated[int, Query(ge=5, le=100_000)] = 20,
) -> JSONResponse:
    """Risk-adjusted outcomes on one measure over the last 12 months: the model
    (coefficients, fit statistics, n), the therapists the role may see with n and intervals,
    and (for a therapist) their own patients' actual and predicted change.

    Too little data gives ``fit`` null and a ``message`` such as "not enough data: n = 4, at
    least 20 needed". A model not fitted yet answers 202 with Retry-After.
    """
    result = insight.outcomes(
        session=db, actor=actor, measure=measure, today=datetime.now(UTC).date(),
        min_episodes=min_episodes,
    )  # fmt: skip
    body = _plain(asdict(result))
    if result.pending:
        return JSONResponse(body, status_code=202, headers={"Retry-After": "2"})
    return JSONResponse(body)


@router.get("/safety")
def safety(db: DbSession, actor: CurrentActor) -> JSONResponse:
    """Adverse events, bruising and stop-rule events per 100 visits, precaution use and
    treatment time per region, per therapist and for the clinic, each with n and interval."""
    result = insight.safety(session=db, actor=actor, today=datetime.now(UTC).date())
    return JSONResponse(_plain(asdict(result)))
