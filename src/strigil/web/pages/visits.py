"""The guided visit: start with the re-check, the phases as a stepper, per-area treatment."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from strigil.config import Settings
from strigil.core import billing, catalog, i18n, protocol, screening
from strigil.errors import Conflict, InvalidInput
from strigil.services import (
    adverse_events,
    appointments,
    clearances,
    episodes,
    follow_up,
    outbox,
    patient_links,
    screenings,
    sensors,
    treatment,
    visits,
)
from strigil.services.actors import Actor, Permission
from strigil.services.records import ADVERSE_EVENT_CATEGORIES, TreatedArea, Visit
from strigil.web import handler_thread
from strigil.web.deps import CurrentActor, DbSession, SettingsDep
from strigil.web.page_cache import PageCache
from strigil.web.pages import records
from strigil.web.pages.common import (
    Form,
    errors_of,
    go,
    is_hx,
    optional_int,
    required_int,
    text,
    view,
)
from strigil.web.pages.render import page
from strigil.web.pages.safety import answer_errors, parse_answers, parse_lifts, questionnaire

router = handler_thread.router()
router.include_router(records.router)


# ------------------------------------------------------------------------------ start


def _start_page(
    request: Request, episode_id: str, db: DbSession, actor: Actor, ctx: dict[str, Any], status: int
) -> HTMLResponse:
    episode = episodes.get(session=db, actor=actor, episode_id=episode_id)
    forced = screenings.in_force(db, episode)
    prefill = screenings.recheck_prefill(forced)
    standing = screenings.standing(db, episode)
    last = follow_up.previous_of_episode(db, episode.clinic_id, episode.id)
    base = {
        "episode": episode,
        "patient": episode.patient,
        "tolerance": last.tolerance_limit if last else catalog.thresholds().tolerance_default,
        "reasoning": standing.reasoning if standing else "",
        "dose": standing.dose_modification if standing else "",
        "standing": standing,
        **questionnaire(screening.visit_recheck_rules(), prefill, {}, forced),
    }
    if "answers" in ctx:  # a refused form shows what was typed, beside what is in force
        ctx |= questionnaire(
            screening.visit_recheck_rules(), ctx["answers"], ctx["errors"], forced, ctx["lifts"]
        )
    return page(request, "visits/start.html", base | ctx, status)


@router.get("/episodes/{episode_id}/visits/new", response_class=HTMLResponse)
def new_visit(
    request: Request, episode_id: str, db: DbSession, actor: CurrentActor, appointment: str = ""
) -> HTMLResponse:
    """The start form; from the day book it carries the appointment the visit belongs to."""
    return _start_page(request, episode_id, db, actor, {"appointment": appointment}, 200)


@router.post("/episodes/{episode_id}/visits", response_model=None)
def start_visit(
    request: Request, episode_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    rules = screening.visit_recheck_rules()
    answers = parse_answers(form, rules)
    lifts = parse_lifts(form, answers)
    reasoning, dose = text(form, "reasoning"), text(form, "dose_modification")
    try:
        data = visits.VisitStart(
            tolerance_limit=required_int(form, "tolerance_limit", "tolerance limit"),
            recheck=answers,
            reasoning=reasoning,
            dose_modification=dose,
            techniques=[t for t in form.getlist("techniques") if isinstance(t, str)] or ["iastm"],
            lifts=lifts,
            reliability_check=text(form, "reliability_check") == "yes",
        )
        with db.begin_nested():
            visit = _start(db, actor, episode_id, text(form, "appointment"), data)
    except InvalidInput as error:
        ctx = {"answers": answers, "errors": answer_errors(error, rules), "lifts": lifts}
        ctx["appointment"] = text(form, "appointment")
        ctx |= {"reasoning": reasoning, "dose": dose, "tolerance": text(form, "tolerance_limit")}
        ctx |= {"reliability_check": text(form, "reliability_check") == "yes"}
        return _start_page(request, episode_id, db, actor, ctx, 422)
    return go(request, f"/visits/{visit.external_id}")


# ------------------------------------------------------------------------------ the visit page


def _start(
    db: Session, actor: Actor, episode_id: str, appointment: str, data: visits.VisitStart
) -> Visit:
    """Start the visit; from an appointment, through the day book (links it, marks arrived)."""
    if not appointment:
        return visits.start(session=db, actor=actor, episode_id=episode_id, data=data)
    return appointments.start_visit(
        session=db, actor=actor, appointment_id=appointment, data=data, episode_id=episode_id
    )


def _effective(
    db: Session, visit: Visit, record: visits.VisitRecord | None = None
) -> screening.ScreeningResult | None:
    in_force = record.screenings if record is not None else None
    try:
        return screenings.effective_result(db, visit.episode, visit, in_force=in_force)
    except InvalidInput:
        return None


def _blood_pressure(visit: Visit, record: visits.VisitRecord) -> dict[str, Any] | None:
    """Today's blood pressure as the re-check recorded it (a reading, or not measured)."""
    row = next((s for s in record.screenings if s.visit_id == visit.id), None)
    rule = next((r for r in screening.visit_recheck_rules() if r.reading), None)
    if row is None or rule is None or rule.id not in row.answers:
        return None
    answer = screenings.answer_of(row.answers[rule.id])
    return {"rule": rule, "answer": answer}


