"""The bundled IASTM evidence base, pooling by comparison, and patient-readable summaries.

``data/studies.json`` is versioned; every number in it comes from a cited source and missing
numbers stay ``null``. :func:`pool` combines only primary trials (design ``"RCT"``) so that a
trial is never counted twice through a review that includes it. A comparison with a single usable
trial is not pooled: that trial's own SMD and CI are reported (a common-effect fit of k = 1 is
exactly the trial; metafor's ``rma()`` gives the same numbers for k = 1, with τ² fixed at 0), and
heterogeneity is reported as not estimable.

Effect sizes are put on one scale where **positive favours the intervention** (IASTM): arm data
become Hedges' g (``effect_size("SMD")``), sign-flipped when lower scores are better (pain);
reported estimates with a CI use ``SE = (upper - lower) / (2 z₀.₉₇₅)`` (Cochrane Handbook 6.5.2.3).

:func:`certainty` is a deliberately simple GRADE-like heuristic (Guyatt et al. 2008), not a
GRADE assessment: start at "high" for randomised trials, then go down one level each for
(1) k < 3 studies, and once more for a single trial, whose consistency cannot be judged,
(2) imprecision — the CI includes no effect or is wider than 1 SMD, (3) inconsistency —
I² > 50 %. Risk of bias, indirectness and publication bias are not judged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
from scipy import stats

from strigil.evidence.effect_sizes import effect_size
from strigil.evidence.inputs import EvidenceInputError
from strigil.evidence.meta import MetaResult, meta_analyze

LEVELS = ("very low", "low", "moderate", "high")
WIDE_CI = 1.0  # an SMD interval wider than this spans "no effect" to "large effect"


@dataclass(frozen=True)
class Arm:
    n: int | None
    mean: float | None
    sd: float | None

    @property
    def complete(self) -> bool:
        return None not in (self.n, self.mean, self.sd)

    def numbers(self) -> dict[str, float]:
        """``{"m": mean, "sd": sd, "n": n}``; only call when :attr:`complete`."""
        if self.n is None or self.mean is None or self.sd is None:
            raise EvidenceInputError("arm data incomplete")
        return {"m": float(self.mean), "sd": float(self.sd), "n": float(self.n)}


@dataclass(frozen=True)
class Effect:
    measure: str
    estimate: float
    ci_low: float
    ci_high: float
    k: int | None = None
    unit: str | None = None
    certainty: str | None = None


@dataclass(frozen=True)
class Study:
    """One entry of the evidence base; ``arms`` or ``effect`` may be missing (``None``)."""

    id: str
    citation: str
    year: int | None
    design: str
    condition: str
    intervention: str
    comparison: str | None
    outcome: str | None
    timepoint: str | None
    doi: str | None
    note: str
    label: str | None = None
    iastm: Arm | None = None
    control: Arm | None = None
    lower_is_better: bool = True
    effect: Effect | None = None
    source_note: str = ""

    @property
    def has_numbers(self) -> bool:
        """Complete arm data or a reported estimate with CI, whatever the design."""
        arms_ok = (
            self.iastm is not None
            and self.control is not None
            and self.iastm.complete
            and self.control.complete
        )
        return arms_ok or self.effect is not None

    @property
    def usable(self) -> bool:
        """A randomised primary trial with numbers: the only kind :func:`pool` combines."""
        return self.design == "RCT" and self.has_numbers


@dataclass(frozen=True)
class EvidenceBase:
    version: str
    sources: tuple[str, ...]
    studies: tuple[Study, ...]


def _study(raw: dict[str, Any]) -> Study:
    arms = raw.get("arms") or {}
    effect = raw.get("effect")
    return Study(
        id=raw["id"], citation=raw["citation"], year=raw.get("year"), design=raw["design"],
        condition=raw["condition"], intervention=raw["intervention"],
        comparison=raw.get("comparison"), outcome=raw.get("outcome"),
        timepoint=raw.get("timepoint"), doi=raw.get("doi"), note=raw.get("note", ""),
        label=raw.get("label"), iastm=Arm(**arms["iastm"]) if "iastm" in arms else None,
        control=Arm(**arms["control"]) if "control" in arms else None,
        lower_is_better=arms.get("lower_is_better", True),
        effect=Effect(**effect) if effect else None,
        source_note=raw.get("source_note", ""),
    )  # fmt: skip


def load_evidence(text: str | None = None) -> EvidenceBase:
    """Parse the evidence base (the bundled file unless ``text`` is given)."""
    if text is None:
        text = resources.files("strigil.evidence").joinpath("data/studies.json").read_text()
    raw = json.loads(text)
    return EvidenceBase(
        version=str(raw["version"]),
        sources=tuple(raw["sources"]),
        studies=tuple(_study(s) for s in raw["studies"]),
    )


def studies() -> tuple[Study, ...]:
    """All bundled studies, as frozen dataclasses."""
    return load_evidence().studies


def _yi_vi(study: Study) -> tuple[float, float]:
    if study.effect is not None:
        e = study.effect
        se = (e.ci_high - e.ci_low) / (2 * float(stats.norm.isf(0.025)))
        return e.estimate, se**2
    a, c = study.iastm, study.control
    assert a is not None and c is not None  # guaranteed by Study.usable
    es = effect_size("SMD", **{f"{k}1i": v for k, v in a.numbers().items()},
                     **{f"{k}2i": v for k, v in c.numbers().items()})  # fmt: skip
    sign = -1.0 if study.lower_is_better else 1.0
    return sign * float(es.yi[0]), float(es.vi[0])


@dataclass(frozen=True, eq=False)
class Pooled:
    """A comparison's trials and their meta-analysis (k = 1: the single trial, not pooled)."""

    outcome: str
    comparison: str
    studies: tuple[Study, ...]
    result: MetaResult

    @property
    def single(self) -> bool:
        """One trial only: no pooled estimate and no heterogeneity to report."""
        return self.result.k == 1


