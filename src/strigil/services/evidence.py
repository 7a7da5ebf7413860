"""The published evidence for pages and the API: studies, pooled comparisons, forest plots.

A thin layer over :mod:`strigil.evidence.studies`: it groups the bundled studies by comparison
and outcome, pools those with at least two usable trials, shows a single usable trial on its own
(never called "pooled"), and says plainly when no trial has numbers — listing what each study
reported instead. Forest plots are drawn once per
(comparison, outcome, method, test, evidence version) and kept in memory as SVG text, since the
evidence base only changes with a release. The sensitivity analyses of a comparison
(:mod:`strigil.evidence.robustness`) are cached the same way.
"""

from __future__ import annotations

import math
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strigil.errors import InvalidInput
from strigil.evidence import METHODS, TESTS
from strigil.evidence.grade import GradeTable, grade
from strigil.evidence.inputs import EvidenceInputError
from strigil.evidence.robustness import (
    QUANTILE_NAMES,
    SensitivityReport,
    TrimFillSummary,
    sensitivity_report,
)
from strigil.evidence.studies import (
    RANDOMISED,
    ROB2_DOMAINS,
    Arm,
    EvidenceBase,
    Pooled,
    Study,
    load_evidence,
    plain_language_summary,
    pool,
)
from strigil.evidence.studies import (
    ROB2_NAMES as ROB2_NAMES,
)
from strigil.evidence.trimfill import ESTIMATORS

if TYPE_CHECKING:
    from strigil.evidence.plots import ArmPair, ForestStyle

COMPARISON_LABELS = {
    "hands_on_mfr": "hands-on myofascial release or massage",
    "spinal_manipulation": "spinal manipulation",
    "sham": "a sham (placebo) treatment",
    "usual_care": "usual physiotherapy care",
    "mixed_controls": "a mix of other treatments",
    "other_treatment_alone": "the same other treatment without IASTM",
    "control": "a control group",
    "exercise": "exercise, stretching or advice without IASTM",
}
SHORT_LABELS = {"hands_on_mfr": "hands-on MFR/massage", "spinal_manipulation": "manipulation"}
OUTCOME_LABELS = {
    "pain": "pain",
    "function": "function",
    "rom": "range of motion",
    "strength": "strength",
    "pressure_pain_threshold": "pressure pain threshold",
}
DESIGN_LABELS = {
    "RCT": "randomised trial",
    "controlled_trial": "controlled trial, randomisation not stated",
    "within_subject_trial": "within-subject trial (one side each treatment)",
    "non_randomised_trial": "non-randomised trial",
    "meta_analysis": "meta-analysis",
    "systematic_review": "systematic review",
    "narrative_review": "narrative review",
}


def bundled() -> EvidenceBase:
    """The bundled evidence base (its version keys the plot cache)."""
    return load_evidence()


def design_label(code: str) -> str:
    """A design in words: "controlled trial, randomisation not stated" rather than a code."""
    return DESIGN_LABELS.get(code, code.replace("_", " "))


def comparison_label(code: str) -> str:
    return COMPARISON_LABELS.get(code, code.replace("_", " "))


def outcome_label(code: str) -> str:
    return OUTCOME_LABELS.get(code, code.replace("_", " "))


def short_ref(study: Study) -> str:
    """ "Surname et al. Year" from the citation's first author, for lists and plot labels."""
    if study.label:
        return study.label
    first = study.citation.split(",")[0].split(".")[0]
    surname = first.split(" et al")[0].split()[0] if first.split() else study.id
    year = f" {study.year}" if study.year else ""
    return f"{surname} et al.{year}"


@dataclass(frozen=True)
class Panel:
    """One comparison × outcome: pooled when k ≥ 2 usable trials, one trial shown on its own,
    or (none usable) the studies listed with the reason."""

    comparison: str
    outcome: str
    studies: tuple[Study, ...]
    pooled: Pooled | None
    grade: GradeTable
    summary: str | None
    reason: str | None
    sensitivity: SensitivityReport | None = None

    @property
    def certainty(self) -> str | None:
        return self.grade.certainty

    @property
    def comparison_text(self) -> str:
        return comparison_label(self.comparison)

    @property
    def outcome_text(self) -> str:
        return outcome_label(self.outcome)


def reported(study: Study) -> str | None:
    """What a study reported, in words, exactly as stored (``None`` when no number was read)."""
    if study.effect is not None:
        e = study.effect
        unit = f" {e.unit}" if e.unit else ""
        k = f", {e.k} trials" if e.k else ""
        return f"{e.measure} {e.estimate:g}{unit} ({e.ci_low:g} to {e.ci_high:g}){k}"
    a, c = study.iastm, study.control
    if a is None or c is None or a.mean is None or c.mean is None:
        return None
    change = study.measure is not None and "change" in study.measure.lower()
    when = "Change" if change else "After treatment"  # Kivlan 2015 reports % change per arm
    return f"{when}: IASTM {_arm(a)} vs comparison {_arm(c)}"


