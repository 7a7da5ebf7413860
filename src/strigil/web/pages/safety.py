"""Screening and consent pages: nothing is treated until both are done."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import groupby
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from strigil.core import catalog, i18n
from strigil.core.catalog import ScreeningRule
from strigil.core.screening import Answer, BloodPressure
from strigil.errors import InvalidInput
from strigil.services import consents, drafts, episodes, screenings
from strigil.services.actors import Permission
from strigil.services.episodes import Episode
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession
from strigil.web.pages.common import Form, go, text
from strigil.web.pages.render import page

router = handler_thread.router()


def grouped(rules: Sequence[ScreeningRule]) -> list[tuple[str, list[ScreeningRule]]]:
    """Rules by category, absolute rules first within each."""
    ordered = sorted(rules, key=lambda r: (r.category, r.severity.value, int(r.id[1:])))
    return [(cat, list(items)) for cat, items in groupby(ordered, key=lambda r: r.category)]


def parse_answers(form: FormData, rules: Sequence[ScreeningRule]) -> dict[str, Answer]:
    """Answers for the rules the clinician answered (unanswered ones are left out)."""
    answers = {}
    for rule in rules:
        value = text(form, f"ans_{rule.id}")
        if rule.reading is not None and value in _MEASURED:
            answers[rule.id] = _measured(form, rule.id, value)
        elif value in ("yes", "no"):
            regions = tuple(r for r in form.getlist(f"reg_{rule.id}") if isinstance(r, str))
            side = text(form, f"side_{rule.id}")
            if side:  # one side for every region ticked; a bad side is named by the service
                regions = tuple(f"{r}:{side}" for r in regions)
            answers[rule.id] = Answer(present=value == "yes", regions=regions)
    return answers


_MEASURED = ("reading", "unmeasured_no", "unmeasured_yes")


def _measured(form: FormData, rule_id: str, value: str) -> Answer:
    """Today's reading, or an explicit "not measured" with the clinician's yes/no. Numbers
    that are blank or not whole are left out, so the service names the missing reading."""
    if value != "reading":
        return Answer(value == "unmeasured_yes", measured=False)
    systolic, diastolic = (text(form, f"bp_{rule_id}_{n}") for n in ("systolic", "diastolic"))
    if not (systolic.isdigit() and diastolic.isdigit()):
        return Answer(False, measured=True)
    return Answer(False, reading=BloodPressure(int(systolic), int(diastolic)), measured=True)


def parse_lifts(form: FormData, answers: dict[str, Answer]) -> tuple[str, ...]:
    """Lifts the therapist ticked beside a No (a tick left under a Yes is not a lift)."""
    return tuple(
        rule_id
        for rule_id, answer in answers.items()
        if not answer.present and text(form, f"lift_{rule_id}") == "yes"
    )


def answer_errors(error: InvalidInput, rules: Sequence[ScreeningRule]) -> dict[str, str]:
    """Field errors keyed by rule id (or by ``reasoning``/``dose_modification``)."""
    field = error.field or "_form"
    if field == "answers" and error.extra.get("missing"):
        missing = error.extra["missing"]
        out = dict.fromkeys(missing, "answer yes or no")
        return out | {"_form": f"{len(missing)} question(s) are not answered yet (marked below)"}
    if error.extra.get("unconfirmed"):
        out = dict.fromkeys(error.extra["unconfirmed"], _UNCONFIRMED)
        return out | {"_form": error.detail}
    for rule in rules:
        if field.startswith(f"answers.{rule.id}"):
            return {rule.id: error.detail, "_form": error.detail}
    return {field: error.detail, "_form": error.detail}


_UNCONFIRMED = (
    "Today's No contradicts the screening in force: tick the lift to confirm, or answer Yes."
)


def questionnaire(
    rules: Sequence[ScreeningRule],
    answers: dict[str, Answer],
    errors: dict[str, str],
    in_force: Mapping[str, screenings.InForce] | None = None,
    lifts: Sequence[str] = (),
) -> dict[str, Any]:
    """The questions, today's answers and errors; for a re-check, the answers in force."""
    return {
        "groups": grouped(rules),
        "answers": answers,
        "errors": errors,
        "regions": catalog.body_regions(),
        "in_force": in_force or {},
        "lifts": tuple(lifts),
        "limits": catalog.thresholds(),
        "sides": {k: _side(a.regions) for k, a in answers.items()},
    }


def _side(regions: tuple[str, ...]) -> str:
    """The one side every region shares, so the form can pre-select it."""
    sides = {r.partition(":")[2] for r in regions}
    return sides.pop() if len(sides) == 1 else ""


