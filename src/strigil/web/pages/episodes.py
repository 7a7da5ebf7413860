"""Episode pages: open and edit an episode, find the condition, the episode page."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from strigil.core import catalog, diagnoses, icd10, measures
from strigil.errors import Conflict, InvalidInput
from strigil.services import (
    consents,
    drafts,
    episodes,
    patient_forms,
    patients,
    reports,
    screenings,
    visits,
)
from strigil.services.actors import Actor
from strigil.services.episodes import (
    APPROACHES,
    CHRONICITY,
    PAYERS,
    POST_SURGICAL_TYPES,
    SIDES,
    Episode,
)
from strigil.services.instrument_translations import Translations
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.pages import charts
from strigil.web.pages.common import (
    Form,
    PageNo,
    errors_of,
    go,
    is_hx,
    paged,
    required_int,
    text,
    view,
)
from strigil.web.pages.render import page

router = handler_thread.router()

FIELDS = (
    "condition_code",
    "body_region",
    "side",
    "chronicity",
    "onset_on",
    "goals",
    "primary_measure",
    "approach",
    "status",
    "payer",
    "surgery",
    "post_surgical_type",
    "comorbidity_count",
)


def _choices() -> dict[str, Any]:
    return {
        "regions": [(r.code, r.label) for r in catalog.body_regions()],
        "sides": [(s, s.title() if s != "na" else "Not applicable") for s in SIDES],
        "chronicities": [(c, c.title()) for c in CHRONICITY],
        "measures": [(m.code, f"{m.code} · {m.name}") for m in measures.measures()],
        "approaches": [(a, a.replace("_", " ").capitalize()) for a in APPROACHES],
        "payers": [(p, _PAYER_LABELS.get(p, p.replace("_", " ").capitalize())) for p in PAYERS],
        "surgeries": [("yes", "Yes"), ("no", "No")],
        "surgical_types": [(t, t.replace("_", " ").capitalize()) for t in POST_SURGICAL_TYPES],
    }


_PAYER_LABELS = {"workers_comp": "Workers' compensation", "self_pay": "Self-pay"}


def _values(form: FormData) -> dict[str, str]:
    return {name: text(form, name) for name in FIELDS}


def _input(values: dict[str, str]) -> episodes.EpisodeInput:
    onset = None
    if values["onset_on"]:
        try:
            onset = date.fromisoformat(values["onset_on"])
        except ValueError:
            raise InvalidInput(
                "onset must be a date like 2026-01-31", field="onset_on", code="invalid_date"
            ) from None
    if not values["condition_code"]:
        raise InvalidInput(
            "find the condition by ICD-10-CM code or words",
            field="condition_code",
            code="required",
        )
    return episodes.EpisodeInput(
        condition_code=values["condition_code"].split(" ")[0],
        body_region=values["body_region"],
        side=values["side"],
        chronicity=values["chronicity"],
        primary_measure=values["primary_measure"],
        goals=values["goals"],
        onset_on=onset,
        approach=values["approach"] or "iastm",
        status=values["status"] or "active",
        **_risk_factors(values),
    )


def _risk_factors(values: dict[str, str]) -> dict[str, Any]:
    """The optional intake factors; an empty choice means "not recorded"."""
    count = values["comorbidity_count"].strip()
    if count and not count.isdigit():
        raise InvalidInput(
            "comorbidity count must be a whole number from 0 to 30",
            field="comorbidity_count",
            code="invalid_integer",
        )
    surgery = {"yes": True, "no": False}.get(values["surgery"])
    return {
        "payer": values["payer"] or None,
        "surgery": surgery,
        "post_surgical_type": values["post_surgical_type"] or None,
        "comorbidity_count": int(count) if count else None,
    }


def _form_page(request: Request, ctx: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return page(request, "episodes/form.html", _choices() | ctx, status_code)


@router.get("/patients/{patient_id}/episodes/new", response_class=HTMLResponse)
def new_episode(
    request: Request, patient_id: str, db: DbSession, actor: CurrentActor
) -> HTMLResponse:
    patient = patients.get(session=db, actor=actor, patient_id=patient_id)
    values = {"side": "right", "chronicity": "chronic", "primary_measure": "NPRS"}
    return _form_page(
        request, {"patient": patient, "episode": None, "values": values, "errors": {}}
    )


@router.post("/patients/{patient_id}/episodes", response_model=None)
def create_episode(
    request: Request, patient_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    patient = patients.get(session=db, actor=actor, patient_id=patient_id)
    values = _values(form)
    try:
        episode = episodes.open_episode(
            session=db, actor=actor, patient_id=patient_id, data=_input(values)
        )
    except InvalidInput as error:
        ctx = {"patient": patient, "episode": None, "values": values, "errors": errors_of(error)}
        return _form_page(request, ctx, 422)
    return go(request, f"/episodes/{episode.external_id}/screening")


@router.get("/episodes/{episode_id}/edit", response_class=HTMLResponse)
def edit_episode(
    request: Request, episode_id: str, db: DbSession, actor: CurrentActor
) -> HTMLResponse:
    episode = episodes.get(session=db, actor=actor, episode_id=episode_id)
    values = {n: "" if getattr(episode, n) is None else str(getattr(episode, n)) for n in FIELDS}
    values["surgery"] = "" if episode.surgery is None else ("yes" if episode.surgery else "no")
    values["condition_code"] = f"{episode.condition_code} {episode.condition_title}"
    ctx = {"patient": episode.patient, "episode": episode, "values": values, "errors": {}}
    return _form_page(request, ctx | {"version": episode.version})


@router.post("/episodes/{episode_id}/edit", response_model=None)
def update_episode(
    request: Request, episode_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    episode = episodes.get(session=db, actor=actor, episode_id=episode_id)
    values = _values(form)
    version = required_int(form, "version")
    ctx: dict[str, Any] = {"patient": episode.patient, "episode": episode, "values": values}
    try:
        episodes.update(
            session=db, actor=actor, episode_id=episode_id, data=_input(values), version=version
        )
    except Conflict as error:
        ctx |= {"errors": {}, "conflict": error, "version": error.extra.get("current_version")}
        return _form_page(request, ctx, 409)
    except InvalidInput as error:
        return _form_page(request, ctx | {"errors": errors_of(error), "version": version}, 422)
    return go(request, f"/episodes/{episode_id}")


@router.get("/icd10", response_class=HTMLResponse)
def icd10_options(request: Request, actor: CurrentActor, condition_code: str = "") -> HTMLResponse:  # noqa: ARG001
    """``<option>`` elements for the condition picker's datalist; a query that is too long
    is refused naming the picker's field."""
    query = condition_code.strip()
    if not icd10.index_ready():  # still building at start-up: never hold the request on it
        return page(request, "episodes/_icd_options.html", {"codes": []})
    try:
        found = diagnoses.search(query, limit=15) if len(query) >= 2 else []
    except InvalidInput as error:
        raise InvalidInput(error.detail, code=error.code, field="condition_code") from error
    return page(request, "episodes/_icd_options.html", {"codes": found})