def _arm(arm: Arm) -> str:
    spread = f" ± {arm.sd:g}" if arm.sd is not None else " (SD not reported)"
    size = f", n = {arm.n}" if arm.n is not None else ""
    return f"{arm.mean:g}{spread}{size}"


def check_method(method: str, test: str) -> None:
    """Refuse an unknown estimator or test with a 422 naming the field."""
    if method not in METHODS:
        raise InvalidInput(
            f"method must be one of {', '.join(METHODS)}", field="method", code="unknown_method"
        )
    if test not in TESTS:
        raise InvalidInput(f"test must be one of {', '.join(TESTS)}", field="test", code="test")


def panels(method: str = "REML", test: str = "z") -> list[Panel]:
    """Every comparison × outcome named in the evidence base, primary trials first."""
    check_method(method, test)
    groups: dict[tuple[str, str], list[Study]] = defaultdict(list)
    for study in load_evidence().studies:
        if study.comparison and study.outcome:
            groups[(study.comparison, study.outcome)].append(study)
    ordered = sorted(groups.items(), key=lambda kv: (-_usable(kv[1]), kv[0]))
    return [_panel(c, o, tuple(ss), method, test) for (c, o), ss in ordered]


def _usable(studies: list[Study]) -> int:
    return sum(1 for s in studies if s.usable)


def _panel(
    comparison: str, outcome: str, group: tuple[Study, ...], method: str, test: str
) -> Panel:
    try:
        pooled = pool(outcome, comparison, method=method, test=test)
    except EvidenceInputError:
        trials = tuple(s for s in group if s.design in RANDOMISED)
        table = grade(comparison, outcome, trials, None)
        return Panel(comparison, outcome, group, None, table, None, _too_few(group))
    table = grade_of(pooled)
    summary = _summary(pooled, table)
    robust = None if pooled.single else sensitivity(comparison, outcome, method, test)
    return Panel(comparison, outcome, group, pooled, table, summary, None, robust)


def grade_of(pooled: Pooled) -> GradeTable:
    """The GRADE table of a pooled comparison (or of its single trial)."""
    return grade(pooled.comparison, pooled.outcome, pooled.studies, pooled.result)


def _summary(pooled: Pooled, table: GradeTable) -> str:
    label, outcome = comparison_label(pooled.comparison), outcome_label(pooled.outcome)
    return plain_language_summary(pooled.result, label, outcome, table.certainty or "very low")


def _too_few(group: tuple[Study, ...]) -> str:
    trials = sum(1 for s in group if s.design in RANDOMISED)
    if trials == 0:
        return (
            "There are no randomised trials with usable numbers here, so nothing is combined. "
            "What each study reported is listed below."
        )
    which = (
        "The only randomised trial here does not report"
        if trials == 1
        else f"None of the {trials} randomised trials here reports"
    )
    return (
        f"{which} numbers we could use, so nothing can be combined. "
        "What each study found is listed below."
    )


def _joined(values: list[str | None], missing: str) -> str:
    """Distinct values in order ("; "-joined): trials in one plot may use different scales."""
    seen = list(dict.fromkeys(v for v in values if v))
    return "; ".join(seen) if seen else missing


def forest_style(comparison: str, outcome: str, studies: tuple[Study, ...] = ()) -> ForestStyle:
    """Axis labels, title, outcome scale and time point of a forest plot (pages and CLI)."""
    from strigil.evidence.plots import ForestStyle  # matplotlib loads on demand

    scale = _joined([s.measure for s in studies], "scale not stated")
    better = {s.lower_is_better for s in studies}
    direction = "" if len(better) != 1 else (
        "; lower is better" if better.pop() else "; higher is better")  # fmt: skip
    return ForestStyle(
        xlabel="Standardised mean difference, Hedges' g (positive favours IASTM)",
        favours_left=f"Favours {SHORT_LABELS.get(comparison, comparison.replace('_', ' '))}",
        favours_right="Favours IASTM",
        title=f"IASTM vs {comparison_label(comparison)}: {outcome_label(outcome)}",
        outcome=f"{outcome_label(outcome)}, {scale}{direction}",
        timepoint=_joined([s.timepoint for s in studies], "not stated"),
        arm_labels=("IASTM", "Comparator"),
    )


