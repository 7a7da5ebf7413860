"""Contraindication screening at intake and before each visit.

A visit's re-check that finds something the intake did not (a new clot, a new anticoagulant)
also updates the episode's screening, so later visits start from what is now known; the
update is a new, audited intake row, never an edit of the old one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from strigil.core import catalog, safety, screening
from strigil.core.catalog import DoseCap
from strigil.core.safety import Caps
from strigil.core.screening import Answer, ScreeningResult, ScreeningStatus
from strigil.errors import InvalidInput
from strigil.services import audit, clearances
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import get_owned
from strigil.store import episodes as store
from strigil.store.base import utcnow
from strigil.store.episodes import Episode, Screening
from strigil.store.visits import Visit

KINDS = ("intake", "visit")


def parse_answers(raw: Mapping[str, Any]) -> dict[str, Answer]:
    """Answers from JSON-like input: ``{"A1": {"present": true, "regions": ["knee"]}}``."""
    answers: dict[str, Answer] = {}
    for rule_id, value in raw.items():
        if isinstance(value, bool):
            answers[rule_id] = Answer(present=value)
            continue
        if not isinstance(value, Mapping) or not isinstance(value.get("present"), bool):
            raise InvalidInput(
                f"answer to {rule_id} needs present: true or false",
                field=f"answers.{rule_id}",
                code="answer_shape",
            )
        regions = value.get("regions") or ()
        if not isinstance(regions, list | tuple) or not all(isinstance(r, str) for r in regions):
            raise InvalidInput(
                f"regions of {rule_id} must be a list of region codes",
                field=f"answers.{rule_id}.regions",
                code="answer_shape",
            )
        answers[rule_id] = Answer(present=value["present"], regions=tuple(regions))
    return answers


def screen(
    *,
    session: Session,
    actor: Actor,
    episode_id: object,
    answers: Mapping[str, Answer],
    kind: str = "intake",
    visit: Visit | None = None,
    problem_codes: Iterable[str] = (),
    drug_classes: Iterable[str] = (),
    reasoning: str | None = None,
    dose_modification: str | None = None,
    cap_intensity: str | None = None,
    cap_seconds: int | None = None,
) -> Screening:
    """Evaluate and store a screening; relative rules demand reasoning and a dose change.

    At intake every rule is asked; before a visit the rules that can change are. The
    patient's age is recorded with it (a minor raises a precaution). ``cap_*`` set a stricter
    dose than the catalogue's caps.

    Raises:
        InvalidInput: an unanswered rule, a local rule without regions, a region or side that
            does not exist, a cap off the scale, missing reasoning.
        NotPermitted: assistants may not change screening.
    """
    require(actor, Permission.SCREEN)
    if kind not in KINDS:
        raise InvalidInput("kind must be intake or visit", field="kind", code="unknown_kind")
    episode = get_owned(session, Episode, episode_id, actor, field="episode_id")
    cap = None
    if cap_intensity is not None or cap_seconds is not None:
        cap = safety.parse_cap(cap_intensity, cap_seconds)
    age = age_on(episode.patient.birth_date, utcnow().date())
    result = screening.evaluate(
        answers,
        rules=screening.visit_recheck_rules() if kind == "visit" else None,
        problem_codes=tuple(problem_codes),
        drug_classes=tuple(drug_classes),
        age_years=age,
        therapist_cap=cap,
    )
    screening.require_reasoning(result, reasoning, dose_modification)
    row = _store(session, actor, episode, answers, result, kind, visit, age)
    if cap is not None:
        row.result = {
            **row.result,
            "therapist_cap": {"intensity": cap.intensity, "seconds": cap.seconds},
        }
    row.reasoning = (reasoning or "").strip() or None
    row.dose_modification = (dose_modification or "").strip() or None
    session.flush()
    _audit(session, actor, episode, row, "create", {"status": result.status.value, "kind": kind})
    if kind == "visit" and visit is not None:
        _update_intake(session, actor, episode, answers, visit)
    return row


def age_on(birth: date | None, today: date) -> int | None:
    """Whole years of age on ``today``."""
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _store(
    session: Session,
    actor: Actor,
    episode: Episode,
    answers: Mapping[str, Answer],
    result: ScreeningResult,
    kind: str,
    visit: Visit | None,
    age: int | None,
) -> Screening:
    row = Screening(
        clinic_id=actor.clinic_id,
        patient_id=episode.patient_id,
        episode_id=episode.id,
        visit_id=visit.id if visit else None,
        kind=kind,
        rule_set_version=catalog.catalog_versions()["screening_rules.json"],
        answers={k: {"present": a.present, "regions": list(a.regions)} for k, a in answers.items()},
        result_status=result.status.value,
        result=result_json(result),
        screened_by_id=actor.user_id,
        screened_at=utcnow(),
        patient_age_years=age,
    )
    session.add(row)
    return row


def _audit(
    session: Session,
    actor: Actor,
    episode: Episode,
    row: Screening,
    action: str,
    detail: dict[str, Any],
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action=action,
        entity_type="screening",
        entity_id=row.external_id,
        patient_id=episode.patient.external_id,
        detail=detail,
    )


def _update_intake(
    session: Session, actor: Actor, episode: Episode, answers: Mapping[str, Answer], visit: Visit
) -> None:
    """Carry findings the intake did not have into a new intake screening (audited)."""
    intake = latest(session, episode, "intake")
    if intake is None:
        return
    merged = {
        k: Answer(v["present"], tuple(v.get("regions", ()))) for k, v in intake.answers.items()
    }
    changed = [rule_id for rule_id, answer in answers.items() if _new(answer, merged.get(rule_id))]
    if not changed:
        return
    for rule_id in changed:
        old = merged.get(rule_id, Answer(False))
        regions = tuple(dict.fromkeys(old.regions + answers[rule_id].regions))
        merged[rule_id] = Answer(True, regions)
    _store_update(session, actor, episode, intake, merged, visit, changed)


def _new(today: Answer, before: Answer | None) -> bool:
    """Whether today's answer reports something the intake did not."""
    if not today.present:
        return False
    return before is None or not before.present or not set(today.regions) <= set(before.regions)


