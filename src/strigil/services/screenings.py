"""Contraindication screening at intake and before each visit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from strigil.core import catalog, screening
from strigil.core.screening import Answer, ScreeningResult, ScreeningStatus
from strigil.errors import InvalidInput
from strigil.services import audit
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import get_owned
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
) -> Screening:
    """Evaluate and store a screening; relative rules demand reasoning and a dose change.

    At intake every rule is asked; before a visit only the medication and skin rules are.

    Raises:
        InvalidInput: an unanswered rule, a local rule without regions, missing reasoning.
        NotPermitted: assistants may not change screening.
    """
    require(actor, Permission.SCREEN)
    if kind not in KINDS:
        raise InvalidInput("kind must be intake or visit", field="kind", code="unknown_kind")
    episode = get_owned(session, Episode, episode_id, actor, field="episode_id")
    rules = screening.visit_recheck_rules() if kind == "visit" else None
    result = screening.evaluate(
        answers, rules=rules, problem_codes=tuple(problem_codes), drug_classes=tuple(drug_classes)
    )
    screening.require_reasoning(result, reasoning, dose_modification)
    row = Screening(
        clinic_id=actor.clinic_id,
        patient_id=episode.patient_id,
        episode_id=episode.id,
        visit_id=visit.id if visit else None,
        kind=kind,
        rule_set_version=catalog.catalog_versions()["screening_rules.json"],
        answers={k: {"present": a.present, "regions": list(a.regions)} for k, a in answers.items()},
        result_status=result.status.value,
        result=_result_json(result),
        reasoning=(reasoning or "").strip() or None,
        dose_modification=(dose_modification or "").strip() or None,
        screened_by_id=actor.user_id,
        screened_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="create",
        entity_type="screening",
        entity_id=row.external_id,
        patient_id=episode.patient.external_id,
        detail={"status": result.status.value, "kind": kind},
    )
    return row


def _result_json(result: ScreeningResult) -> dict[str, Any]:
    data = asdict(result)
    data["status"] = result.status.value
    data["blocked_regions"] = {k: list(v) for k, v in result.blocked_regions.items()}
    return data


def latest(session: Session, episode: Episode, kind: str) -> Screening | None:
    """The newest valid screening of a kind for an episode."""
    return session.scalar(
        select(Screening)
        .where(
            Screening.episode_id == episode.id,
            Screening.kind == kind,
            Screening.entered_in_error_at.is_(None),
        )
        .order_by(Screening.screened_at.desc(), Screening.id.desc())
        .limit(1)
    )


def effective_result(session: Session, episode: Episode, visit: Visit | None) -> ScreeningResult:
    """What limits treatment now: the intake screen joined with this visit's re-check.

    Raises:
        InvalidInput: the episode has no intake screening yet.
    """
    wanted = Screening.kind == "intake"
    if visit is not None:
        wanted = or_(wanted, Screening.visit_id == visit.id)
    candidates = session.scalars(  # the newest intake and this visit's re-check, one query
        select(Screening)
        .where(Screening.episode_id == episode.id, Screening.entered_in_error_at.is_(None), wanted)
        .order_by(Screening.screened_at.desc(), Screening.id.desc())
    ).all()
    intake = next((r for r in candidates if r.kind == "intake"), None)
    if intake is None:
        raise InvalidInput(
            "screen the patient for contraindications before IASTM",
            field="screening",
            code="screening_required",
        )
    recheck = next((r for r in candidates if visit and r.visit_id == visit.id), None)
    rows = [intake] + ([recheck] if recheck else [])
    return _merge([_from_json(r.result) for r in rows])


def _from_json(data: Mapping[str, Any]) -> ScreeningResult:
    return ScreeningResult(
        status=ScreeningStatus(data["status"]),
        blocked_regions={k: tuple(v) for k, v in data.get("blocked_regions", {}).items()},
        systemic_blocks=tuple(data.get("systemic_blocks", ())),
    )


def _merge(results: list[ScreeningResult]) -> ScreeningResult:
    blocked: dict[str, tuple[str, ...]] = {}
    for result in results:
        for region, reasons in result.blocked_regions.items():
            blocked[region] = blocked.get(region, ()) + reasons
    systemic = tuple(r for result in results for r in result.systemic_blocks)
    order = list(ScreeningStatus)
    status = max((r.status for r in results), key=order.index)
    return ScreeningResult(status=status, blocked_regions=blocked, systemic_blocks=systemic)


def check_region(session: Session, episode: Episode, visit: Visit | None, region: str) -> None:
    """Refuse treatment of a blocked region, naming the reason (422 region_blocked)."""
    screening.check_region(effective_result(session, episode, visit), region)
