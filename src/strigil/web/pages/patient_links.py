"""Pages a patient opens from a link (no account, no session): the 48-hour check-in, the
questionnaires at home and their progress; and the clinic's buttons that issue, email and
revoke links and turn a worrying check-in into an adverse event.

A patient's page speaks, in order: the language they switched to on the page (``?lang=``, then
carried in the form), the language staff chose when issuing the link, their browser's
Accept-Language, English."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from strigil.core import i18n
from strigil.errors import InvalidInput, NotFound, TooManyRequests
from strigil.services import outbox, patient_forms, patient_links
from strigil.web import handler_thread, qr
from strigil.web.deps import CurrentActor, DbSession, SettingsDep, keep_on_refusal
from strigil.web.pages.common import Form, errors_of, go, text
from strigil.web.pages.render import page

router = handler_thread.router()
FIELDS = ("soreness", "bruising", "skin_broken", "calf_pain", "numbness", "other")
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _language(request: Request, chosen: str | None, issued: str | None = None) -> str:
    """The page's language: the patient's switch, then the link's, then the browser's."""
    return (
        i18n.supported(chosen)
        or i18n.supported(issued)
        or i18n.negotiate(request.headers.get("accept-language"))
    )


def _patient_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    language: str,
    status_code: int = 200,
) -> HTMLResponse:
    with i18n.using(language) as lang:
        response = page(request, template, {**context, "lang": lang}, status_code)
    response.headers.update(_PRIVATE)
    response.headers["Content-Language"] = lang
    return response


def _refused(request: Request, error: Exception, status: int, chosen: str | None) -> HTMLResponse:
    """A kind page for a closed, unknown or throttled link, in the patient's language; the
    refusal's count is kept."""
    keep_on_refusal(request)
    extra: dict[str, Any] = getattr(error, "extra", {}) or {}
    context = {
        "reason": extra.get("reason", "throttled" if isinstance(error, TooManyRequests) else ""),
        "retry_after": getattr(error, "retry_after", None),
    }
    language = _language(request, chosen, extra.get("language"))
    response = _patient_page(request, "patient/closed.html", context, language, status)
    if isinstance(error, TooManyRequests) and error.retry_after:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


@router.get("/p/{token}", response_class=HTMLResponse)
def patient_page(
    request: Request, token: str, db: DbSession, lang: str | None = None
) -> HTMLResponse:
    """The page the link is for: the check-in, the first question, or the progress page."""
    try:
        link = patient_forms.open_link(
            session=db,
            token=token,
            client_ip=_client(request),
            throttle=request.app.state.link_throttle,
            audited=True,
        )
    except (NotFound, patient_links.LinkClosed, TooManyRequests) as error:
        return _refused(request, error, getattr(error, "status", 404), lang)
    language = _language(request, lang, link.language)
    if link.purpose == patient_forms.QUESTIONNAIRES:
        return _question(request, link, 0, {}, {}, language)
    if link.purpose == patient_forms.PROGRESS:
        story = patient_forms.progress_for_patient(session=db, link=link, language=language)
        return _patient_page(request, "patient/progress.html", {"p": story}, language)
    return _patient_page(request, "patient/checkin.html", {"errors": {}, "values": {}}, language)


@router.post("/p/{token}", response_class=HTMLResponse)
def patient_submit(request: Request, token: str, db: DbSession, form: Form) -> HTMLResponse:
    """A questionnaire screen (it carries a ``go`` button) or the check-in's answers."""
    if text(form, "go"):
        return _questionnaire_step(request, token, db, form)
    return _checkin_submit(request, token, db, form)


def _checkin_submit(request: Request, token: str, db: Session, form: FormData) -> HTMLResponse:
    """Store the answers and close the link; bad answers re-show the form with the rule in
    the patient's language (the form carries the language its page was shown in)."""
    values = {name: text(form, name) for name in FIELDS}
    chosen = text(form, "lang")
    try:
        patient_links.submit_checkin(
            session=db,
            token=token,
            fields=values,
            client_ip=_client(request),
            throttle=request.app.state.link_throttle,
        )
    except InvalidInput as error:
        context = {"errors": errors_of(error), "values": values}
        return _patient_page(
            request, "patient/checkin.html", context, _language(request, chosen), 422
        )
    except (NotFound, patient_links.LinkClosed, TooManyRequests) as error:
        return _refused(request, error, getattr(error, "status", 404), chosen)
    return _patient_page(request, "patient/thanks.html", {}, _language(request, chosen))


def _questionnaire_step(request: Request, token: str, db: Session, form: FormData) -> HTMLResponse:
    """Move between screens (answers travel in the form, nothing is stored until Send), so the
    questionnaire works without JavaScript and a closed link stops it at any screen."""
    throttle = request.app.state.link_throttle
    chosen = text(form, "lang")
    try:
        link = patient_forms.open_link(
            session=db, token=token, client_ip=_client(request), throttle=throttle, audited=False
        )
    except (NotFound, patient_links.LinkClosed, TooManyRequests) as error:
        return _refused(request, error, getattr(error, "status", 404), chosen)
    language = _language(request, chosen, link.language)
    screens = patient_forms.screens(link)
    step = _step(text(form, "step"), len(screens))
    answers = {s.name: text(form, s.name) for s in screens}
    go = text(form, "go")
    if go == "back":
        return _question(request, link, max(step - 1, 0), answers, {}, language)
    if go == "skip":
        answers[screens[step].name] = ""
    try:
        patient_forms.check_answer(screens[step], answers[screens[step].name])
    except InvalidInput as error:
        return _question(request, link, step, answers, errors_of(error), language, 422)
    if go != "send" or step < len(screens) - 1:
        return _question(request, link, min(step + 1, len(screens) - 1), answers, {}, language)
    try:
        patient_forms.submit_questionnaires(
            session=db,
            token=token,
            fields=answers,
            client_ip=_client(request),
            throttle=throttle,
            language=language,
            installed=request.app.state.instrument_translations,
            opened=link,
        )
    except InvalidInput as error:
        at = next((s.index for s in screens if s.name == error.field), step)
        return _question(request, link, at, answers, errors_of(error), language, 422)
    except (NotFound, patient_links.LinkClosed, TooManyRequests) as error:
        return _refused(request, error, getattr(error, "status", 404), chosen)
    return _patient_page(request, "patient/sent.html", {}, language)


