"""Builders for a whole clinical flow through the services (synthetic data only)."""

from __future__ import annotations

from sqlalchemy.orm import Session
from tests.factories import actor, make_episode, make_patient

from strigil.core import catalog
from strigil.core.screening import Answer
from strigil.services import consents, screenings, treatment, visits
from strigil.store.clinics import User
from strigil.store.episodes import Episode
from strigil.store.visits import Visit


def all_clear(**present: tuple[str, ...]) -> dict[str, Answer]:
    """An answer for every rule: absent, except those given (rule id → affected regions)."""
    answers = {r.id: Answer(present=False) for r in catalog.screening_rules()}
    for rule_id, regions in present.items():
        answers[rule_id] = Answer(present=True, regions=regions)
    return answers


def ready_for_iastm(
    session: Session, user: User, episode: Episode, **present: tuple[str, ...]
) -> None:
    """Screen (with optional findings) and record granted consent."""
    who = actor(user)
    needs_reason = any(r.startswith("R") for r in present)
    screenings.screen(
        session=session,
        actor=who,
        episode_id=episode.external_id,
        answers=all_clear(**present),
        reasoning="Light pressure only; monitor skin." if needs_reason else None,
        dose_modification="Gentle intensity, shorter time." if needs_reason else None,
    )
    consents.record(session=session, actor=who, episode_id=episode.external_id, decision="granted")


NORMAL_BP = {"systolic": 124, "diastolic": 78}


def recheck_clear() -> dict[str, dict[str, object]]:
    """JSON answers to the per-visit re-check rules, all absent; a normal blood pressure."""
    from strigil.core.screening import visit_recheck_rules

    out: dict[str, dict[str, object]] = {r.id: {"present": False} for r in visit_recheck_rules()}
    return out | {r.id: dict(NORMAL_BP) for r in visit_recheck_rules() if r.reading}


def recheck_answers() -> dict[str, Answer]:
    """Service-level answers to the per-visit re-check rules, all absent; a normal reading."""
    from strigil.core.screening import BloodPressure, visit_recheck_rules

    normal = BloodPressure(NORMAL_BP["systolic"], NORMAL_BP["diastolic"])
    return {
        r.id: Answer(False, reading=normal if r.reading else None) for r in visit_recheck_rules()
    }


def recheck_in_force(session: Session, episode: Episode) -> dict[str, Answer]:
    """Today's re-check as the form pre-fills it: the answers in force, a normal reading."""
    return recheck_answers() | screenings.recheck_prefill(screenings.in_force(session, episode))


def write_and_sign(session: Session, who: object, visit_id: object) -> None:
    """Write a minimal assessment and plan, then sign the note."""
    from strigil.services import visits

    note = {"assessment": "Tolerated treatment.", "plan": "Continue."}
    visits.save_note(
        session=session,
        actor=who,
        visit_id=visit_id,
        note=note,  # type: ignore[arg-type]
        version=None,
    )
    visits.sign(session=session, actor=who, visit_id=visit_id, version=None)  # type: ignore[arg-type]


def iastm_visit(session: Session, therapist: User) -> Visit:
    """A new patient's first visit with one area treated with IASTM (still in progress)."""
    who = actor(therapist)
    patient = make_patient(session, therapist)
    episode = make_episode(session, therapist, patient, condition_code="M77.11", side="right")
    ready_for_iastm(session, therapist, episode)
    data = visits.VisitStart(tolerance_limit=6, recheck=recheck_in_force(session, episode))
    visit = visits.start(session=session, actor=who, episode_id=episode.external_id, data=data)
    area = treatment.AreaInput(
        body_site="lateral_elbow",
        side="right",
        instrument_type="stainless_steel",
        intensity="gentle",
        strokes=("sweep",),
        angle_deg=45,
    )
    treatment.add_area(session=session, actor=who, visit_id=visit.external_id, data=area)
    return visit
