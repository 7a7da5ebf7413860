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

Each trial may carry a RoB 2 judgement per domain (Sterne et al. 2019, BMJ 366:l4898); a domain
no source supports stays ``None`` with the reason, and the overall judgement is then unknown.
The certainty of a comparison is judged domain by domain in :mod:`strigil.evidence.grade`.
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

# Designs pool() may combine. "controlled_trial" means the sources read do not say allocation
# was random; such a trial is listed, never pooled.
RANDOMISED = ("RCT",)
ROB2_DOMAINS = ("randomisation", "deviations", "missing_data", "measurement", "selection")
ROB2_NAMES = {
    "randomisation": "Randomisation process",
    "deviations": "Deviations from intended interventions",
    "missing_data": "Missing outcome data",
    "measurement": "Measurement of the outcome",
    "selection": "Selection of the reported result",
}
JUDGEMENTS = ("low", "some concerns", "high")


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
class Judgement:
    """One judgement with its reason; ``level`` is ``None`` when no source supports one."""

    level: str | None
    reason: str


@dataclass(frozen=True)
class RoB2:
    """Risk of bias (RoB 2) of one trial's result, one judgement per domain."""

    domains: tuple[tuple[str, Judgement], ...]

    def get(self, domain: str) -> Judgement:
        return dict(self.domains)[domain]

    @property
    def overall(self) -> str | None:
        """RoB 2's algorithm: all low → low, any high → high, otherwise some concerns.

        ``None`` while any domain is unjudged: an overall "low" would claim what was not read.
        """
        levels = [j.level for _, j in self.domains]
        if "high" in levels:
            return "high"
        if None in levels:
            return None
        return "low" if all(lv == "low" for lv in levels) else "some concerns"


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
    measure: str | None = None
    n_total: int | None = None
    registry: str | None = None
    conflicts: tuple[str, ...] = ()
    rob2: RoB2 | None = None
    indirectness: Judgement | None = None

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
        return self.design in RANDOMISED and self.has_numbers


@dataclass(frozen=True)
class EvidenceBase:
    version: str
    sources: tuple[str, ...]
    studies: tuple[Study, ...]


def _judgement(raw: dict[str, Any], where: str) -> Judgement:
    level = raw.get("judgement")
    if level is not None and level not in JUDGEMENTS + ("not serious", "serious", "very serious"):
        raise EvidenceInputError(f"{where}: judgement {level!r} is not a RoB 2 or GRADE level")
    if not raw.get("reason"):
        raise EvidenceInputError(f"{where}: every judgement needs a reason, even a null one")
    return Judgement(level, str(raw["reason"]))


def _rob2(raw: dict[str, Any] | None, study_id: str) -> RoB2 | None:
    if raw is None:
        return None
    if set(raw) != set(ROB2_DOMAINS):
        raise EvidenceInputError(f"{study_id}.rob2 must have exactly the domains {ROB2_DOMAINS}")
    for name, value in raw.items():
        if value.get("judgement") not in (None, *JUDGEMENTS):
            raise EvidenceInputError(
                f"{study_id}.rob2.{name}: judgement must be one of {JUDGEMENTS}"
            )
    return RoB2(tuple((d, _judgement(raw[d], f"{study_id}.rob2.{d}")) for d in ROB2_DOMAINS))


def _study(raw: dict[str, Any]) -> Study:
    arms = raw.get("arms") or {}
    effect = raw.get("effect")
    indirect = raw.get("indirectness")
    return Study(
        id=raw["id"], citation=raw["citation"], year=raw.get("year"), design=raw["design"],
        condition=raw["condition"], intervention=raw["intervention"],
        comparison=raw.get("comparison"), outcome=raw.get("outcome"),
        timepoint=raw.get("timepoint"), doi=raw.get("doi"), note=raw.get("note", ""),
        label=raw.get("label"), iastm=Arm(**arms["iastm"]) if "iastm" in arms else None,
        control=Arm(**arms["control"]) if "control" in arms else None,
        lower_is_better=arms.get("lower_is_better", True),
        effect=Effect(**effect) if effect else None,
        source_note=raw.get("source_note", ""), measure=raw.get("measure"),
        n_total=raw.get("n_total"), registry=raw.get("registry"),
        conflicts=tuple(raw.get("conflicts", ())), rob2=_rob2(raw.get("rob2"), raw["id"]),
        indirectness=_judgement(indirect, f"{raw['id']}.indirectness") if indirect else None,
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


def _size_word(smd: float) -> str:
    """Cohen's (1988) rough SMD bands: 0.2 small, 0.5 moderate, 0.8 large."""
    magnitude = abs(smd)
    if magnitude < 0.2:
        return "little or no"
    if magnitude < 0.5:
        return "a small"
    return "a moderate" if magnitude < 0.8 else "a large"


def plain_language_summary(
    result: MetaResult, comparison_label: str, outcome: str, certainty: str
) -> str:
    """One or two sentences a patient can read; honest about uncertainty and few studies.

    The estimate is on the "positive favours IASTM" SMD scale used by :func:`pool`;
    ``certainty`` is the GRADE level of :func:`strigil.evidence.grade.grade`.
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
    level = certainty
    basis = f"one {small}trial" if result.k == 1 else f"{result.k} {small}studies"
    caveat = f"based on {basis}, the certainty of this evidence is {level}"
    if level in ("low", "very low"):
        caveat += " and further research could well change it"
    return f"{finding[0].upper()}{finding[1:]}. This is {caveat}."