def _blocks(effective: screening.ScreeningResult | None) -> dict[str, Any]:
    """What the page shows before the therapist chooses: blocked regions by side, the
    whole-patient stops and the dose cap."""
    if effective is None:
        return {"blocked": {}, "patient_blocks": (), "caps": None}
    blocked: dict[str, dict[str, list[str]]] = {}
    for key, reasons in effective.blocked_regions.items():
        region, _, side = key.partition(":")
        entry = blocked.setdefault(region, {"sides": [], "reasons": []})
        entry["sides"].append(side or "both sides")
        entry["reasons"] += [r for r in reasons if r not in entry["reasons"]]
    whole = effective.systemic_blocks + tuple(effective.clearance_pending.values())
    caps = effective.caps if effective.caps.any else None
    return {"blocked": blocked, "patient_blocks": whole, "caps": caps}


def _areas_ctx(
    db: Session, visit: Visit, record: visits.VisitRecord | None = None
) -> dict[str, Any]:
    record = record or visits.load_record(db, visit)
    return {
        "closed": treatment.closed_sites(db, visit),
        "areas": record.areas,
        "readings": record.readings,
        "skin": record.skin,
        "doses": sensors.dose_views(record.recordings),
        "comparisons": sensors.dose_comparisons(record.recordings, record.intended),
        "intended": record.intended,
        "limits": catalog.thresholds(),
        "sites": {s.code: s for s in catalog.body_sites()},
    }


def _chart_ctx(
    db: Session, visit: Visit, record: visits.VisitRecord | None = None
) -> dict[str, Any]:
    return {
        "areas": record.areas if record else treatment.areas(db, visit),
        "findings": record.findings if record else treatment.findings(db, visit),
        "previous": treatment.previous_findings(db, visit),
        "sites": {s.code: s for s in catalog.body_sites()},
        "textures": treatment.TEXTURES,
    }


def visit_ctx(db: Session, visit: Visit, actor: Actor) -> dict[str, Any]:
    """Everything the visit page shows; what the last visit offers to copy comes with it."""
    patient = visit.episode.patient
    record = visits.load_record(db, visit)
    areas = _areas_ctx(db, visit, record)
    effective = _effective(db, visit, record)
    return {
        **_blocks(effective),
        "visit": visit,
        "episode": visit.episode,
        "patient": patient,
        "phases": catalog.protocol_phases(),
        "current_phase": catalog.phase(visit.phase),
        "next_phases": _next_phases(visit),
        "effective": effective,
        "blood_pressure": _blood_pressure(visit, record),
        "regions": catalog.body_regions(),
        "site_list": catalog.body_sites(),
        "instruments": catalog.instrument_types(),
        "strokes": catalog.strokes(),
        "stop_reasons": [r.value for r in protocol.StopReason],
        "textures": treatment.TEXTURES,
        "prescriptions": record.prescriptions,
        "exercises": {e.code: e for e in catalog.exercises()},
        "addenda": visits.addenda(db, visit),
        "events": sorted(record.events, key=lambda e: e.onset_at, reverse=True),
        "categories": ADVERSE_EVENT_CATEGORIES,
        "severities": adverse_events.SEVERITIES,
        "add_errors": {},
        "add_values": {},
        **_note_ctx(db, visit, record),
        **areas,
        "charges": visits.charges_for(db, visit, record),
        "clinic_zone": ZoneInfo(visits.clinic_of(db, visit).timezone or "UTC"),
        "record": record,
        "billing_codes": billing.codes(),
        "users": record.users or {},
        **_chart_ctx(db, visit, record),
        "carry": follow_up.offer(db, visit),
        "can_template": actor.can(Permission.TREAT),
        **_checkin_ctx(db, visit, actor),
    }