def forest_arms(studies: tuple[Study, ...]) -> list[ArmPair | None]:
    """Per-arm mean, SD and n as stored (a study with a reported estimate has no arm row)."""
    from strigil.evidence.plots import ArmData

    rows: list[ArmPair | None] = []
    for s in studies:
        if s.effect is not None or s.iastm is None or s.control is None:
            rows.append(None)
            continue
        rows.append((ArmData(s.iastm.mean, s.iastm.sd, s.iastm.n),
                     ArmData(s.control.mean, s.control.sd, s.control.n)))  # fmt: skip
    return rows


def draw_forest(pooled: Pooled, path: Path) -> Path:
    """The forest plot of a pooled comparison, with per-arm columns, at ``path``."""
    from strigil.evidence.plots import forest_plot

    labels = [short_ref(s) for s in pooled.studies]
    style = forest_style(pooled.comparison, pooled.outcome, pooled.studies)
    return forest_plot(pooled.result, labels, path, style, forest_arms(pooled.studies))


@lru_cache(maxsize=64)
def _svg(comparison: str, outcome: str, method: str, test: str, version: str) -> str:  # noqa: ARG001
    """Draw the forest plot once per key; ``version`` invalidates it with a new evidence base."""
    pooled = pool(outcome, comparison, method=method, test=test)
    with tempfile.TemporaryDirectory() as tmp:
        return draw_forest(pooled, Path(tmp) / "forest.svg").read_text()


def forest_svg(comparison: str, outcome: str, method: str = "REML", test: str = "z") -> str:
    """The forest plot as SVG text; raises InvalidInput when the comparison cannot be pooled."""
    check_method(method, test)
    return _svg(comparison, outcome, method, test, load_evidence().version)


def study_json(study: Study) -> dict[str, Any]:
    """A study as plain data for the API (numbers exactly as stored; nulls stay null)."""
    arms = None
    if study.iastm is not None and study.control is not None:
        arms = {
            "iastm": vars(study.iastm),
            "control": vars(study.control),
            "lower_is_better": study.lower_is_better,
        }
    return {
        "id": study.id, "citation": study.citation, "year": study.year, "design": study.design,
        "condition": study.condition, "intervention": study.intervention,
        "comparison": study.comparison, "outcome": study.outcome, "measure": study.measure,
        "timepoint": study.timepoint, "doi": study.doi, "registry": study.registry,
        "n_total": study.n_total, "usable": study.usable, "note": study.note,
        "source_note": study.source_note, "conflicts": list(study.conflicts),
        "rob2": rob2_json(study), "arms": arms,
        "effect": vars(study.effect) if study.effect else None,
    }  # fmt: skip


def pooled_json(pooled: Pooled) -> dict[str, Any]:
    """A comparison's result with heterogeneity, certainty and the patient summary.

    ``pooled`` is false for a single trial, whose heterogeneity figures are null (not
    estimable) rather than the zeros a k = 1 fit produces.
    """
    r = pooled.result
    table = grade_of(pooled)
    spread: dict[str, float | None] = {"tau2": r.tau2, "i2": r.i2, "q": r.q, "q_pvalue": r.q_pvalue,
              "pi_low": r.pi_low, "pi_high": r.pi_high}  # fmt: skip
    if pooled.single:
        spread = dict.fromkeys(spread)
    return {
        "outcome": pooled.outcome, "comparison": pooled.comparison, "k": r.k,
        "pooled": not pooled.single, "method": r.method, "test": r.test,
        "measure": "SMD (positive favours IASTM)", "estimate": r.estimate,
        "ci_low": r.ci_low, "ci_high": r.ci_high, "pvalue": r.pvalue, **spread,
        "certainty": table.certainty, "grade": grade_json(table),
        "studies": [s.id for s in pooled.studies], "summary": _summary(pooled, table),
    }  # fmt: skip


def grade_json(table: GradeTable) -> dict[str, Any]:
    """A GRADE table as plain data: every domain with its judgement and reason."""
    return {
        "start": table.start, "certainty": table.certainty, "reason": table.reason,
        "participants": table.participants,
        "domains": [{"domain": d.name, "judgement": d.judgement, "downgrade": d.downgrade,
                     "reason": d.reason} for d in table.domains],
    }  # fmt: skip


def rob2_json(study: Study) -> dict[str, Any] | None:
    """A trial's RoB 2 judgements per domain (``None`` levels where no source supports one)."""
    if study.rob2 is None:
        return None
    domains = {d: {"name": ROB2_NAMES[d], "judgement": study.rob2.get(d).level,
                   "reason": study.rob2.get(d).reason} for d in ROB2_DOMAINS}  # fmt: skip
    return {"overall": study.rob2.overall, "domains": domains}


