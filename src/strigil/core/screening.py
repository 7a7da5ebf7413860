"""Screening: decide where IASTM may be given today, and on what terms.

Why: IASTM scrapes skin and loads tissue, so some conditions forbid it (absolute rules) and
others allow it only with a reasoned, reduced dose (relative rules; S1-S5, S21, S51). Local
rules exclude only the affected body region; systemic rules concern the
whole patient. Medication and skin rules are asked again at every visit, because both change
("before each session re-examine skin", S19).

How a rule comes to apply:

* the clinician answers its question ``present=True`` (local rules must name the regions,
  each optionally with its side: ``"lower_leg_ankle:left"``), or
* the problem list holds an ICD-10-CM code under one of the rule's prefixes (``I82.401`` flags
  A3), or the medication list holds one of its drug classes (anticoagulant flags R1), or
  the patient's age is under the rule's age limit (P3, a minor).

Each rule's extent says how far a block reaches (``core.safety``): a clot closes the whole
limb on its side, and the whole patient until a clinician's clearance is recorded. Relative
rules may cap intensity and time per area; the strictest cap applies.

A rule flagged from the record counts as present whatever the answer says: the record is
evidence the clinician must reconcile, not something a "no" silently hides. A flagged *local*
rule still needs the affected regions, so evaluation refuses until they are recorded. Every
rule being evaluated must be answered: an unanswered question is not a "no".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from strigil.core import catalog, safety
from strigil.core.catalog import DoseCap, Scope, ScreeningRule, Severity
from strigil.core.safety import Caps
from strigil.errors import InvalidInput

__all__ = [
    "Answer",
    "BloodPressure",
    "Precaution",
    "ScreeningResult",
    "ScreeningStatus",
    "check_region",
    "clear",
    "contradicted",
    "evaluate",
    "read_measurements",
    "require_reasoning",
    "visit_recheck_rules",
]


class ScreeningStatus(StrEnum):
    """Overall outcome, from least to most restrictive."""

    CLEAR = "clear"
    PRECAUTIONS = "precautions"
    BLOCKED_REGIONS = "blocked_regions"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class BloodPressure:
    """A blood pressure reading in mmHg."""

    systolic: int
    diastolic: int


@dataclass(frozen=True)
class Answer:
    """The clinician's answer to one rule's question; ``regions`` are body-region codes.

    A rule answered from a measurement (A9) carries the ``reading``, or ``measured=False``
    when it was explicitly not measured and the yes/no is the clinician's judgement.
    """

    present: bool
    regions: tuple[str, ...] = ()
    reading: BloodPressure | None = None
    measured: bool | None = None


@dataclass(frozen=True)
class Precaution:
    """A relative rule that applies: treat only with reasoning and a dose modification."""

    rule_id: str
    title: str
    reason: str
    regions: tuple[str, ...] = ()  # empty for systemic rules
    flagged_by: tuple[str, ...] = ()  # problem codes or drug classes that raised it


@dataclass(frozen=True)
class ScreeningResult:
    """What the screening allows; ``blocked_regions`` maps region code → reasons."""

    status: ScreeningStatus
    blocked_regions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    systemic_blocks: tuple[str, ...] = ()
    precautions: tuple[Precaution, ...] = ()
    flagged_rules: dict[str, tuple[str, ...]] = field(default_factory=dict)
    applied_rules: tuple[str, ...] = ()
    rules_version: str = ""
    clearance_pending: dict[str, str] = field(default_factory=dict)
    caps: Caps = field(default_factory=Caps)

    @property
    def needs_reasoning(self) -> bool:
        """True when relative rules apply, so reasoning and a dose modification are required."""
        return bool(self.precautions)


def visit_recheck_rules() -> tuple[ScreeningRule, ...]:
    """Rules asked again at every visit: medications and skin can change between visits."""
    return tuple(r for r in catalog.screening_rules() if r.revisit_each_visit)


# ---------------------------------------------------------------------------------------------
# input checks


def _check_answers(answers: Mapping[str, Answer], rules: Sequence[ScreeningRule]) -> None:
    known = {r.id for r in catalog.screening_rules()}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise InvalidInput(
            f"unknown screening rule(s): {', '.join(unknown)}", code="unknown_rule", field="answers"
        )
    missing = [r.id for r in rules if r.id not in answers]
    if missing:
        raise InvalidInput(
            f"screening is incomplete; answer: {', '.join(missing)}",
            code="screening_incomplete",
            field="answers",
            extra={"missing": missing},
        )
    for rule in rules:
        _check_regions(rule, answers[rule.id])


def _check_regions(rule: ScreeningRule, answer: Answer) -> None:
    if not isinstance(answer, Answer):
        raise InvalidInput(
            f"answer for {rule.id} is malformed", code="invalid_answer", field=f"answers.{rule.id}"
        )
    for region in answer.regions:
        safety.parse_region_key(region, f"answers.{rule.id}.regions")
    if answer.present and rule.scope is Scope.LOCAL and not answer.regions:
        raise _region_required(rule, "is marked present")


def _region_required(rule: ScreeningRule, why: str) -> InvalidInput:
    return InvalidInput(
        f"{rule.id} ({rule.title}) {why}: name the affected body region(s)",
        code="region_required",
        field=f"answers.{rule.id}.regions",
    )


def _check_drug_classes(drug_classes: Iterable[str]) -> frozenset[str]:
    known = {d.code for d in catalog.drug_classes()}
    given = frozenset(drug_classes)
    unknown = sorted(given - known)
    if unknown:
        raise InvalidInput(
            f"unknown drug class(es): {', '.join(unknown)}",
            code="unknown_drug_class",
            field="drug_classes",
        )
    return given


# ---------------------------------------------------------------------------------------------
# measurements

SYSTOLIC_RANGE = (50, 300)  # plausible mmHg; outside these a reading is a typing error
DIASTOLIC_RANGE = (30, 200)


def read_measurements(
    answers: Mapping[str, Answer],
    rules: Sequence[ScreeningRule],
    limits: catalog.Thresholds,
    *,
    require: bool,
) -> dict[str, Answer]:
    """Answers with measured rules decided by their reading against the clinic's limits.

    With ``require`` (the per-visit re-check) a measured rule needs a reading or an explicit
    ``measured=False``; a plain yes/no could hide that nobody took the pressure today. An
    answer marked measured needs its numbers everywhere.
    """
    out = dict(answers)
    for rule in rules:
        answer = answers.get(rule.id)
        if rule.reading is None or answer is None:
            continue
        if answer.reading is not None:
            out[rule.id] = replace(answer, present=_over_limit(answer.reading, limits, rule.id))
        elif answer.measured is True or (require and answer.measured is not False):
            raise InvalidInput(
                f"{rule.id} ({rule.title}): record today's blood pressure (systolic and "
                "diastolic, mmHg) or say that it was not measured",
                code="reading_required",
                field=f"answers.{rule.id}.systolic",
            )
    return out


def _over_limit(bp: BloodPressure, limits: catalog.Thresholds, rule_id: str) -> bool:
    _check_reading(bp, rule_id)
    return bp.systolic >= limits.bp_systolic_limit or bp.diastolic >= limits.bp_diastolic_limit


def _check_reading(bp: BloodPressure, rule_id: str) -> None:
    for name, value, (low, high) in (
        ("systolic", bp.systolic, SYSTOLIC_RANGE),
        ("diastolic", bp.diastolic, DIASTOLIC_RANGE),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(
                f"{name} blood pressure must be a whole number from {low} to {high} mmHg",
                code="invalid_reading",
                field=f"answers.{rule_id}.{name}",
            )
    if bp.systolic <= bp.diastolic:
        raise InvalidInput(
            "systolic blood pressure must be higher than diastolic",
            code="invalid_reading",
            field=f"answers.{rule_id}.systolic",
        )


def contradicted(today: Mapping[str, Answer], in_force: Mapping[str, Answer]) -> tuple[str, ...]:
    """Rules in force (present) that today's answers say are absent: a silent "no" must not
    lift a precaution, so the caller asks for confirmation or a clearance."""
    return tuple(
        rule_id
        for rule_id, answer in today.items()
        if not answer.present and rule_id in in_force and in_force[rule_id].present
    )


# ---------------------------------------------------------------------------------------------
# evaluation


def _flags(
    rule: ScreeningRule, problem_codes: Sequence[str], drugs: frozenset[str], age: int | None
) -> tuple[str, ...]:
    """Problem-list codes, drug classes and the patient's age that raise this rule."""
    prefixes = [p.replace(".", "") for p in rule.icd10_prefixes]
    codes = [c for c in problem_codes if any(c.replace(".", "").startswith(p) for p in prefixes)]
    young = (f"age {age}",) if age is not None and rule.age_under and age < rule.age_under else ()
    return tuple(codes) + tuple(d for d in rule.drug_classes if d in drugs) + young


