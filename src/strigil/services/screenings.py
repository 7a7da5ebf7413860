"""Contraindication screening at intake and before each visit.

A visit's re-check that finds something the intake did not (a new clot, a new anticoagulant)
also updates the episode's screening, so later visits start from what is now known; the
update is a new, audited intake row, never an edit of the old one. A re-check "no" where the
screening in force says "yes" lifts that finding only when the therapist confirms the lift;
a rule that needs a clearance (a clot) is never lifted by a "no".
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from strigil.core import catalog, safety, screening
from strigil.core.catalog import DoseCap
from strigil.core.safety import Caps
from strigil.core.screening import Answer, BloodPressure, ScreeningResult, ScreeningStatus
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
    """Answers from JSON-like input: ``{"A1": {"present": true, "regions": ["knee"]}}``;
    a measured rule takes ``{"systolic": 150, "diastolic": 90}`` or ``{"present": false,
    "measured": false}``."""
    answers: dict[str, Answer] = {}
    for rule_id, value in raw.items():
        if isinstance(value, bool):
            answers[rule_id] = Answer(present=value)
            continue
        if isinstance(value, Mapping) and ("systolic" in value or "diastolic" in value):
            answers[rule_id] = _parse_reading(rule_id, value)
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
        measured = value.get("measured")
        if measured is not None and not isinstance(measured, bool):
            raise InvalidInput(
                f"measured of {rule_id} must be true or false",
                field=f"answers.{rule_id}.measured",
                code="answer_shape",
            )
        answers[rule_id] = Answer(value["present"], tuple(regions), measured=measured)
    return answers


def _parse_reading(rule_id: str, value: Mapping[str, Any]) -> Answer:
    """A reading decides the answer, so a yes/no beside it would be a second, conflicting one."""
    if "present" in value or value.get("measured") is False:
        raise InvalidInput(
            f"answer {rule_id} with a reading or with present/measured: false, not both",
            field=f"answers.{rule_id}",
            code="answer_shape",
        )
    numbers = []
    for name in ("systolic", "diastolic"):
        number = value.get(name)
        if isinstance(number, bool) or not isinstance(number, int):
            raise InvalidInput(
                f"{name} blood pressure of {rule_id} must be a whole number of mmHg",
                field=f"answers.{rule_id}.{name}",
                code="invalid_reading",
            )
        numbers.append(number)
    return Answer(False, reading=BloodPressure(*numbers), measured=True)


@dataclass(frozen=True)
class InForce:
    """A rule's answer in the screening in force, and since when it has said so."""

    rule_id: str
    present: bool
    regions: tuple[str, ...]
    since: datetime | None
    source: str  # "intake" or "screening update"
    flagged_by: tuple[str, ...] = ()
    reading: BloodPressure | None = None


def in_force(session: Session, episode: Episode) -> dict[str, InForce]:
    """Each rule's answer in the newest intake screening (a rule raised by the record counts
    as "yes"), dated from the oldest screening in the unbroken run that says the same."""
    rows = [
        r
        for r in store.list_screenings_in_force(session, episode.clinic_id, episode.id, None)
        if r.kind == "intake"
    ]
    if not rows:
        return {}
    newest, flags = rows[0], rows[0].result.get("flagged_rules") or {}
    out = {}
    for rule in catalog.screening_rules():
        answer = answer_of(newest.answers.get(rule.id))
        present = answer.present or rule.id in flags
        run = _run(rows, rule.id, present)
        out[rule.id] = InForce(
            rule_id=rule.id,
            present=present,
            regions=answer.regions,
            since=run.screened_at,
            source="intake" if run is rows[-1] else "screening update",
            flagged_by=tuple(flags.get(rule.id, ())),
            reading=answer.reading,
        )
    return out


def _run(rows: Sequence[Screening], rule_id: str, present: bool) -> Screening:
    """The oldest row of the newest unbroken run of rows giving the same answer."""
    first = rows[0]
    for row in rows:
        said = answer_of(row.answers.get(rule_id)).present
        if (said or rule_id in (row.result.get("flagged_rules") or {})) != present:
            break
        first = row
    return first


def answer_of(raw: Mapping[str, Any] | None) -> Answer:
    """An answer as stored in a screening row (older rows hold only present and regions)."""
    if not raw:
        return Answer(False)
    reading = raw.get("reading")
    bp = BloodPressure(reading["systolic"], reading["diastolic"]) if reading else None
    return Answer(bool(raw["present"]), tuple(raw.get("regions", ())), bp, raw.get("measured"))


def answer_json(answer: Answer) -> dict[str, Any]:
    """An answer as a screening row stores it; a reading keeps its numbers."""
    data: dict[str, Any] = {"present": answer.present, "regions": list(answer.regions)}
    if answer.reading is not None:
        data["reading"] = asdict(answer.reading)
    if answer.measured is not None:
        data["measured"] = answer.measured
    return data