def _store_update(
    session: Session,
    actor: Actor,
    episode: Episode,
    intake: Screening,
    merged: Mapping[str, Answer],
    visit: Visit,
    changed: list[str],
) -> None:
    complete = {r.id: merged.get(r.id, Answer(False)) for r in catalog.screening_rules()}
    result = screening.evaluate(
        complete, age_years=intake.patient_age_years, therapist_cap=_therapist_cap(intake)
    )
    row = _store(
        session, actor, episode, complete, result, "intake", None, intake.patient_age_years
    )
    if "therapist_cap" in intake.result:
        row.result = {**row.result, "therapist_cap": intake.result["therapist_cap"]}
    reason = f"updated from the re-check of visit {visit.number}: {', '.join(changed)}"
    row.reasoning = intake.reasoning or reason
    row.dose_modification = intake.dose_modification or "See the visit's re-check."
    session.flush()
    detail = {
        "changed_rules": changed,
        "visit": str(visit.external_id),
        "replaces": str(intake.external_id),
    }
    _audit(session, actor, episode, row, "update", detail)


def _therapist_cap(row: Screening) -> DoseCap | None:
    cap = row.result.get("therapist_cap")
    return DoseCap(cap.get("intensity"), cap.get("seconds")) if cap else None


def result_json(result: ScreeningResult) -> dict[str, Any]:
    data = asdict(result)
    data["status"] = result.status.value
    data["blocked_regions"] = {k: list(v) for k, v in result.blocked_regions.items()}
    data["caps"]["reasons"] = list(result.caps.reasons)
    return data


def latest(session: Session, episode: Episode, kind: str) -> Screening | None:
    """The newest valid screening of a kind for an episode."""
    return store.find_latest_screening(session, episode.clinic_id, episode.id, kind)


def effective_result(
    session: Session,
    episode: Episode,
    visit: Visit | None,
    *,
    require_recheck: bool = False,
    in_force: Sequence[Screening] | None = None,
) -> ScreeningResult:
    """What limits treatment now: the intake screen joined with this visit's re-check, less
    the whole-patient blocks a clinician has cleared.

    ``in_force`` is the newest intake and this visit's re-check when the caller has already
    loaded them (the visit record has); otherwise they are read here.

    Raises:
        InvalidInput: the episode has no intake screening yet, or (with ``require_recheck``)
            today's re-check has not been answered.
    """
    candidates = (
        in_force
        if in_force is not None
        else store.list_screenings_in_force(
            session, episode.clinic_id, episode.id, visit.id if visit else None
        )
    )
    intake = next((r for r in candidates if r.kind == "intake"), None)
    if intake is None:
        raise InvalidInput(
            "screen the patient for contraindications before IASTM",
            field="screening",
            code="screening_required",
        )
    recheck = next((r for r in candidates if visit and r.visit_id == visit.id), None)
    if require_recheck and recheck is None:
        raise InvalidInput(
            "answer today's re-check (blood pressure, new clot signs, injuries, pregnancy, "
            "medication, fever, skin) before treating an area",
            field="recheck",
            code="recheck_required",
        )
    rows = [intake] + ([recheck] if recheck else [])
    merged = _merge([_from_json(r.result) for r in rows])
    if not merged.clearance_pending:
        return merged
    return screening.clear(merged, clearances.cleared_rules(session, episode))


def _from_json(data: Mapping[str, Any]) -> ScreeningResult:
    caps = data.get("caps") or {}
    return ScreeningResult(
        status=ScreeningStatus(data["status"]),
        blocked_regions={k: tuple(v) for k, v in data.get("blocked_regions", {}).items()},
        systemic_blocks=tuple(data.get("systemic_blocks", ())),
        clearance_pending=dict(data.get("clearance_pending") or {}),
        caps=Caps(caps.get("intensity"), caps.get("seconds"), tuple(caps.get("reasons", ()))),
    )


def _merge(results: list[ScreeningResult]) -> ScreeningResult:
    blocked: dict[str, tuple[str, ...]] = {}
    for result in results:
        for region, reasons in result.blocked_regions.items():
            blocked[region] = blocked.get(region, ()) + reasons
    systemic = tuple(r for result in results for r in result.systemic_blocks)
    order = list(ScreeningStatus)
    status = max((r.status for r in results), key=order.index)
    pending = {k: v for result in results for k, v in result.clearance_pending.items()}
    return ScreeningResult(
        status=status,
        blocked_regions=blocked,
        systemic_blocks=systemic,
        clearance_pending=pending,
        caps=safety.merge_caps(r.caps for r in results),
    )


def check_region(
    session: Session, episode: Episode, visit: Visit | None, region: str, side: str = "bilateral"
) -> ScreeningResult:
    """Refuse treatment of a blocked region and side, naming the reason (422 region_blocked);
    the result returned carries the dose caps that apply."""
    result = effective_result(session, episode, visit, require_recheck=visit is not None)
    screening.check_region(result, region, side)
    return result
