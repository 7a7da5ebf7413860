"""Evidence in the JSON API: studies, pooled comparisons, the clinic's own comparison and the
reliability of restriction findings. Clinic data leave only as de-identified aggregates."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from fastapi.responses import JSONResponse

from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.lazy import lazy

if TYPE_CHECKING:
    from strigil.services import comparisons, evidence, reliability
else:  # the statistics stack loads when an evidence page is first opened
    comparisons = lazy("strigil.services.comparisons")
    evidence = lazy("strigil.services.evidence")
    reliability = lazy("strigil.services.reliability")

router = handler_thread.router(prefix="/evidence", tags=["evidence"])


@router.get("/studies")
def list_studies(actor: CurrentActor) -> dict[str, Any]:  # noqa: ARG001 - signed-in only
    """Every bundled study with its numbers exactly as stored (unsourced numbers are null)."""
    base = evidence.bundled()
    return {"version": base.version, "studies": [evidence.study_json(s) for s in base.studies]}


@router.get("/pool")
def pool(
    actor: CurrentActor,  # noqa: ARG001 - signed-in only
    outcome: str,
    comparison: str,
    method: str = "REML",
    test: str = "z",
) -> dict[str, Any]:
    """Random-effects meta-analysis of one comparison and outcome (422 when k < 2)."""
    return evidence.pool_json(outcome, comparison, method, test)


@router.get("/clinic-comparison", responses={202: {"description": "the model is being fitted"}})
def clinic_comparison(
    db: DbSession, actor: CurrentActor, condition_group: str, measure: str
) -> JSONResponse:
    """The clinic's adjusted IASTM-vs-other difference in change (positive favours IASTM).

    A model not fitted yet for the current data answers 202 with ``pending`` true and
    Retry-After; ask again then.
    """
    result = comparisons.compare(
        session=db, actor=actor, condition_group=condition_group, measure=measure
    )
    body = asdict(result)
    body["fitted"] = result.fitted
    body["arms"] = [asdict(a) | {"approaches": dict(a.approaches)} for a in result.arms]
    if result.pending:
        return JSONResponse(body, status_code=202, headers={"Retry-After": "2"})
    return JSONResponse(body)


@router.get("/reliability")
def finding_reliability(db: DbSession, actor: CurrentActor) -> dict[str, Any]:
    """Kappa per reliability-check visit and pooled, with Landis & Koch labels."""
    r = reliability.clinic_reliability(session=db, actor=actor)
    visits = [
        {k: v for k, v in asdict(row).items() if k not in ("ratings", "severities")}
        for row in r.visits
    ]
    body = {k: v for k, v in asdict(r).items() if k != "visits"}
    return body | {"visits": visits}
