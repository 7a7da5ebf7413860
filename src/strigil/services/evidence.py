"""The published evidence for pages and the API: studies, pooled comparisons, forest plots.

A thin layer over :mod:`strigil.evidence.studies`: it groups the bundled studies by comparison
and outcome, pools those with at least two usable trials, and says plainly when there are too
few — listing what each study reported instead. Forest plots are drawn once per
(comparison, outcome, method, test, evidence version) and kept in memory as SVG text, since the
evidence base only changes with a release.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from strigil.errors import InvalidInput
from strigil.evidence import METHODS, TESTS
from strigil.evidence.inputs import EvidenceInputError
from strigil.evidence.studies import (
    EvidenceBase,
    Pooled,
    Study,
    certainty,
    load_evidence,
    plain_language_summary,
    pool,
)

COMPARISON_LABELS = {
    "hands_on_mfr": "hands-on myofascial release or massage",
    "spinal_manipulation": "spinal manipulation",
    "sham": "a sham (placebo) treatment",
    "usual_care": "usual physiotherapy care",
    "mixed_controls": "a mix of other treatments",
    "other_treatment_alone": "the same other treatment without IASTM",
}
SHORT_LABELS = {"hands_on_mfr": "hands-on MFR/massage", "spinal_manipulation": "manipulation"}
OUTCOME_LABELS = {"pain": "pain", "function": "function", "rom": "range of motion"}
DESIGN_LABELS = {
    "RCT": "randomised trial",
    "non_randomised_trial": "non-randomised trial",
    "meta_analysis": "meta-analysis",
    "systematic_review": "systematic review",
    "narrative_review": "narrative review",
}


def bundled() -> EvidenceBase:
    """The bundled evidence base (its version keys the plot cache)."""
    return load_evidence()


def comparison_label(code: str) -> str:
    return COMPARISON_LABELS.get(code, code.replace("_", " "))


def outcome_label(code: str) -> str:
    return OUTCOME_LABELS.get(code, code.replace("_", " "))


def short_ref(study: Study) -> str:
    """ "Surname et al. Year" from the citation's first author, for lists and plot labels."""
    first = study.citation.split(",")[0].split(".")[0]
    surname = first.split(" et al")[0].split()[0] if first.split() else study.id
    year = f" {study.year}" if study.year else ""
    return f"{surname} et al.{year}"


@dataclass(frozen=True)
class Panel:
    """One comparison × outcome: pooled when k ≥ 2 usable trials, else the studies listed."""

    comparison: str
    outcome: str
    studies: tuple[Study, ...]
    pooled: Pooled | None
    certainty: str | None
    summary: str | None
    reason: str | None

    @property
    def comparison_text(self) -> str:
        return comparison_label(self.comparison)

    @property
    def outcome_text(self) -> str:
        return outcome_label(self.outcome)


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
        return Panel(comparison, outcome, group, None, None, None, _too_few(group))
    result = pooled.result
    summary = plain_language_summary(result, comparison_label(comparison), outcome_label(outcome))
    return Panel(comparison, outcome, group, pooled, certainty(result), summary, None)


def _too_few(group: tuple[Study, ...]) -> str:
    usable = _usable(list(group))
    trials = sum(1 for s in group if s.design == "RCT")
    if trials == 0:
        return (
            "There are no randomised trials here, only reviews, so nothing is combined. "
            "What each review reported is listed below."
        )
    if usable == 0:
        which = "The only randomised trial" if trials == 1 else f"None of the {trials} trials"
        return (
            f"{which} here reports numbers we could use, so nothing can be combined. "
            "What each study found is listed below."
        )
    return (
        f"Only {usable} of the {trials} randomised trial(s) here reports usable numbers; "
        "at least 2 are needed to combine results, so no pooled answer is given. "
        "What each study found is listed below."
    )


@lru_cache(maxsize=64)
def _svg(comparison: str, outcome: str, method: str, test: str, version: str) -> str:  # noqa: ARG001
    """Draw the forest plot once per key; ``version`` invalidates it with a new evidence base."""
    pooled = pool(outcome, comparison, method=method, test=test)
    labels = [short_ref(s) for s in pooled.studies]
    from strigil.evidence.plots import ForestStyle, forest_plot  # matplotlib loads on demand

    style = ForestStyle(
        xlabel="Standardised mean difference (positive favours IASTM)",
        favours_left=f"Favours {SHORT_LABELS.get(comparison, comparison.replace('_', ' '))}",
        favours_right="Favours IASTM",
        title=f"IASTM vs {comparison_label(comparison)}: {outcome_label(outcome)}",
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = forest_plot(pooled.result, labels, Path(tmp) / "forest.svg", style)
        return path.read_text()


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
        "comparison": study.comparison, "outcome": study.outcome, "timepoint": study.timepoint,
        "doi": study.doi, "usable": study.usable, "note": study.note,
        "source_note": study.source_note, "arms": arms,
        "effect": vars(study.effect) if study.effect else None,
    }  # fmt: skip


def pooled_json(pooled: Pooled) -> dict[str, Any]:
    """A pooled comparison with heterogeneity, certainty and the patient summary."""
    r = pooled.result
    label = comparison_label(pooled.comparison)
    return {
        "outcome": pooled.outcome, "comparison": pooled.comparison, "k": r.k,
        "method": r.method, "test": r.test, "measure": "SMD (positive favours IASTM)",
        "estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high, "pvalue": r.pvalue,
        "tau2": r.tau2, "i2": r.i2, "q": r.q, "q_pvalue": r.q_pvalue,
        "pi_low": r.pi_low, "pi_high": r.pi_high, "certainty": certainty(r),
        "studies": [s.id for s in pooled.studies],
        "summary": plain_language_summary(r, label, outcome_label(pooled.outcome)),
    }  # fmt: skip


def pool_json(outcome: str, comparison: str, method: str, test: str) -> dict[str, Any]:
    """Pool for the API; too few trials is a 422 that says how many there are."""
    check_method(method, test)
    return pooled_json(pool(outcome, comparison, method=method, test=test))