def _checkin_ctx(db: Session, visit: Visit, actor: Actor) -> dict[str, Any]:
    """The visit's check-ins and its patient links (the visit read itself is audited)."""
    links = patient_links.links_for_visit(session=db, actor=actor, visit=visit)
    return {
        "checkins": patient_links.checkins_of_loaded_visit(session=db, actor=actor, visit=visit),
        "checkin_links": links,
        "link_emails": outbox.messages_for_links(session=db, actor=actor, links=links),
        "link_languages": i18n.LANGUAGES,
        "now": patient_links.now(),
    }


def _next_phases(visit: Visit) -> list[catalog.Phase]:
    """The next phase, and when it is optional, the ones that may be skipped to."""
    out: list[catalog.Phase] = []
    current: str | None = visit.phase
    while (nxt := protocol.next_phase(current)) is not None:
        out.append(nxt)
        if not nxt.optional:
            break
        current = nxt.code
    return out


def _note_ctx(db: Session, visit: Visit, record: visits.VisitRecord) -> dict[str, Any]:
    note = {name: getattr(visit, name) for name in visits.NOTE_FIELDS}
    drafted = False
    if visit.status != "signed" and not any(note.values()):
        draft = visits.draft_from(db, visit, record)
        note = {name: getattr(draft, name) for name in visits.NOTE_FIELDS}
        drafted = True
    return {"note": note, "drafted": drafted, "note_version": visit.version}


