"""A demo episode's intake: screening evaluated by the core rules, clearance and consent.

Most demo patients screen clear; some take an anticoagulant (a dose cap), some report
discomfort unreliably (a precaution and a cap), a few had a clot in the other leg that a
clinician has cleared (that leg stays blocked), and a few are minors who consent through a
parent. The result stored is what ``core.screening.evaluate`` gives for those answers.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from strigil.core import catalog, consent, screening
from strigil.core.catalog import ScreeningRule
from strigil.core.screening import Answer, BloodPressure, ScreeningResult
from strigil.demo.rows import Batch, Ids, meta, new_uuid
from strigil.services.screenings import answer_json, result_json

ANTICOAGULANT_SHARE = 0.12
LIMITED_REPORTING_SHARE = 0.03
CLEARED_CLOT_SHARE = 0.05  # of one-sided lower-limb episodes
GUARDIANS = (("mother", "Parent"), ("father", "Parent"), ("legal guardian", "Guardian"))


@dataclass(frozen=True, slots=True)
class Intake:
    """What the intake found and what it allows at every visit."""

    answers: dict[str, Answer]
    drug_classes: tuple[str, ...]
    result: ScreeningResult
    effective: ScreeningResult
    cleared_clot: bool
    age: int
    recheck_rules: tuple[ScreeningRule, ...]
    in_force: dict[str, Answer]  # the re-check rules' answers in force, as the form pre-fills
    in_force_json: dict[str, dict[str, Any]]  # the same, as a screening row stores them


def draw(rng: random.Random, *, age: int, side: str, region: str | None) -> Intake:
    """Answers for one patient, evaluated by the screening rules."""
    answers = {r.id: Answer(False) for r in catalog.screening_rules()}
    drugs = ("anticoagulant",) if rng.random() < ANTICOAGULANT_SHARE else ()
    if rng.random() < LIMITED_REPORTING_SHARE:
        answers["P2"] = Answer(True)
    lower = region is not None and catalog.body_region(region).limb == "lower_limb"
    clot = side in ("left", "right") and lower and rng.random() < CLEARED_CLOT_SHARE
    if clot:
        other = "left" if side == "right" else "right"
        answers["A3"] = Answer(True, (f"lower_leg_ankle:{other}",))
    if age < (catalog.screening_rule("P3").age_under or 0):
        answers["P3"] = Answer(True)
    result = screening.evaluate(answers, drug_classes=drugs, age_years=age)
    effective = screening.clear(result, {"A3"}) if clot else result
    rules = screening.visit_recheck_rules()
    in_force = _in_force(answers, result, rules)
    stored = {k: answer_json(a) for k, a in in_force.items()}
    return Intake(answers, drugs, result, effective, clot, age, rules, in_force, stored)


def screening_row(
    intake: Intake, rng: random.Random, ids: dict[str, int], when: datetime
) -> dict[str, Any]:
    """The intake screening row, its result as the services would store it."""
    reasons = intake.result.needs_reasoning
    answers = {
        k: {"present": a.present, "regions": list(a.regions)} for k, a in intake.answers.items()
    }
    return _row(rng, ids, when, None, answers, result_json(intake.result)) | {
        "reasoning": "Precautions discussed; dose reduced as capped." if reasons else None,
        "dose_modification": "Gentle strokes within the capped time." if reasons else None,
        "patient_age_years": intake.age,
    }


def recheck_row(
    intake: Intake,
    rng: random.Random,
    ids: dict[str, int],
    visit_id: int,
    when: datetime,
    limits: catalog.Thresholds,
) -> dict[str, Any]:
    """Today's re-check at the start of an IASTM visit: the answers in force (as the form
    pre-fills them) and a blood pressure reading under the clinic's limits."""
    today = intake.in_force | {BP_RULE: Answer(False, reading=_reading(rng, limits))}
    answers = screening.read_measurements(today, intake.recheck_rules, limits, require=True)
    result = _recheck_result(tuple(sorted((k, a.present, a.regions) for k, a in answers.items())))
    # Only today's reading differs from visit to visit; the answers in force were stored once.
    stored = intake.in_force_json | {BP_RULE: answer_json(answers[BP_RULE])}
    row = _row(rng, ids, when, visit_id, stored, result)
    if result["precautions"]:
        row |= {
            "reasoning": "Precautions unchanged since intake; dose kept within the cap.",
            "dose_modification": "Gentle strokes within the capped time.",
        }
    return row


BP_RULE = next(r.id for r in screening.visit_recheck_rules() if r.reading)


def _in_force(
    answers: dict[str, Answer],
    result: ScreeningResult,
    rules: tuple[ScreeningRule, ...],
) -> dict[str, Answer]:
    """The re-check rules' answers in force: a rule the record raised counts as yes."""
    return {
        r.id: Answer(True, answers[r.id].regions) if r.id in result.flagged_rules else answers[r.id]
        for r in rules
    }