def pool(
    outcome: str,
    comparison: str,
    *,
    method: str = "REML",
    test: str = "z",
    evidence: tuple[Study, ...] | None = None,
) -> Pooled:
    """Meta-analyse the primary trials of ``outcome`` against ``comparison``.

    With exactly one usable trial the result is that trial alone (common-effect model, z test,
    whatever ``method`` was asked for). Raises ``ValueError`` when no trial has usable numbers.
    """
    chosen = tuple(
        s
        for s in (evidence if evidence is not None else studies())
        if s.outcome == outcome and s.comparison == comparison and s.usable
    )
    if not chosen:
        raise EvidenceInputError(
            f"no trial with usable data for outcome={outcome!r}, comparison={comparison!r}"
        )
    if len(chosen) == 1:
        method, test = "EE", "z"
    pairs = [_yi_vi(s) for s in chosen]
    yi, vi = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    return Pooled(outcome, comparison, chosen, meta_analyze(yi, vi, method=method, test=test))


def certainty(result: MetaResult) -> str:
    """GRADE-like certainty label from k, imprecision and inconsistency (see module docs)."""
    downgrades = 0
    if result.k < 3:
        downgrades += 1
    if result.k == 1:
        downgrades += 1
    crosses_null = result.ci_low <= 0 <= result.ci_high
    if crosses_null or (result.ci_high - result.ci_low) > WIDE_CI:
        downgrades += 1
    if result.i2 > 50:
        downgrades += 1
    return LEVELS[max(0, len(LEVELS) - 1 - downgrades)]


def _size_word(smd: float) -> str:
    """Cohen's (1988) rough SMD bands: 0.2 small, 0.5 moderate, 0.8 large."""
    magnitude = abs(smd)
    if magnitude < 0.2:
        return "little or no"
    if magnitude < 0.5:
        return "a small"
    return "a moderate" if magnitude < 0.8 else "a large"


def plain_language_summary(result: MetaResult, comparison_label: str, outcome: str) -> str:
    """One or two sentences a patient can read; honest about uncertainty and few studies.

    The estimate is on the "positive favours IASTM" SMD scale used by :func:`pool`.
    """
    if result.ci_low <= 0 <= result.ci_high:
        finding = (
            f"compared with {comparison_label}, IASTM may make little or no difference to "
            f"{outcome}; the results are compatible with a benefit, no difference or harm"
        )
    else:
        direction = "better" if result.estimate > 0 else "worse"
        finding = (
            f"compared with {comparison_label}, IASTM may give {_size_word(result.estimate)} "
            f"difference in {outcome} ({direction} with IASTM)"
        )
    small = "small " if result.k < 5 else ""
    level = certainty(result)
    basis = f"one {small}trial" if result.k == 1 else f"{result.k} {small}studies"
    caveat = f"based on {basis}, the certainty of this evidence is {level}"
    if level in ("low", "very low"):
        caveat += " and further research could well change it"
    return f"{finding[0].upper()}{finding[1:]}. This is {caveat}."