@router.get("/visits/{visit_id}", response_class=HTMLResponse)
def visit_page(request: Request, visit_id: str, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    """The visit, rendered afresh only when its patient's chart or the clinic's shared data
    changed since the last render."""
    cache: PageCache = request.app.state.page_cache
    revision = visits.data_revision(session=db, actor=actor, visit_id=visit_id)
    key = cache.key(request, actor, revision) if revision is not None else None
    reused = cache.get(key) if key else None
    if reused is not None:
        visits.record_read(
            session=db, actor=actor, visit_id=reused.visit_id, patient_id=reused.patient_id
        )
        return HTMLResponse(reused.body)
    visit = visits.get(session=db, actor=actor, visit_id=visit_id)
    ctx = visit_ctx(db, visit, actor)
    response = page(request, "visits/visit.html", ctx)
    if key:
        true_for = patient_links.seconds_until_one_closes(ctx["checkin_links"], ctx["now"])
        patient = visit.episode.patient.external_id
        cache.put(key, bytes(response.body), visit.external_id, patient, true_for=true_for)
    return response


@router.post("/visits/{visit_id}/phase", response_model=None)
def set_phase(
    request: Request, visit_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    visits.set_phase(
        session=db,
        actor=actor,
        visit_id=visit_id,
        phase=text(form, "phase"),
        version=required_int(form, "version"),
    )
    return go(request, f"/visits/{visit_id}#stepper")


# ------------------------------------------------------------------------------ areas


def _area_input(form: FormData) -> treatment.AreaInput:
    return treatment.AreaInput(
        body_site=text(form, "body_site"),
        side=text(form, "side"),
        instrument_type=text(form, "instrument_type"),
        intensity=text(form, "intensity") or "gentle",
        strokes=[s for s in form.getlist("strokes") if isinstance(s, str)],
        angle_deg=optional_int(form, "angle_deg", "angle"),
        confirm_other_side=text(form, "confirm_other_side") == "yes",
    )


def _areas_fragment(
    request: Request, db: Session, visit: Visit, extra: dict[str, Any], status: int
) -> HTMLResponse:
    ctx = visit_ctx(db, visit, request.state.actor) | extra
    return page(request, "visits/_areas.html", ctx, status)


@router.post("/visits/{visit_id}/areas", response_model=None)
def add_area(
    request: Request, visit_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    visit = visits.get(session=db, actor=actor, visit_id=visit_id)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        with db.begin_nested():
            treatment.add_area(session=db, actor=actor, visit_id=visit_id, data=_area_input(form))
    except (InvalidInput, Conflict) as error:
        if not is_hx(request):
            raise
        extra = {"add_errors": errors_of(error), "add_values": values, "add_error": error}
        return _areas_fragment(request, db, visit, extra, error.status)
    if not is_hx(request):
        return go(request, f"/visits/{visit_id}#areas")
    return _areas_fragment(request, db, visit, {}, 200)


def area_card(request: Request, db: Session, area: TreatedArea, **extra: Any) -> Response:
    visit = db.get_one(Visit, area.visit_id)
    if not is_hx(request):
        return go(request, f"/visits/{visit.external_id}#area-{area.external_id}")
    ctx = {"visit": visit, "area": area, **_areas_ctx(db, visit), **extra}
    ctx["caps"] = _blocks(_effective(db, visit))["caps"]
    ctx["stop_reasons"] = [r.value for r in protocol.StopReason]
    return page(request, "visits/_area.html", ctx)


def _sync_time(db: Session, actor: Actor, area_id: str, form: FormData) -> None:
    """Keep the timer's running seconds when a reading, stop or skin grade ends the area."""
    elapsed = optional_int(form, "elapsed_seconds")
    if elapsed is None:
        return
    try:
        with db.begin_nested():  # a refused sync is undone alone; the reading still counts
            treatment.update_dose(
                session=db,
                actor=actor,
                treated_area_id=area_id,
                seconds=elapsed,
                intensity=None,
                version=None,
            )
    except (Conflict, InvalidInput):  # a reading or a stop must never wait on the timer's sync
        return


@router.post("/areas/{area_id}/readings", response_model=None)
def record_reading(
    request: Request,
    area_id: str,
    db: DbSession,
    actor: CurrentActor,
    form: Form,
    settings: SettingsDep,
) -> Response:
    _sync_time(db, actor, area_id, form)
    asked = text(form, "ask_stop") == "yes"
    value = required_int(form, "value", "discomfort")
    result = treatment.record_reading(
        session=db, actor=actor, treated_area_id=area_id, value=value, patient_asked_to_stop=asked
    )
    _store_stream(db, actor, result.area, settings)
    return area_card(request, db, result.area, reading_warning=result.warning)


@router.post("/areas/{area_id}/stop", response_model=None)
def stop_area(
    request: Request,
    area_id: str,
    db: DbSession,
    actor: CurrentActor,
    form: Form,
    settings: SettingsDep,
) -> Response:
    _sync_time(db, actor, area_id, form)
    area = treatment.stop_area(
        session=db,
        actor=actor,
        treated_area_id=area_id,
        reason=text(form, "reason") or None,
        note=text(form, "note") or None,
    )
    _store_stream(db, actor, area, settings)
    return area_card(request, db, area)


def _store_stream(db: Session, actor: Actor, area: TreatedArea, settings: Settings) -> None:
    """An instrumented tool's stream is stored as the area's dose when the area ends."""
    sensors.finish_if_ended(
        session=db,
        actor=actor,
        area=area,
        data_dir=settings.data_dir,
        cap_overrides=settings.sensors_force_caps,
    )


@router.post("/areas/{area_id}/skin", response_model=None)
def grade_skin(
    request: Request, area_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    _sync_time(db, actor, area_id, form)
    row = treatment.grade_skin(
        session=db, actor=actor, treated_area_id=area_id, grade=text(form, "grade")
    )
    return area_card(request, db, db.get_one(TreatedArea, row.treated_area_id))


@router.post("/areas/{area_id}/dose", response_model=None)
def update_dose(
    request: Request, area_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    """The timer (JSON answer) and the intensity picker (area card) post here."""
    area = treatment.update_dose(
        session=db,
        actor=actor,
        treated_area_id=area_id,
        seconds=required_int(form, "seconds"),
        intensity=text(form, "intensity") or None,
        version=required_int(form, "version"),
    )
    if text(form, "source") == "timer":
        body = {"seconds": area.seconds, "version": area.version, "warnings": area.warnings}
        return JSONResponse(body)
    return area_card(request, db, area)


@router.post("/visits/{visit_id}/clearance", response_model=None)
def record_clearance(
    request: Request, visit_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    """A clinician's clearance of a whole-patient block, recorded from the visit's banner."""
    visit = visits.get(session=db, actor=actor, visit_id=visit_id)
    clearances.record_clearance(
        session=db,
        actor=actor,
        episode_id=visit.episode.external_id,
        rule_id=text(form, "rule_id"),
        cleared_by=text(form, "cleared_by"),
        cleared_at=_local_time(text(form, "cleared_at")),
        note=text(form, "note"),
    )
    return go(request, f"/visits/{visit_id}")


def _local_time(raw: str) -> datetime:
    """A datetime-local field (the clinic runs on UTC) as an aware datetime."""
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            "give the date and time of the clearance", field="cleared_at", code="invalid_time"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# ------------------------------------------------------------------------------ findings


def nearest_site(view: str, x: float, y: float) -> str:
    """The body site drawn closest to a click on the chart (either side)."""
    best, best_d = "", math.inf
    for site in catalog.body_sites():
        for side in ("right", "left"):
            point = site.position(view, side) if view in site.views else None
            if point is not None and (d := math.hypot(point.x - x, point.y - y)) < best_d:
                best, best_d = site.code, d
    return best


def _finding_input(form: FormData) -> treatment.FindingInput:
    site, view = text(form, "body_site"), text(form, "chart_view") or "front"
    if text(form, "x") and text(form, "y"):
        try:
            x, y = float(text(form, "x")), float(text(form, "y"))
        except ValueError:
            raise InvalidInput("click the body chart", field="x", code="not_a_number") from None
        site = site or nearest_site(view, x, y)
    else:
        if not site:
            raise InvalidInput(
                "click the body chart or choose the site", field="body_site", code="required"
            )
        known = catalog.body_site(site)
        view = view if view in known.views else known.views[0].value
        side = text(form, "side")
        point = known.position(view, side if side in ("left", "right") else "right")
        x, y = (point.x, point.y) if point else (0.5, 0.5)
    return treatment.FindingInput(
        chart_view=view,
        x=x,
        y=y,
        body_site=site,
        texture=text(form, "texture"),
        severity=required_int(form, "severity"),
        treated_area_id=text(form, "treated_area_id") or None,
        side=text(form, "side") or None,
    )


@router.post("/visits/{visit_id}/findings", response_model=None)
def add_finding(
    request: Request, visit_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    visit = visits.get(session=db, actor=actor, visit_id=visit_id)
    treatment.add_finding(session=db, actor=actor, visit_id=visit_id, data=_finding_input(form))
    if not is_hx(request):
        return go(request, f"/visits/{visit_id}#chart")
    return page(request, "visits/_chart.html", {"visit": visit, **_chart_ctx(db, visit)})


# ------------------------------------------------------------------------------ note


@router.post("/visits/{visit_id}/note", response_model=None)
def save_note(
    request: Request, visit_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    visit = visits.get(session=db, actor=actor, visit_id=visit_id)
    note = {name: text(form, name) for name in visits.NOTE_FIELDS}
    try:
        with db.begin_nested():
            visits.save_note(
                session=db,
                actor=actor,
                visit_id=visit_id,
                note=note,
                version=required_int(form, "version"),
            )
    except Conflict as error:
        if error.code != "version_conflict":
            raise
        ctx = visit_ctx(db, visit, request.state.actor) | {"note": note, "conflict": error}
        ctx["note_version"] = error.extra.get("current_version")
        template = "visits/_note.html" if is_hx(request) else "visits/visit.html"
        return page(request, template, ctx, 409)
    if not is_hx(request):
        return go(request, f"/visits/{visit_id}#note")
    ctx = visit_ctx(db, visit, request.state.actor) | {"saved": True}
    return page(request, "visits/_note.html", ctx)


@router.get("/visits/{visit_id}/note-draft", response_class=HTMLResponse)
def redraft_note(
    request: Request, visit_id: str, db: DbSession, actor: CurrentActor
) -> HTMLResponse:
    """A fresh SOAP draft from everything recorded so far (the saved note is not changed)."""
    visit = visits.get(session=db, actor=actor, visit_id=visit_id)
    draft = visits.draft_note(session=db, actor=actor, visit_id=visit_id)
    ctx = visit_ctx(db, visit, request.state.actor) | {"drafted": True}
    ctx["note"] = {name: getattr(draft, name) for name in visits.NOTE_FIELDS}
    return view(request, "visits/visit.html", "visits/_note.html", ctx)


@router.post("/visits/{visit_id}/sign", response_model=None)
def sign(
    request: Request, visit_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    """Save the note as shown (when the form carries it), then sign and lock it."""
    version = required_int(form, "version")
    if any(name in form for name in visits.NOTE_FIELDS):
        note = {name: text(form, name) for name in visits.NOTE_FIELDS}
        saved = visits.save_note(
            session=db, actor=actor, visit_id=visit_id, note=note, version=version
        )
        version = saved.version
    visits.sign(session=db, actor=actor, visit_id=visit_id, version=version)
    return go(request, f"/visits/{visit_id}#note")


@router.post("/visits/{visit_id}/addenda", response_model=None)
def add_addendum(
    request: Request, visit_id: str, db: DbSession, actor: CurrentActor, form: Form
) -> Response:
    visits.add_addendum(session=db, actor=actor, visit_id=visit_id, text=text(form, "text"))
    return go(request, f"/visits/{visit_id}#note")
