"""Outcome measure forms: generated from the registry, scored live as items are answered."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from strigil.core import measures, scoring
from strigil.errors import InvalidInput
from strigil.services import episodes, outcomes, visits
from strigil.services.actors import Actor
from strigil.services.episodes import Episode
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.pages.common import Form, errors_of, go, text, view
from strigil.web.pages.render import page

router = handler_thread.router()

_ITEM = re.compile(r"answers\[(\d+)\]")
OPTION_FIELDS = ("unit", "joint", "motion", "side", "item8_branch")


def _answers(m: measures.Measure, form: FormData) -> tuple[list[float | None], dict[str, str]]:
    """Item answers (None when blank) and per-item errors for text that is not a number."""
    answers: list[float | None] = []
    errors: dict[str, str] = {}
    for item in m.items:
        raw = text(form, f"item_{item.number}")
        try:
            answers.append(float(raw) if raw else None)
        except ValueError:
            answers.append(None)
            errors[f"item_{item.number}"] = f"{raw!r} is not a number"
    while len(answers) > m.min_items and answers[-1] is None:
        answers.pop()
    return answers, errors


def _options(m: measures.Measure, form: FormData) -> dict[str, str]:
    allowed = {"unit"} if len(m.units) > 1 else set()
    allowed |= {"joint", "motion", "side"} if m.norms else set()
    allowed |= {"item8_branch"} if any(i.branches for i in m.items) else set()
    return {k: text(form, k) for k in OPTION_FIELDS if k in allowed and text(form, k)}


def score_all(
    m: measures.Measure, answers: list[float | None], options: dict[str, str]
) -> tuple[scoring.Score | None, dict[str, str]]:
    """Score, collecting an error for every bad item (each is set aside and scoring retried)."""
    errors: dict[str, str] = {}
    values = list(answers)
    for _ in range(len(values) + 1):
        try:
            return scoring.score(m.code, values, **options), errors
        except InvalidInput as error:
            match = _ITEM.fullmatch(error.field or "")
            if match is None:
                errors[error.field or "_form"] = error.detail
                return None, errors
            index = int(match.group(1))
            errors[f"item_{m.items[index].number}"] = error.detail
            values[index] = None
    return None, errors


def _ctx(episode_id: str, m: measures.Measure, **extra: Any) -> dict[str, Any]:
    base = {"episode_id": episode_id, "m": m, "values": {}, "errors": {}, "result": None}
    return base | extra


def _when_ctx(db: Session, actor: Actor, episode: Episode) -> dict[str, Any]:
    """The date picker's bounds and the visits a measurement can be tied to."""
    recent = visits.list_for_episode(session=db, actor=actor, episode=episode, limit=50)
    return {"today": datetime.now(UTC).date(), "episode": episode, "visits": recent}


def _measured_on(form: FormData) -> date | None:
    """The day the measurement was taken; a value that is not a date is refused by name."""
    raw = text(form, "measured_on")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            f"{raw!r} is not a date (YYYY-MM-DD)", field="measured_on", code="invalid_date"
        ) from None


@router.get("/episodes/{episode_id}/measure-form", response_class=HTMLResponse)
def measure_form(
    request: Request, episode_id: str, db: DbSession, actor: CurrentActor, measure: str = ""
) -> HTMLResponse:
    """The form for one measure: a fragment for HTMX, a page of its own otherwise."""
    episode = episodes.get(session=db, actor=actor, episode_id=episode_id)
    m = measures.get_measure(measure or episode.primary_measure)
    ctx = _ctx(episode_id, m, patient=episode.patient) | _when_ctx(db, actor, episode)
    return view(request, "outcomes/measure.html", "outcomes/_measure_form.html", ctx)


@router.post("/episodes/{episode_id}/measure-score", response_class=HTMLResponse)
def measure_score(
    request: Request,
    episode_id: str,
    db: DbSession,
    actor: CurrentActor,
    form: Form,
) -> HTMLResponse:
    """The live score of the answers so far, or what is wrong with each item."""
    episodes.get(session=db, actor=actor, episode_id=episode_id)
    m = measures.get_measure(text(form, "measure"))
    answers, errors = _answers(m, form)
    result, more = score_all(m, answers, _options(m, form))
    return page(
        request, "outcomes/_score.html", {"m": m, "result": result, "errors": errors | more}
    )


@router.post("/episodes/{episode_id}/measurements", response_model=None)
def record_measurement(
    request: Request, episode_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    episode = episodes.get(session=db, actor=actor, episode_id=episode_id)
    m = measures.get_measure(text(form, "measure"))
    answers, errors = _answers(m, form)
    options = _options(m, form)
    result, more = score_all(m, answers, options)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if errors or more or result is None:
        return _refused(request, db, actor, episode, m, values, errors | more)
    try:
        data = outcomes.MeasurementInput(
            measure=m.code,
            answers=answers,
            options=options,
            visit_id=text(form, "visit_id") or None,
            measured_on=_measured_on(form),
        )
        outcomes.record(session=db, actor=actor, episode_id=episode_id, data=data)
    except InvalidInput as error:
        return _refused(request, db, actor, episode, m, values, errors_of(error))
    return go(request, f"/episodes/{episode_id}#outcomes")


def _refused(
    request: Request,
    db: Session,
    actor: Actor,
    episode: Episode,
    m: measures.Measure,
    values: dict[str, str],
    errors: dict[str, str],
) -> HTMLResponse:
    """The form again with what was typed and each error beside its field (422)."""
    ctx = _ctx(str(episode.external_id), m, patient=episode.patient, values=values, errors=errors)
    ctx |= _when_ctx(db, actor, episode)
    return view(request, "outcomes/measure.html", "outcomes/_measure_form.html", ctx, 422)
