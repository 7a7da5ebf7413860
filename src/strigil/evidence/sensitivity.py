"""Sensitivity and small-study analyses around a meta-analysis.

* :func:`leave_one_out` refits without each study in turn (metafor ``leave1out``): a pooled
  estimate that moves a lot when one study is dropped rests on that study.
* :func:`cumulative` adds studies one at a time in the given order (metafor ``cumul``), e.g. by
  year, to show how the evidence accrued (Lau et al. 1992). The first step has k = 1 and, as in
  metafor, τ² = 0 there.
* :func:`subgroups` fits each subgroup separately and tests whether the subgroup estimates differ
  with a common-effect meta-analysis of those estimates, i.e. metafor's
  ``rma(est, sei=se, mods=~group, method="FE")`` omnibus test after separate fits (Borenstein et
  al. 2009, ch. 19; the approach of RevMan's "test for subgroup differences").
* :func:`egger_test` is Egger et al.'s (1997) regression test as metafor's ``regtest()`` default
  runs it: a meta-regression of ``yᵢ`` on ``√vᵢ`` fitted with the *same* τ² method and test as the
  main analysis (Sterne & Egger 2005); the intercept is the "limit estimate" for ``√vᵢ → 0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from strigil.evidence.heterogeneity import Control, Design
from strigil.evidence.inputs import EvidenceInputError, FloatArray
from strigil.evidence.loo import LooArrays, leave_one_out_arrays
from strigil.evidence.meta import MetaResult, fit_model, meta_analyze, result_from_fit, validate


@dataclass(frozen=True)
class SequenceRow:
    """One refit of a leave-one-out or cumulative analysis."""

    label: str
    k: int
    estimate: float
    se: float
    zval: float
    pvalue: float
    ci_low: float
    ci_high: float
    q: float
    q_pvalue: float
    tau2: float
    i2: float
    h2: float


def _row(label: str, res: MetaResult) -> SequenceRow:
    return SequenceRow(
        label=label, k=res.k, estimate=res.estimate, se=res.se, zval=res.zval,
        pvalue=res.pvalue, ci_low=res.ci_low, ci_high=res.ci_high, q=res.q,
        q_pvalue=res.q_pvalue, tau2=res.tau2, i2=res.i2, h2=res.h2,
    )  # fmt: skip


def _refit(
    y: FloatArray, v: FloatArray, method: str, test: str, level: float, control: Control | None
) -> MetaResult:
    design = Design(y, v, np.ones((len(y), 1)))
    return result_from_fit(fit_model(design, method, test, level, control), y, v)


def _labels(labels: list[str] | None, k: int) -> list[str]:
    if labels is None:
        return [str(i + 1) for i in range(k)]
    if len(labels) != k:
        raise EvidenceInputError(f"lengths differ: labels={len(labels)}, yi={k}", field="labels")
    return list(labels)


def leave_one_out(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    labels: list[str] | None = None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    control: Control | None = None,
) -> list[SequenceRow]:
    """Refit the model k times, each time omitting one study (row i omits study i).

    EE, DL, HE and REML fits are computed together (:mod:`strigil.evidence.loo`); the other
    estimators refit one subset at a time. Both give the same numbers.
    """
    y, v, canonical = validate(yi, vi, method, test, level)
    names = _labels(labels, len(y))
    batched = leave_one_out_arrays(y, v, canonical, test, level, control)
    if batched is not None:
        return _rows_from_arrays(names, batched)
    rows = []
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        rows.append(_row(names[i], _refit(y[keep], v[keep], canonical, test, level, control)))
    return rows


def _rows_from_arrays(names: list[str], a: LooArrays) -> list[SequenceRow]:
    k = len(names) - 1
    return [
        SequenceRow(
            label=name,
            k=k,
            estimate=float(a.estimate[i]),
            se=float(a.se[i]),
            zval=float(a.zval[i]),
            pvalue=float(a.pvalue[i]),
            ci_low=float(a.ci_low[i]),
            ci_high=float(a.ci_high[i]),
            q=float(a.q[i]),
            q_pvalue=float(a.q_pvalue[i]),
            tau2=float(a.tau2[i]),
            i2=float(a.i2[i]),
            h2=float(a.h2[i]),
        )  # fmt: skip
        for i, name in enumerate(names)
    ]


def cumulative(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    labels: list[str] | None = None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    control: Control | None = None,
) -> list[SequenceRow]:
    """Refit the model on the first 1, 2, ..., k studies in the order given."""
    y, v, canonical = validate(yi, vi, method, test, level)
    names = _labels(labels, len(y))
    return [
        _row(names[i], _refit(y[: i + 1], v[: i + 1], canonical, test, level, control))
        for i in range(len(y))
    ]


@dataclass(frozen=True, eq=False)
class SubgroupResult:
    """Separate fits per subgroup plus the test of subgroup differences (Q between)."""

    groups: dict[str, MetaResult]
    q_between: float
    df: int
    pvalue: float


def subgroups(
    yi: ArrayLike,
    vi: ArrayLike,
    groups: list[str],
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
) -> SubgroupResult:
    """Separate meta-analyses per subgroup and a Wald test that their pooled effects differ.

    ``Q_between = Σ_g (μ̂_g - μ̄)² / SE_g²`` with ``μ̄`` the inverse-SE²-weighted mean of the
    subgroup estimates, referred to χ² with G - 1 df. With ``method="EE"`` this equals
    ``Q_total - Σ Q_within``.
    """
    y, v, _ = validate(yi, vi, "EE", test, level)
    if len(groups) != len(y):
        raise EvidenceInputError(f"lengths differ: groups={len(groups)}, yi={len(y)}")
    names = sorted(set(groups))
    if len(names) < 2:
        raise EvidenceInputError("subgroup analysis needs at least two subgroups")
    g = np.asarray(groups)
    fits = {
        name: meta_analyze(y[g == name], v[g == name], method=method, test=test, level=level)
        for name in names
    }
    est = np.array([fits[n].estimate for n in names])
    w = 1 / np.array([fits[n].se ** 2 for n in names])
    q = float(np.sum(w * (est - np.sum(w * est) / np.sum(w)) ** 2))
    df = len(names) - 1
    return SubgroupResult(fits, q, df, float(stats.chi2.sf(q, df)))


@dataclass(frozen=True)
class EggerResult:
    """Egger's test: statistic and p-value of the ``√vᵢ`` slope, and the limit estimate."""

    zval: float
    pvalue: float
    df: int | None
    slope: float
    limit_estimate: float
    limit_ci_low: float
    limit_ci_high: float


def egger_test(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    control: Control | None = None,
) -> EggerResult:
    """Regression test for funnel-plot asymmetry (Egger et al. 1997; metafor ``regtest``).

    Small-study effects (a slope on the standard error) can signal publication bias, but also
    genuine differences between small and large trials; with k < 10 the test has little power
    (Sterne et al. 2011), which is why it refuses k < 3 outright and callers should say so.
    """
    y, v, canonical = validate(yi, vi, method, test, level)
    if len(y) < 3:
        raise EvidenceInputError(f"k = {len(y)}: Egger's test needs at least 3 studies")
    X = np.column_stack([np.ones(len(y)), np.sqrt(v)])
    fit = fit_model(Design(y, v, X), canonical, test, level, control)
    se, crit = fit.se, fit.crit()
    return EggerResult(
        zval=float(fit.beta[1] / se[1]), pvalue=float(fit.pvalues()[1]), df=fit.df,
        slope=float(fit.beta[1]), limit_estimate=float(fit.beta[0]),
        limit_ci_low=float(fit.beta[0] - crit * se[0]),
        limit_ci_high=float(fit.beta[0] + crit * se[0]),
    )  # fmt: skip