def recheck_prefill(forced: Mapping[str, InForce]) -> dict[str, Answer]:
    """Today's re-check starts from the answers in force, never from a blank "no"."""
    return {
        r.id: Answer(forced[r.id].present, forced[r.id].regions)
        for r in screening.visit_recheck_rules()
        if r.id in forced and r.reading is None
    }


DERIVED_DOSE = "See the visit's re-check."


@dataclass(frozen=True, slots=True)
class Standing:
    """The precaution reasoning last written for an episode, offered at the next re-check."""

    reasoning: str
    dose_modification: str
    rule_ids: frozenset[str]
    screened_at: datetime
    screening_id: uuid.UUID


def standing(session: Session, episode: Episode) -> Standing | None:
    """The newest reasoning and dose change a therapist wrote for this episode's precautions
    (an intake updated from a visit's re-check repeats older words or none of its own)."""
    rows = store.list_reasoned_screenings(session, episode.clinic_id, episode.id)
    row = next((r for r in rows if not _derived(r)), None)
    if row is None:
        return None
    return Standing(
        reasoning=row.reasoning or "",
        dose_modification=row.dose_modification or "",
        rule_ids=_precaution_ids(row.result),
        screened_at=row.screened_at,
        screening_id=row.external_id,
    )


def _derived(row: Screening) -> bool:
    return "derived_from_visit" in row.result or row.dose_modification == DERIVED_DOSE


def _precaution_ids(result: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(p["rule_id"] for p in result.get("precautions") or ())


def _carried(
    session: Session,
    episode: Episode,
    result: ScreeningResult,
    reasoning: str | None,
    dose: str | None,
) -> Standing | None:
    """The standing reasoning when today's re-check repeats it word for word; refused when the
    precautions it was written for no longer cover today's (the screening changed)."""
    before = standing(session, episode)
    same = before is not None and (reasoning or "").strip() == before.reasoning.strip()
    if before is None or not same or (dose or "").strip() != before.dose_modification.strip():
        return None
    new = sorted({p.rule_id for p in result.precautions} - before.rule_ids)
    if new:
        raise InvalidInput(
            f"the precautions changed since this reasoning was written (new: {', '.join(new)}); "
            "write the reasoning for today",
            field="reasoning",
            code="reasoning_outdated",
        )
    return before


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
    lifts: Iterable[str] = (),
    thresholds: catalog.Thresholds | None = None,
) -> Screening:
    """Evaluate and store a screening; relative rules demand reasoning and a dose change.

    At intake every rule is asked; before a visit the rules that can change are, and a
    measured rule (blood pressure) is decided by today's reading. The patient's age is
    recorded with it (a minor raises a precaution). ``cap_*`` set a stricter dose than the
    catalogue's caps. ``lifts`` confirms re-check "no" answers that contradict the screening
    in force; each lifts that finding in a new, audited screening.

    Raises:
        InvalidInput: an unanswered rule, a local rule without regions, a region or side that
            does not exist, a cap off the scale, missing reasoning, a reading out of range or
            missing at a re-check, an unconfirmed lift, a "no" to a rule that needs a clearance.
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
    rules = screening.visit_recheck_rules() if kind == "visit" else catalog.screening_rules()
    limits = thresholds or catalog.thresholds()
    answers = screening.read_measurements(answers, rules, limits, require=kind == "visit")
    lifted = _check_lifts(session, episode, answers, tuple(lifts)) if kind == "visit" else ()
    result = screening.evaluate(
        answers,
        rules=rules,
        problem_codes=tuple(problem_codes),
        drug_classes=tuple(drug_classes),
        age_years=age,
        therapist_cap=cap,
    )
    screening.require_reasoning(result, reasoning, dose_modification)
    carried = None
    if kind == "visit":
        carried = _carried(session, episode, result, reasoning, dose_modification)
    row = _store(session, actor, episode, answers, result, kind, visit, age)
    if carried is not None and result.precautions:
        row.result = {**row.result, "reasoning_carried_from": str(carried.screening_id)}
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
        _update_intake(session, actor, episode, answers, visit, lifted)
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
        answers={k: answer_json(a) for k, a in answers.items()},
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


def _check_lifts(
    session: Session, episode: Episode, answers: Mapping[str, Answer], lifts: tuple[str, ...]
) -> tuple[str, ...]:
    """The findings in force that today's confirmed "no" answers lift.

    Raises:
        InvalidInput: a lift without a contradicting "no", a "no" to a rule that only a
            clearance lifts, or a contradicting "no" without its confirmation.
    """
    forced = in_force(session, episode)
    held = {k: Answer(v.present, v.regions) for k, v in forced.items()}
    contradictions = screening.contradicted(answers, held)
    stray = [r for r in lifts if r not in contradictions]
    if stray:
        raise InvalidInput(
            f"nothing to lift for {', '.join(stray)}: lift a finding only when it is in force "
            "and today's answer is No",
            field="lift",
            code="nothing_to_lift",
        )
    for rule_id in contradictions:
        rule = catalog.screening_rule(rule_id)
        if rule.clearance_required:
            raise InvalidInput(
                f"{rule_id} {rule.title} is in force ({_since(forced[rule_id])}): a re-check No "
                "does not lift it. Answer Yes; a clearance (who cleared, when, note) lifts the "
                "whole-patient stop, and the limb stays blocked.",
                field=f"answers.{rule_id}",
                code="clearance_required",
            )
    unconfirmed = [r for r in contradictions if r not in lifts]
    if unconfirmed:
        named = "; ".join(
            f"{r} {catalog.screening_rule(r).title} ({_since(forced[r])})" for r in unconfirmed
        )
        raise InvalidInput(
            f"Today's No contradicts the screening in force for {named}: confirm the lift, "
            "or answer Yes",
            field=f"answers.{unconfirmed[0]}",
            code="lift_unconfirmed",
            extra={"unconfirmed": unconfirmed},
        )
    return contradictions


def _since(forced: InForce) -> str:
    when = f" on {forced.since.date().isoformat()}" if forced.since else ""
    return f"recorded at {forced.source}{when}"


def _update_intake(
    session: Session,
    actor: Actor,
    episode: Episode,
    answers: Mapping[str, Answer],
    visit: Visit,
    lifted: tuple[str, ...] = (),
) -> None:
    """Carry new findings into, and confirmed lifts out of, a new intake screening (audited)."""
    intake = latest(session, episode, "intake")
    if intake is None:
        return
    merged = {k: answer_of(v) for k, v in intake.answers.items()}
    flagged = intake.result.get("flagged_rules") or {}
    known = {k: Answer(True, v.regions) if k in flagged else v for k, v in merged.items()}
    changed = [rule_id for rule_id, answer in answers.items() if _new(answer, known.get(rule_id))]
    if not changed and not lifted:
        return
    for rule_id in changed:
        old, today = merged.get(rule_id, Answer(False)), answers[rule_id]
        regions = tuple(dict.fromkeys(old.regions + today.regions))
        merged[rule_id] = Answer(True, regions, today.reading, today.measured)
    for rule_id in lifted:
        merged[rule_id] = answers[rule_id]
    _store_update(session, actor, episode, intake, merged, visit, changed, lifted)


def _new(today: Answer, before: Answer | None) -> bool:
    """Whether today's answer reports something the intake did not."""
    if not today.present:
        return False
    return before is None or not before.present or not set(today.regions) <= set(before.regions)