@router.get("/episodes/{episode_id}", response_class=HTMLResponse)
def episode_page(
    request: Request, episode_id: str, db: DbSession, actor: CurrentActor
) -> HTMLResponse:
    episode = episodes.get(session=db, actor=actor, episode_id=episode_id)
    ctx = _episode_ctx(db, actor, episode, 1, request.app.state.instrument_translations)
    return page(request, "episodes/detail.html", ctx)


def _episode_ctx(
    db: Session, actor: Actor, episode: Episode, page_no: int, installed: Translations
) -> dict[str, Any]:
    return {
        "episode": episode,
        "patient": episode.patient,
        "screening": screenings.latest(db, episode, "intake"),
        **_pending_draft(db, episode),
        "consent": consents.current(db, episode),
        "measures": measures.measures(),
        **charts.progress_context(db, actor, episode),
        **_visit_page(db, actor, episode, page_no),
        **_patient_links(db, actor, episode, installed),
    }


def _patient_links(
    db: Session, actor: Actor, episode: Episode, installed: Translations
) -> dict[str, Any]:
    """The episode's questionnaire and progress links, the measures a patient can answer, and
    the languages each published instrument has a checked translation in."""
    return {
        "patient_links": patient_forms.links_for_episode(session=db, actor=actor, episode=episode),
        "patient_measures": [
            (code, measures.get_measure(code).name) for code in patient_forms.answerable()
        ],
        "now": patient_forms.now(),
        "checked_translations": patient_forms.checked_translations(installed),
    }


def _pending_draft(db: Session, episode: Episode) -> dict[str, Any]:
    draft = drafts.open_draft(db, episode, "screening")
    if draft is None:
        return {"pending_draft": None}
    return {"pending_draft": draft, "pending_draft_author": drafts.author_name(db, draft)}


def _visit_page(db: Session, actor: Actor, episode: Episode, page_no: int) -> dict[str, Any]:
    rows, more = paged(
        lambda limit, offset: visits.list_for_episode(
            session=db, actor=actor, episode=episode, limit=limit, offset=offset
        ),
        page_no,
    )
    return {"visits": rows, "visits_page": page_no, "more": more}


@router.get("/episodes/{episode_id}/visits", response_class=HTMLResponse)
def episode_visits(
    request: Request, episode_id: str, db: DbSession, actor: CurrentActor, page_no: PageNo = 1
) -> HTMLResponse:
    """A page of the episode's visits: a fragment for HTMX, the episode page otherwise."""
    episode = episodes.get(session=db, actor=actor, episode_id=episode_id)
    if is_hx(request):
        ctx = {"episode": episode, **_visit_page(db, actor, episode, page_no)}
    else:
        ctx = _episode_ctx(db, actor, episode, page_no, request.app.state.instrument_translations)
    return view(request, "episodes/detail.html", "episodes/_visits.html", ctx)


def _pdf(data: bytes, name: str) -> Response:
    headers = {"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"}
    return Response(data, media_type="application/pdf", headers=headers)


@router.get("/episodes/{episode_id}/progress-report.pdf", response_model=None)
def progress_report_pdf(episode_id: str, db: DbSession, actor: CurrentActor) -> Response:
    """The episode's progress report as a PDF."""
    data = reports.report_pdf(session=db, actor=actor, episode_id=episode_id, kind="progress")
    return _pdf(data, "progress-report.pdf")


@router.get("/episodes/{episode_id}/discharge-summary.pdf", response_model=None)
def discharge_summary_pdf(episode_id: str, db: DbSession, actor: CurrentActor) -> Response:
    """The discharge summary as a PDF (409 until the episode is discharged)."""
    data = reports.report_pdf(session=db, actor=actor, episode_id=episode_id, kind="discharge")
    return _pdf(data, "discharge-summary.pdf")