def _reason(rule: ScreeningRule) -> str:
    return f"{rule.id} {rule.title}: {rule.rationale}"


@dataclass
class _Tally:
    """What the rules found so far, while evaluating."""

    blocked: dict[str, list[str]] = field(default_factory=dict)
    systemic: list[str] = field(default_factory=list)
    precautions: list[Precaution] = field(default_factory=list)
    flagged: dict[str, tuple[str, ...]] = field(default_factory=dict)
    applied: list[str] = field(default_factory=list)
    clearance: dict[str, str] = field(default_factory=dict)
    caps: list[tuple[str, DoseCap]] = field(default_factory=list)

    def add(self, rule: ScreeningRule, answer: Answer, hits: tuple[str, ...]) -> None:
        """Record one rule that applies: a precaution, a systemic block or regional blocks."""
        regions = answer.regions if rule.scope is Scope.LOCAL else ()
        if rule.severity is Severity.RELATIVE:
            self.precautions.append(Precaution(rule.id, rule.title, _reason(rule), regions, hits))
            if rule.cap is not None:
                self.caps.append((f"{rule.id} {rule.title}", rule.cap))
        elif rule.scope is Scope.SYSTEMIC:
            self.systemic.append(_reason(rule))
        else:
            for key in safety.block_keys(rule, regions):
                self.blocked.setdefault(key, []).append(_reason(rule))
        if rule.clearance_required:
            self.clearance[rule.id] = f"{_reason(rule)} Record a clearance before IASTM."
        self.applied.append(rule.id)