def _carried_flags(intake: Screening, lifted: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Problem codes and drug classes that raised rules at intake, less those behind a lift
    (the therapist confirmed, say, that the anticoagulant has stopped)."""
    flags: dict[str, list[str]] = intake.result.get("flagged_rules") or {}
    dropped = {hit for rule_id in lifted for hit in flags.get(rule_id, ())}
    hits = {hit for rule_id, found in flags.items() for hit in found} - dropped
    drugs = {d.code for d in catalog.drug_classes()}
    codes = sorted(h for h in hits if h not in drugs and not h.startswith("age "))
    return codes, sorted(hits & drugs)


def _store_update(
    session: Session,
    actor: Actor,
    episode: Episode,
    intake: Screening,
    merged: Mapping[str, Answer],
    visit: Visit,
    changed: list[str],
    lifted: tuple[str, ...],
) -> None:
    complete = {r.id: merged.get(r.id, Answer(False)) for r in catalog.screening_rules()}
    codes, drugs = _carried_flags(intake, lifted)
    result = screening.evaluate(
        complete,
        problem_codes=codes,
        drug_classes=drugs,
        age_years=intake.patient_age_years,
        therapist_cap=_therapist_cap(intake),
    )
    row = _store(
        session, actor, episode, complete, result, "intake", None, intake.patient_age_years
    )
    if "therapist_cap" in intake.result:
        row.result = {**row.result, "therapist_cap": intake.result["therapist_cap"]}
    said = [f"new {', '.join(changed)}"] * bool(changed) + [f"lifted {', '.join(lifted)}"] * bool(
        lifted
    )
    reason = f"updated from the re-check of visit {visit.number}: {'; '.join(said)}"
    row.reasoning = intake.reasoning or reason
    row.dose_modification = intake.dose_modification or DERIVED_DOSE
    row.result = {**row.result, "derived_from_visit": str(visit.external_id)}
    session.flush()
    detail = {
        "changed_rules": changed,
        "lifted_rules": list(lifted),
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
