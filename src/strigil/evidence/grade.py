"""GRADE-style certainty per comparison and outcome, one explicit judgement per domain.

GRADE (Guyatt et al. 2008, BMJ 336:924; handbook: Schünemann et al. 2013) starts evidence from
randomised trials at "high" and rates it down one level per serious concern (two per very
serious one) in five domains: risk of bias, inconsistency, indirectness, imprecision and
publication bias. Each domain here states its judgement *and the reason*, so a reader can
disagree with a specific step rather than with a single label. The thresholds are in
:class:`GradeRules`, each with its source; a domain that cannot be judged says so
("not assessable") and is not silently counted as fine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

from strigil.evidence.meta import MetaResult
from strigil.evidence.studies import RANDOMISED, ROB2_NAMES, Study

LEVELS = ("very low", "low", "moderate", "high")
DOMAINS = ("risk of bias", "inconsistency", "indirectness", "imprecision", "publication bias")
NOT_ASSESSABLE = "not assessable"
STEPS = {"not serious": 0, "serious": 1, "very serious": 2, NOT_ASSESSABLE: 0}


@dataclass(frozen=True)
class GradeRules:
    """Thresholds of the domain judgements, each with where it comes from."""

    # Cochrane Handbook 10.10.2: I² 50-90 % "may represent substantial", 75-100 % "considerable".
    i2_serious: float = 50.0
    i2_very_serious: float = 75.0
    # GRADE 6 (Guyatt et al. 2011, J Clin Epidemiol 64:1283): optimal information size; about
    # 400 participants for a continuous outcome as the rule of thumb.
    optimal_information_size: int = 400
    # Sterne et al. 2011 (BMJ 343:d4002): asymmetry tests only with at least 10 studies.
    min_k_asymmetry: int = 10
    egger_alpha: float = 0.10
    # RoB 2 at study level: "very serious" when high-risk trials carry at least this share of
    # the weight (GRADE 4, Guyatt et al. 2011, J Clin Epidemiol 64:407: judge by the trials that
    # dominate the estimate).
    high_risk_weight: float = 50.0


@dataclass(frozen=True)
class GradeDomain:
    name: str
    judgement: str
    reason: str

    @property
    def downgrade(self) -> int:
        return STEPS[self.judgement]


@dataclass(frozen=True)
class GradeTable:
    """The GRADE judgements of one comparison × outcome and the resulting certainty."""

    comparison: str
    outcome: str
    k: int
    participants: int | None
    start: str
    domains: tuple[GradeDomain, ...]
    certainty: str | None
    reason: str


def _name(study: Study) -> str:
    """ "Surname et al. Year" for reasons (the stored label when there is one)."""
    if study.label:
        return study.label
    surname = study.citation.split(",")[0].split()[0] if study.citation.split() else study.id
    return f"{surname} et al. {study.year}" if study.year else f"{surname} et al."


def _participants(studies: Sequence[Study]) -> int | None:
    total = 0
    for s in studies:
        if s.iastm is not None and s.control is not None and None not in (s.iastm.n, s.control.n):
            total += int(s.iastm.n or 0) + int(s.control.n or 0)
        elif s.n_total is not None:
            total += s.n_total
        else:
            return None
    return total


def _weights(studies: Sequence[Study], result: MetaResult | None) -> list[float]:
    if result is not None and result.k == len(studies):
        return [float(w) for w in result.weights]
    return [100.0 / len(studies)] * len(studies) if studies else []


def risk_of_bias(
    studies: Sequence[Study], result: MetaResult | None, rules: GradeRules
) -> GradeDomain:
    """Rate down when the trials behind the estimate are not all at low risk (RoB 2 overall)."""
    if not studies:
        return GradeDomain("risk of bias", NOT_ASSESSABLE, "No trial to judge.")
    weights = _weights(studies, result)
    overall = [s.rob2.overall if s.rob2 is not None else None for s in studies]
    listing = "; ".join(f"{_name(s)}: {_rob_text(s)}" for s in studies)
    if all(o == "low" for o in overall):
        return GradeDomain("risk of bias", "not serious", f"All trials at low risk ({listing}).")
    high = sum(w for w, o in zip(weights, overall, strict=True) if o == "high")
    if high >= rules.high_risk_weight:
        why = f"Trials at high risk carry {high:.0f}% of the weight ({listing})."
        return GradeDomain("risk of bias", "very serious", why)
    why = (f"Not every trial is at low risk; a result whose risk of bias could not be judged "
           f"is treated as a concern ({listing}).")  # fmt: skip
    return GradeDomain("risk of bias", "serious", why)


def _rob_text(study: Study) -> str:
    """A trial's RoB 2 in a phrase: the overall judgement, or what is known and what is not."""
    if study.rob2 is None:
        return "RoB 2 not assessed"
    if study.rob2.overall is not None:
        return f"{study.rob2.overall} risk overall"
    judged = [(d, j.level) for d, j in study.rob2.domains if j.level is not None]
    unread = len(study.rob2.domains) - len(judged)
    known = ", ".join(f"{lv} ({ROB2_NAMES[d].lower()})" for d, lv in judged)
    return f"overall not assessable, {unread} of 5 domains not judged" + (
        f"; {known}" if known else "")  # fmt: skip