def _step(raw: str, total: int) -> int:
    """The screen the form was on (a tampered number lands on a real screen)."""
    return min(max(int(raw), 0), total - 1) if raw.isdigit() else 0


def _question(
    request: Request,
    link: patient_forms.PatientLink,
    step: int,
    answers: dict[str, str],
    errors: dict[str, str],
    language: str,
    status_code: int = 200,
) -> HTMLResponse:
    screens = patient_forms.screens(link)
    screen = screens[step]
    context: dict[str, Any] = {
        "screen": screen,
        "total": len(screens),
        "may_skip": patient_forms.may_skip(screen),
        "answers": answers,
        "others": {k: v for k, v in answers.items() if k != screen.name and v},
        "error": errors.get(screen.name) or next(iter(errors.values()), None),
    }
    if screen.measure is None:
        context["question"] = patient_forms.screening_question(screen)
    else:
        context["item"] = screen.measure.items[screen.item_index]
        context["wording"] = patient_forms.wording(screen.measure.code)
        context["pack"] = patient_forms.translation(
            screen.measure.code, language, request.app.state.instrument_translations
        )
    return _patient_page(request, "patient/question.html", context, language, status_code)


@router.post("/visits/{visit_id}/checkin-link", response_class=HTMLResponse)
def issue_checkin_link(
    request: Request,
    visit_id: str,
    db: DbSession,
    actor: CurrentActor,
    settings: SettingsDep,
    form: Form,
) -> HTMLResponse:
    """Issue a check-in link and show it once, printable (only its digest is kept); with a
    mail server configured the page also offers to email it."""
    token, link = patient_links.issue_checkin(
        session=db,
        actor=actor,
        visit_id=visit_id,
        hours=settings.checkin_link_hours,
        language=text(form, "language") or None,
    )
    return _link_page(request, db, token, link, visit_id)


def _link_page(
    request: Request,
    db: DbSession,
    token: str,
    link: patient_links.PatientLink,
    visit_id: str,
) -> HTMLResponse:
    url = str(request.base_url).rstrip("/") + patient_links.link_path(token)
    context = {
        "url": url,
        "token": token,
        "link": link,
        "visit_id": visit_id,
        "languages": i18n.LANGUAGES,
        "can_email": request.app.state.settings.smtp_configured,
        "email": patient_links.patient_email(db, link),
    }
    response = page(request, "visits/checkin_link.html", context)
    response.headers.update(_PRIVATE)
    return response


@router.post("/patient-links/{link_id}/email", response_model=None)
def email_link(
    request: Request, link_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    """Queue the email that carries an issued link to the patient (the outbox sends it)."""
    if not request.app.state.settings.smtp_configured:
        raise InvalidInput(
            "no mail server is configured: print the link or read it out",
            field="email",
            code="no_smtp",
        )
    message = outbox.queue_link_email(
        session=db,
        actor=actor,
        link_id=link_id,
        token=text(form, "token"),
        base_url=str(request.base_url),
        recipient=text(form, "email") or None,
    )
    visit = outbox.visit_external_id(db, message)
    return go(request, f"/visits/{visit}#checkins")


@router.post("/patient-links/{link_id}/revoke", response_model=None)
def revoke_link(request: Request, link_id: str, db: DbSession, actor: CurrentActor) -> Response:
    link = patient_links.revoke(session=db, actor=actor, link_id=link_id)
    if link.visit_id is None:
        return go(request, f"/episodes/{patient_forms.episode_external_id(db, link)}#patient-links")
    return go(request, f"/visits/{patient_links.visit_external_id(db, link)}#checkins")


@router.post("/checkins/{checkin_id}/adverse-event", response_model=None)
def checkin_to_event(
    request: Request, checkin_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    """Record the check-in's warning answers as an adverse event (it leaves the list)."""
    severity = text(form, "severity") or "moderate"
    patient_links.to_adverse_event(
        session=db, actor=actor, checkin_id=checkin_id, severity=severity
    )
    return go(request, "/#attention")


@router.post("/episodes/{episode_id}/patient-links", response_class=HTMLResponse)
def issue_episode_link(
    request: Request,
    episode_id: str,
    db: DbSession,
    actor: CurrentActor,
    form: Form,
    settings: SettingsDep,
) -> HTMLResponse:
    """Issue a questionnaire or progress link and show it once, with a QR code to scan."""
    token, link = patient_forms.issue(
        session=db,
        actor=actor,
        episode_id=episode_id,
        purpose=text(form, "purpose"),
        measure_codes=[str(v) for v in form.getlist("measures") if str(v).strip()],
        days=settings.patient_link_days,
    )
    url = str(request.base_url).rstrip("/") + patient_links.link_path(token)
    context = {"url": url, "qr": qr.svg(url), "link": link, "episode_id": episode_id}
    response = page(request, "episodes/patient_link.html", context)
    response.headers.update(_PRIVATE)
    return response