def pool_json(outcome: str, comparison: str, method: str, test: str) -> dict[str, Any]:
    """Pool for the API; no usable trial is a 422 that names the comparison."""
    check_method(method, test)
    return pooled_json(pool(outcome, comparison, method=method, test=test))


def check_estimator(estimator: str) -> None:
    """Refuse an unknown trim-and-fill estimator with a 422 naming the field."""
    if estimator not in ESTIMATORS:
        raise InvalidInput(
            f"estimator must be one of {', '.join(ESTIMATORS)}", field="estimator",
            code="unknown_estimator",
        )  # fmt: skip


def sensitivity(
    comparison: str, outcome: str, method: str = "REML", test: str = "z", estimator: str = "L0"
) -> SensitivityReport:
    """Influence, trim-and-fill, permutation test and GOSH of a comparison's trials.

    Computed once per key and evidence version, like the forest plot; raises InvalidInput when
    no trial of the comparison has usable numbers.
    """
    check_method(method, test)
    check_estimator(estimator)
    return _sensitivity(comparison, outcome, method, test, estimator, load_evidence().version)


@lru_cache(maxsize=64)
def _sensitivity(
    comparison: str,
    outcome: str,
    method: str,
    test: str,
    estimator: str,
    version: str,  # noqa: ARG001 - part of the cache key
) -> SensitivityReport:
    return sensitivity_of(pool(outcome, comparison, method=method, test=test), estimator)


def sensitivity_of(pooled: Pooled, estimator: str = "L0") -> SensitivityReport:
    """The sensitivity analyses of an already pooled comparison (uncached: one-off callers)."""
    check_estimator(estimator)
    r = pooled.result
    labels = [short_ref(s) for s in pooled.studies]
    return sensitivity_report(r.yi, r.vi, labels, method=r.method, test=r.test, estimator=estimator)


FEW_FOR_ASYMMETRY = 10
"""Funnel-plot asymmetry methods have little power below 10 studies (Sterne et al. 2011,
BMJ 343:d4002); trim-and-fill rests on the same asymmetry."""


def trimfill_words(report: SensitivityReport) -> str | None:
    """What trim-and-fill suggests, in plain words, with its main assumption stated."""
    tf = report.trimfill
    if tf is None:
        return None
    few = (
        f" With fewer than {FEW_FOR_ASYMMETRY} trials this check has little power."
        if report.k < FEW_FOR_ASYMMETRY
        else ""
    )
    if tf.k0 == 0:
        return (
            "Trim-and-fill finds no sign of missing trials, so the pooled estimate stays as it "
            f"is.{few}"
        )
    # Positive SMD favours IASTM: missing on the left means trials less favourable to IASTM.
    kind = "less favourable to IASTM" if tf.side == "left" else "more favourable to IASTM"
    trials = "trial" if tf.k0 == 1 else "trials"
    return (
        f"Trim-and-fill suggests {tf.k0} {trials} {kind} may be missing. Adding mirror images "
        f"of them moves the pooled SMD from {report.estimate:.2f} to {tf.estimate:.2f} "
        f"({tf.ci_low:.2f} to {tf.ci_high:.2f}){_crossing(report, tf)}. This assumes the "
        f"asymmetry comes from unpublished small trials, which is only one possible reason.{few}"
    )


def _crossing(report: SensitivityReport, tf: TrimFillSummary) -> str:
    """Say so when filling changes whether the interval includes no difference."""
    before = report.ci_low <= 0 <= report.ci_high
    after = tf.ci_low <= 0 <= tf.ci_high
    if before == after:
        return ""
    return "; the interval now includes zero (no difference)" if after else (
        "; the interval no longer includes zero (no difference)")  # fmt: skip


def sensitivity_json(report: SensitivityReport) -> dict[str, Any]:
    """A sensitivity report as plain data (nulls where a part could not be run, see notes)."""
    tf, perm, g = report.trimfill, report.permutation, report.gosh
    return _finite({
        "k": report.k, "method": report.method, "test": report.test,
        "estimate": report.estimate, "ci_low": report.ci_low, "ci_high": report.ci_high,
        "influence": None if report.influence is None else [vars(r) for r in report.influence],
        "influential": list(report.influential),
        "trimfill": None if tf is None else {**vars(tf), "summary": trimfill_words(report)},
        "permutation": None if perm is None else vars(perm),
        "gosh": None if g is None else {
            "method": g.method, "subsets": g.subsets,
            "estimate": dict(zip(QUANTILE_NAMES, g.estimate, strict=True)),
            "i2": dict(zip(QUANTILE_NAMES, g.i2, strict=True)),
        },
        "notes": list(report.notes),
    })  # fmt: skip


def _finite(value: Any) -> Any:
    """NaN and infinities become null: JSON has no such numbers (R prints them as NA)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