def inconsistency(result: MetaResult | None, rules: GradeRules) -> GradeDomain:
    """I² bands of the Cochrane Handbook; one trial has no consistency to judge."""
    if result is None:
        return GradeDomain("inconsistency", NOT_ASSESSABLE, "No effect estimate.")
    if result.k == 1:
        why = ("A single trial: consistency cannot be judged. Not rated down here; the single "
               "small trial is rated down under imprecision.")  # fmt: skip
        return GradeDomain("inconsistency", NOT_ASSESSABLE, why)
    stats = (f"I² = {result.i2:.0f}%, Q = {result.q:.2f} (df {result.q_df}, "
             f"p = {result.q_pvalue:.3f})")  # fmt: skip
    if result.i2 > rules.i2_very_serious:
        return GradeDomain("inconsistency", "very serious", f"Considerable heterogeneity: {stats}.")
    if result.i2 > rules.i2_serious:
        return GradeDomain("inconsistency", "serious", f"Substantial heterogeneity: {stats}.")
    return GradeDomain("inconsistency", "not serious", f"{stats}.")


def indirectness(studies: Sequence[Study]) -> GradeDomain:
    """Rated down when a trial records that its population, intervention or outcome differ
    from the question (for example one session measured immediately)."""
    flagged = [s for s in studies if s.indirectness is not None
               and s.indirectness.level in ("serious", "very serious")]  # fmt: skip
    if not flagged:
        why = ("None recorded: the trials' population, intervention, comparator and outcome "
               "match the comparison as labelled.")  # fmt: skip
        return GradeDomain("indirectness", "not serious", why)
    why = "; ".join(f"{_name(s)}: {s.indirectness.reason}" for s in flagged
                    if s.indirectness is not None)  # fmt: skip
    return GradeDomain("indirectness", "serious", why)


def imprecision(
    studies: Sequence[Study], result: MetaResult | None, rules: GradeRules
) -> GradeDomain:
    """One level for fewer participants than the optimal information size, one for a CI that
    includes no effect (GRADE 6)."""
    if result is None:
        return GradeDomain("imprecision", NOT_ASSESSABLE, "No effect estimate.")
    n = _participants(studies)
    reasons, steps = [], 0
    if n is None or n < rules.optimal_information_size:
        steps += 1
        size = "participants not known" if n is None else f"{n} participants"
        reasons.append(f"{size}, below the optimal information size of "
                       f"{rules.optimal_information_size}")  # fmt: skip
    ci = f"{result.ci_low:.2f} to {result.ci_high:.2f}"
    if result.ci_low <= 0 <= result.ci_high:
        steps += 1
        reasons.append(f"the 95% CI ({ci}) includes no effect")
    if not reasons:
        return GradeDomain("imprecision", "not serious", f"{n} participants; 95% CI {ci}.")
    judgement = "serious" if steps == 1 else "very serious"
    text = "; ".join(reasons)
    return GradeDomain("imprecision", judgement, f"{text[0].upper()}{text[1:]}.")


def egger_pvalue(result: MetaResult) -> float:
    """Egger's regression test (yᵢ/seᵢ on 1/seᵢ; the intercept, t with k − 2 df), two-sided."""
    se = np.sqrt(result.vi)
    x = np.column_stack([np.ones_like(se), 1.0 / se])
    y = result.yi / se
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    df = result.k - 2
    sigma2 = float(resid @ resid) / df
    cov = sigma2 * np.linalg.inv(x.T @ x)
    t = float(coef[0] / np.sqrt(cov[0, 0]))
    return float(2 * special.stdtr(df, -abs(t)))


def publication_bias(result: MetaResult | None, rules: GradeRules) -> GradeDomain:
    if result is None:
        return GradeDomain("publication bias", NOT_ASSESSABLE, "No effect estimate.")
    if result.k < rules.min_k_asymmetry:
        why = (
            f"k = {result.k}: funnel-plot asymmetry cannot be tested with fewer than "
            f"{rules.min_k_asymmetry} trials, so it is neither suspected nor excluded."
        )
        return GradeDomain("publication bias", NOT_ASSESSABLE, why)
    p = egger_pvalue(result)
    if p < rules.egger_alpha:
        return GradeDomain("publication bias", "serious", f"Suspected: Egger test p = {p:.3f}.")
    return GradeDomain("publication bias", "not serious", f"Undetected: Egger test p = {p:.3f}.")


def grade(
    comparison: str,
    outcome: str,
    studies: Sequence[Study],
    result: MetaResult | None,
    rules: GradeRules | None = None,
) -> GradeTable:
    """The GRADE table of ``studies`` (those behind ``result``; ``None``: no estimate).

    Without an estimate there is nothing to be certain about: ``certainty`` is ``None`` and the
    domains that need an estimate are "not assessable".
    """
    rules = rules or GradeRules()
    domains = (
        risk_of_bias(studies, result, rules),
        inconsistency(result, rules),
        indirectness(studies),
        imprecision(studies, result, rules),
        publication_bias(result, rules),
    )
    randomised = bool(studies) and all(s.design in RANDOMISED for s in studies)
    start = "high" if randomised else "low"
    if result is None:
        return GradeTable(comparison, outcome, 0, _participants(studies), start, domains, None,
                          "No trial reports numbers that give an effect estimate.")  # fmt: skip
    down = sum(d.downgrade for d in domains)
    level = LEVELS[max(0, LEVELS.index(start) - down)]
    rated = [f"{d.name} ({d.judgement})" for d in domains if d.downgrade]
    why = f"Starts {start} ({'randomised trials' if randomised else 'non-randomised'})"
    why += f"; rated down for {', '.join(rated)}." if rated else "; not rated down."
    return GradeTable(comparison, outcome, result.k, _participants(studies), start, domains,
                      level, why)  # fmt: skip
