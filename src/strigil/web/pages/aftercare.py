"""After-care: exercises from the library with their dose, and the printable patient sheet."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from strigil.core import catalog, i18n
from strigil.services import documents, treatment, visits
from strigil.services.records import Visit
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.pages.common import Form, go, optional_int, required_int, text, view
from strigil.web.pages.render import page

router = handler_thread.router()


def _library(region: str) -> list[catalog.Exercise]:
    return [e for e in catalog.exercises() if not region or region in e.regions]


def _ctx(db: Session, visit: Visit, region: str) -> dict[str, Any]:
    return {
        "visit": visit,
        "episode": visit.episode,
        "patient": visit.episode.patient,
        "region": region,
        "regions": catalog.body_regions(),
        "library": _library(region),
        "prescriptions": treatment.prescriptions(db, visit),
        "exercises": {e.code: e for e in catalog.exercises()},
        "clinic": visits.clinic_of(db, visit),
        "condition": documents.condition_for_patient(visit),
    }


@router.get("/visits/{visit_id}/aftercare", response_class=HTMLResponse)
def aftercare_page(
    request: Request, visit_id: str, db: DbSession, actor: CurrentActor, region: str | None = None
) -> HTMLResponse:
    """The library filtered by region: the exercise list for HTMX, the whole page otherwise."""
    visit = visits.get(session=db, actor=actor, visit_id=visit_id)
    chosen = visit.episode.body_region if region is None else region
    ctx = _ctx(db, visit, chosen)
    return view(request, "visits/aftercare.html", "visits/_library.html", ctx)


@router.post("/visits/{visit_id}/prescriptions", response_model=None)
def prescribe(
    request: Request, visit_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    data = treatment.Prescription(
        exercise_code=text(form, "exercise_code"),
        sets=required_int(form, "sets"),
        repetitions=optional_int(form, "repetitions"),
        hold_seconds=optional_int(form, "hold_seconds", "hold"),
        frequency=text(form, "frequency") or "daily",
    )
    treatment.prescribe(session=db, actor=actor, visit_id=visit_id, data=data)
    region = text(form, "region")
    return go(request, f"/visits/{visit_id}/aftercare?region={region}#prescribed")


@router.get("/visits/{visit_id}/sheet", response_class=HTMLResponse)
def patient_sheet(
    request: Request, visit_id: str, db: DbSession, actor: CurrentActor, lang: str | None = None
) -> HTMLResponse:
    """The printable sheet in the patient's language (``lang``; English by default)."""
    visit = visits.get(session=db, actor=actor, visit_id=visit_id)
    ctx = {**_ctx(db, visit, ""), "sheet_languages": i18n.LANGUAGES}
    with i18n.using(lang) as chosen:
        ctx["sheet_lang"] = chosen
        ctx["items"] = documents.patient_exercises(ctx["prescriptions"])
        ctx["condition"] = documents.condition_for_patient(visit, chosen)
        return page(request, "visits/sheet.html", ctx)