def evaluate(
    answers: Mapping[str, Answer],
    *,
    rules: Sequence[ScreeningRule] | None = None,
    problem_codes: Iterable[str] = (),
    drug_classes: Iterable[str] = (),
    age_years: int | None = None,
    therapist_cap: DoseCap | None = None,
) -> ScreeningResult:
    """Apply the rules to the answers and the patient's record.

    ``rules`` defaults to the whole rule set; pass ``visit_recheck_rules()`` for the per-visit
    re-check. Answers for rules outside ``rules`` are ignored (but must name real rules).
    ``therapist_cap`` is a stricter dose the therapist sets on top of the catalogue's caps.
    """
    active = tuple(catalog.screening_rules() if rules is None else rules)
    _check_answers(answers, active)
    drugs = _check_drug_classes(drug_classes)
    codes = tuple(c.strip().upper() for c in problem_codes)
    tally = _Tally()
    for rule in active:
        answer, hits = answers[rule.id], _flags(rule, codes, drugs, age_years)
        if hits:
            tally.flagged[rule.id] = hits
        if rule.scope is Scope.LOCAL and hits and not answer.present:
            raise _region_required(rule, f"is flagged by {', '.join(hits)}")
        if answer.present or hits:
            tally.add(rule, answer, hits)
    if therapist_cap is not None:
        tally.caps.append(("the therapist's dose modification", therapist_cap))
    return ScreeningResult(
        status=_status(tally.blocked, [*tally.systemic, *tally.clearance], tally.precautions),
        blocked_regions={k: tuple(v) for k, v in sorted(tally.blocked.items())},
        systemic_blocks=tuple(tally.systemic),
        precautions=tuple(tally.precautions),
        flagged_rules=tally.flagged,
        applied_rules=tuple(tally.applied),
        rules_version=catalog.catalog_versions()["screening_rules.json"],
        clearance_pending=dict(tally.clearance),
        caps=safety.combine_caps(tally.caps),
    )


def clear(result: ScreeningResult, cleared_rules: Iterable[str]) -> ScreeningResult:
    """The result once clearances are recorded: cleared rules no longer block the patient."""
    pending = {k: v for k, v in result.clearance_pending.items() if k not in set(cleared_rules)}
    status = result.status
    if status is ScreeningStatus.BLOCKED and not result.systemic_blocks and not pending:
        status = _status(
            {k: list(v) for k, v in result.blocked_regions.items()}, [], result.precautions
        )
    return replace(result, clearance_pending=pending, status=status)


def _status(
    blocked: Mapping[str, list[str]], systemic: Sequence[str], precautions: Sequence[Precaution]
) -> ScreeningStatus:
    if systemic:
        return ScreeningStatus.BLOCKED
    if blocked:
        return ScreeningStatus.BLOCKED_REGIONS
    if precautions:
        return ScreeningStatus.PRECAUTIONS
    return ScreeningStatus.CLEAR


# ---------------------------------------------------------------------------------------------
# guards used while treating


def check_region(result: ScreeningResult, region: str, side: str = "bilateral") -> None:
    """Refuse treatment of ``region`` on ``side`` when screening blocks it or the patient."""
    label = catalog.body_region(region).label.lower()
    whole = result.systemic_blocks + tuple(result.clearance_pending.values())
    reasons = whole or safety.blocking_reasons(result.blocked_regions, region, side)
    if reasons:
        scope = "the patient" if whole else f"the {label} (region {region}, {side})"
        raise InvalidInput(
            f"IASTM is contraindicated for {scope}: {'; '.join(reasons)}",
            code="region_blocked",
            field="body_site",
        )


def require_reasoning(
    result: ScreeningResult, reasoning: str | None, dose_modification: str | None
) -> None:
    """When relative rules apply, insist on written reasoning and a dose modification (C2)."""
    if not result.needs_reasoning:
        return
    ids = ", ".join(p.rule_id for p in result.precautions)
    for name, text in (("reasoning", reasoning), ("dose_modification", dose_modification)):
        if not (text or "").strip():
            label = name.replace("_", " ")
            raise InvalidInput(
                f"precautions apply ({ids}): record the clinical {label}",
                code="reasoning_required",
                field=name,
            )
