"""Evidence pages: what the trials say, what this clinic's own data say, and whether
therapists agree on where the tight tissue is."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from strigil.core import catalog, measures
from strigil.errors import InvalidInput
from strigil.services.actors import Permission, require
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.lazy import lazy
from strigil.web.pages.render import page

if TYPE_CHECKING:
    from strigil.services import comparisons, evidence, reliability
else:  # the statistics stack loads when an evidence page is first opened
    comparisons = lazy("strigil.services.comparisons")
    evidence = lazy("strigil.services.evidence")
    reliability = lazy("strigil.services.reliability")

router = handler_thread.router()


@router.get("/evidence", response_class=HTMLResponse)
def evidence_home(
    request: Request,
    actor: CurrentActor,  # noqa: ARG001 - signed-in users only
    method: str = "REML",
    test: str = "z",
) -> HTMLResponse:
    """Every comparison × outcome in the bundled evidence: pooled, or honestly too few."""
    panels = evidence.panels(method, test)
    return page(
        request,
        "evidence/index.html",
        {
            "panels": panels,
            "method": method,
            "test": test,
            "ref": evidence.short_ref,
            "reported": evidence.reported,
            "designs": evidence.DESIGN_LABELS,
            "outcome": evidence.outcome_label,
            "rob_names": evidence.ROB2_NAMES,
            "tf_words": evidence.trimfill_words,
        },
    )


@router.get("/evidence/forest/{comparison}/{outcome}.svg")
def forest(
    comparison: str,
    outcome: str,
    actor: CurrentActor,  # noqa: ARG001 - signed-in users only
    method: str = "REML",
    test: str = "z",
) -> Response:
    """The forest plot as an image (same origin, so the CSP's ``img-src 'self'`` allows it)."""
    svg = evidence.forest_svg(comparison, outcome, method, test)
    headers = {"Cache-Control": "private, max-age=3600"}
    return Response(svg, media_type="image/svg+xml", headers=headers)


@router.get("/evidence/studies", response_class=HTMLResponse)
def study_list(request: Request, actor: CurrentActor) -> HTMLResponse:  # noqa: ARG001
    rows = sorted(evidence.bundled().studies, key=lambda s: (-(s.year or 0), s.id))
    return page(
        request,
        "evidence/studies.html",
        {
            "studies": rows,
            "designs": evidence.DESIGN_LABELS,
            "label": evidence.comparison_label,
            "ref": evidence.short_ref,
            "reported": evidence.reported,
            "outcome": evidence.outcome_label,
            "rob_names": evidence.ROB2_NAMES,
        },
    )


@router.get("/evidence/clinic", response_class=HTMLResponse)
def clinic(
    request: Request,
    db: DbSession,
    actor: CurrentActor,
    condition_group: str = "",
    measure: str = "",
    pick: str = "",
) -> HTMLResponse:
    """The clinic's own IASTM-vs-other comparison for one condition group and measure."""
    require(actor, Permission.ANALYTICS)
    choices = comparisons.options(session=db, actor=actor)
    if pick:
        condition_group, _, measure = pick.partition("|")
    if not condition_group and choices:
        condition_group, measure = choices[0].condition_group, choices[0].measure
    result, error = None, None
    if condition_group and measure:
        try:
            result = comparisons.compare(
                session=db, actor=actor, condition_group=condition_group, measure=measure
            )
        except InvalidInput as exc:
            error = exc.detail
    ctx = {
        "choices": choices, "condition_group": condition_group, "measure": measure,
        "result": result, "error": error, "groups": _group_names(),
        "measure_names": {m.code: m.name for m in measures.measures()},
    }  # fmt: skip
    return page(request, "evidence/clinic.html", ctx)


def _group_names() -> dict[str, str]:
    """A readable name per condition group: the first indication's condition text."""
    names: dict[str, str] = {}
    for ind in catalog.indications():
        names.setdefault(ind.condition_group, ind.condition.split(" / ")[0])
    return names


@router.get("/evidence/reliability", response_class=HTMLResponse)
def finding_reliability(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    result = reliability.clinic_reliability(session=db, actor=actor)
    return page(request, "evidence/reliability.html", {"r": result})