def _reading(rng: random.Random, limits: catalog.Thresholds) -> BloodPressure:
    """A synthetic reading below both limits, so every demo IASTM visit may go ahead."""
    systolic = rng.randint(102, min(168, limits.bp_systolic_limit - 1))
    diastolic = rng.randint(62, min(98, limits.bp_diastolic_limit - 1, systolic - 25))
    return BloodPressure(systolic, diastolic)


@functools.cache
def _recheck_result(key: tuple[tuple[str, bool, tuple[str, ...]], ...]) -> dict[str, Any]:
    """The result depends only on which rules are present where, so it is worked out once."""
    answers = {rule_id: Answer(present, regions) for rule_id, present, regions in key}
    return result_json(screening.evaluate(answers, rules=screening.visit_recheck_rules()))


def _row(
    rng: random.Random,
    ids: dict[str, int],
    when: datetime,
    visit_id: int | None,
    answers: dict[str, Any],
    result: dict[str, Any],
) -> dict[str, Any]:
    """A screening row: an intake one (no visit) or a visit's re-check."""
    return {
        "id": ids["id"],
        "external_id": new_uuid(rng),
        "clinic_id": ids["clinic"],
        "patient_id": ids["patient"],
        "episode_id": ids["episode"],
        "visit_id": visit_id,
        "kind": "intake" if visit_id is None else "visit",
        "rule_set_version": catalog.catalog_versions()["screening_rules.json"],
        "answers": answers,
        "result_status": result["status"],
        "result": result,
        "reasoning": None,
        "dose_modification": None,
        "screened_by_id": ids["therapist"],
        "screened_at": when,
        "patient_age_years": None,
        **meta(when, versioned=False),
    }


def clearance_row(rng: random.Random, ids: dict[str, int], when: datetime) -> dict[str, Any]:
    """A clinician's clearance of a treated clot, recorded before the first visit."""
    return {
        "id": ids["id"],
        "external_id": new_uuid(rng),
        "clinic_id": ids["clinic"],
        "patient_id": ids["patient"],
        "episode_id": ids["episode"],
        "rule_id": "A3",
        "cleared_by": "Dr. Demo Vascular (synthetic)",
        "cleared_at": when - timedelta(days=2),
        "note": "Clot treated and stable; IASTM away from the affected leg only.",
        "recorded_by_id": ids["therapist"],
        **meta(when, versioned=False),
    }


def consent_row(
    intake: Intake, rng: random.Random, ids: dict[str, int], title: str, when: datetime
) -> dict[str, Any]:
    """Granted consent on the exact text; a parent or guardian decides for a minor."""
    caps = intake.result.caps
    text = _consent_text(title, intake.result.applied_rules, caps.intensity, caps.seconds)
    guardian = rng.choice(GUARDIANS) if "P3" in intake.result.applied_rules else None
    return {
        "id": ids["id"],
        "external_id": new_uuid(rng),
        "clinic_id": ids["clinic"],
        "patient_id": ids["patient"],
        "episode_id": ids["episode"],
        "decision": "granted",
        "text_version": text.version,
        "text_sha256": text.sha256,
        "text": text.text,
        "recorded_by_id": ids["therapist"],
        "decided_at": when,
        "withdrawn_at": None,
        "sequence": 1,
        "guardian_name": f"{guardian[1]} of the patient (synthetic)" if guardian else None,
        "guardian_relationship": guardian[0] if guardian else None,
        **meta(when, versioned=False),
    }


@functools.cache
def _consent_text(
    condition_title: str, rules: tuple[str, ...], intensity: str | None, seconds: int | None
) -> consent.ConsentText:
    """The consent text tailored to the intake, as the consent service builds it."""
    return consent.build_consent_text(
        condition_title,
        "IASTM with active motion and exercise",
        precautions=consent.precaution_sentences(rules),
        dose=consent.dose_sentence(intensity, seconds),
    )


def add_intake(
    batch: Batch,
    intake: Intake,
    rng: random.Random,
    ids: Ids,
    keys: dict[str, int],
    title: str,
    when: datetime,
) -> None:
    """The intake's rows: screening, any clearance, consent (``keys``: clinic, patient,
    episode and therapist ids)."""
    batch.add("screening", screening_row(intake, rng, keys | {"id": ids.take("screening")}, when))
    if intake.cleared_clot:
        own = keys | {"id": ids.take("screening_clearance")}
        batch.add("screening_clearance", clearance_row(rng, own, when))
    own = keys | {"id": ids.take("consent")}
    batch.add("consent", consent_row(intake, rng, own, title, when))