def _screen_page(
    request: Request, episode: Episode, ctx: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    base = {"episode": episode, "patient": episode.patient, "reasoning": "", "dose": ""}
    return page(request, "episodes/screening.html", base | ctx, status_code)


@router.get("/episodes/{episode_id}/screening", response_class=HTMLResponse)
def screening_page(
    request: Request, episode_id: str, db: DbSession, actor: CurrentActor
) -> HTMLResponse:
    episode = episodes.get(session=db, actor=actor, episode_id=episode_id)
    latest = screenings.latest(db, episode, "intake")
    ctx = {"latest": latest, **questionnaire(catalog.screening_rules(), {}, {})}
    if actor.can(Permission.SCREEN):
        ctx |= _from_draft(db, episode)
    return _screen_page(request, episode, ctx)


def _from_draft(db: Session, episode: Episode) -> dict[str, Any]:
    """An assistant's waiting draft, filled into the form for the therapist to check."""
    draft = drafts.open_draft(db, episode, "screening")
    if draft is None:
        return {}
    form = FormData([(k, v) for k, values in drafts.fields(draft).items() for v in values])
    rules = catalog.screening_rules()
    return {
        **questionnaire(rules, parse_answers(form, rules), {}),
        "draft": draft,
        "draft_author": drafts.author_name(db, draft),
        "reasoning": text(form, "reasoning"),
        "dose": text(form, "dose_modification"),
    }


@router.post("/episodes/{episode_id}/screening", response_model=None)
def submit_screening(
    request: Request, episode_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    episode = episodes.get(session=db, actor=actor, episode_id=episode_id)
    if not actor.can(Permission.SCREEN):
        fields = {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}
        drafts.save(session=db, actor=actor, kind="screening", episode_id=episode_id, fields=fields)
        return go(request, f"/episodes/{episode_id}?draft=kept")
    rules = catalog.screening_rules()
    answers = parse_answers(form, rules)
    reasoning, dose = text(form, "reasoning"), text(form, "dose_modification")
    try:
        with db.begin_nested():
            screenings.screen(
                session=db,
                actor=actor,
                episode_id=episode_id,
                answers=answers,
                kind="intake",
                reasoning=reasoning,
                dose_modification=dose,
            )
            if text(form, "draft_id"):
                drafts.close(
                    session=db, actor=actor, draft_id=text(form, "draft_id"), outcome="saved"
                )
    except InvalidInput as error:
        ctx = questionnaire(rules, answers, answer_errors(error, rules))
        ctx |= {"latest": None, "reasoning": reasoning, "dose": dose}
        if text(form, "draft_id"):
            kept = _from_draft(db, episode)
            ctx |= {k: v for k, v in kept.items() if k in ("draft", "draft_author")}
        return _screen_page(request, episode, ctx, 422)
    return go(request, f"/episodes/{episode_id}/screening#result")


@router.post("/screening-drafts/{draft_id}/set-aside", response_model=None)
def set_aside_draft(
    request: Request, draft_id: str, db: DbSession, actor: CurrentActor
) -> Response:
    draft = drafts.close(session=db, actor=actor, draft_id=draft_id, outcome="set_aside")
    return go(request, f"/episodes/{drafts.episode_id_of(db, draft)}/screening")


@router.get("/episodes/{episode_id}/consent", response_class=HTMLResponse)
def consent_page(
    request: Request,
    episode_id: str,
    db: DbSession,
    actor: CurrentActor,
    lang: str | None = None,
) -> HTMLResponse:
    """The consent text to read with the patient, in their language (``?lang=``)."""
    episode = episodes.get(session=db, actor=actor, episode_id=episode_id)
    language = i18n.supported(lang) or i18n.DEFAULT
    ctx = {
        "episode": episode,
        "patient": episode.patient,
        "consent_lang": language,
        "consent_languages": i18n.LANGUAGES,
        "preview": consents.preview(session=db, episode=episode, language=language),
        "current": consents.current(db, episode),
        "minor": consents.guardian_required(episode),
    }
    return page(request, "episodes/consent.html", ctx)


@router.post("/episodes/{episode_id}/consent", response_model=None)
def record_consent(
    request: Request, episode_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    consents.record(
        session=db,
        actor=actor,
        episode_id=episode_id,
        decision=text(form, "decision"),
        shown_sha256=text(form, "shown_sha256") or None,
        guardian_name=text(form, "guardian_name") or None,
        guardian_relationship=text(form, "guardian_relationship") or None,
        language=i18n.supported(text(form, "language")),
    )
    return go(request, f"/episodes/{episode_id}/consent")


@router.post("/episodes/{episode_id}/consent/withdraw", response_model=None)
def withdraw_consent(
    request: Request, episode_id: str, db: DbSession, actor: CurrentActor
) -> Response:
    consents.withdraw(session=db, actor=actor, episode_id=episode_id)
    return go(request, f"/episodes/{episode_id}/consent")
