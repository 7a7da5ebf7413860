"""One sensitivity report for a pooled comparison: influence, trim-and-fill, permutation, GOSH.

Reviewers ask the same four questions of every pooled estimate: does one study drive it
(case-deletion diagnostics, Viechtbauer & Cheung 2010), would the studies a one-sided funnel
plot suggests are missing move it (trim-and-fill, Duval & Tweedie 2000), does its p-value
survive without the normal approximation (permutation test, Follmann & Proschan 1999), and does
it hold across subsets of the studies (GOSH, Olkin et al. 2012)? This module answers all four
from ``yi``/``vi`` with the engine's metafor-matched functions and returns plain, immutable
numbers (safe to cache and share between requests).

A part that the data cannot support is ``None`` with the reason in ``notes`` rather than an
error: influence and trim-and-fill need k ≥ 3, GOSH over all subsets is run for 2 ≤ k ≤ 20,
and trim-and-fill's Q0 estimator is undefined for some data. The permutation test is exact
whenever that stays affordable (see :func:`_permutation`), otherwise it draws random sign flips
with a fixed seed. GOSH has closed forms only for
the common-effect and DerSimonian-Laird models, so a random-effects analysis (any τ²
estimator) gets the DL GOSH, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from strigil.evidence.gosh import MAX_ALL_SUBSETS_K, gosh
from strigil.evidence.influence import influence
from strigil.evidence.inputs import EvidenceInputError, FloatArray
from strigil.evidence.meta import meta_analyze, validate
from strigil.evidence.permutest import BATCHED_METHODS, MAX_EXACT_K, permutest
from strigil.evidence.trimfill import ESTIMATORS, trimfill

MIN_K_DIAGNOSTICS = 3
"""influence() and trimfill() refuse fewer studies (as metafor's diagnostics need k - 1 ≥ 2)."""
RANDOM_PERMUTATIONS = 10_000
"""Sign flips when the exact test is too large (metafor's default ``iter`` is 1000)."""
PERMUTATION_SEED = 20_261_204
"""Fixed, so a cached page and the command line show the same Monte Carlo p-value."""
QUANTILES = (0.0, 0.25, 0.5, 0.75, 1.0)
QUANTILE_NAMES = ("min", "q25", "median", "q75", "max")


@dataclass(frozen=True)
class InfluenceRow:
    """One study's case-deletion diagnostics (metafor ``influence()`` columns)."""

    label: str
    rstudent: float
    dffits: float
    cook_d: float
    cov_r: float
    tau2_del: float
    q_del: float
    hat: float
    weight: float
    influential: bool


@dataclass(frozen=True)
class TrimFillSummary:
    """k₀ imputed on ``side`` by ``estimator`` and the pooled estimate with them added."""

    estimator: str
    k0: int
    se_k0: float
    side: str
    estimate: float
    ci_low: float
    ci_high: float
    pvalue: float


@dataclass(frozen=True)
class PermutationSummary:
    """The permutation p-value next to the model's own p-value."""

    pvalue: float
    model_pvalue: float
    exact: bool
    iterations: int


@dataclass(frozen=True)
class GoshSummary:
    """Spread of the estimate and I² over the subsets (min, quartiles, max)."""

    method: str
    subsets: int
    estimate: tuple[float, ...]
    i2: tuple[float, ...]


@dataclass(frozen=True)
class SensitivityReport:
    """All four analyses of one model; a part is ``None`` when ``notes`` says why."""

    k: int
    method: str
    test: str
    estimate: float
    ci_low: float
    ci_high: float
    influence: tuple[InfluenceRow, ...] | None
    trimfill: TrimFillSummary | None
    permutation: PermutationSummary | None
    gosh: GoshSummary | None
    notes: tuple[str, ...]

    @property
    def influential(self) -> tuple[str, ...]:
        """Labels of the studies metafor's rule flags as influential."""
        return tuple(r.label for r in self.influence or () if r.influential)


def sensitivity_report(
    yi: ArrayLike,
    vi: ArrayLike,
    labels: list[str],
    *,
    method: str = "REML",
    test: str = "z",
    estimator: str = "L0",
) -> SensitivityReport:
    """Run every sensitivity analysis the data allow on the intercept-only model."""
    y, v, canonical = validate(yi, vi, method, test, 0.95)
    if len(labels) != len(y):
        raise EvidenceInputError(
            f"lengths differ: labels={len(labels)}, yi={len(y)}", field="labels"
        )
    if estimator not in ESTIMATORS:
        raise EvidenceInputError(
            f"estimator {estimator!r}: expected one of {', '.join(ESTIMATORS)}", field="estimator"
        )
    fit = meta_analyze(y, v, method=canonical, test=test)
    notes: list[str] = []
    if len(y) == 1:
        notes.append("k = 1: a single study, nothing pooled, so nothing to test for sensitivity")
        rows, filled, perm, spread = None, None, None, None
    else:
        rows = _influence(y, v, labels, canonical, test, notes)
        filled = _trimfill(y, v, canonical, estimator, notes)
        perm = _permutation(y, v, canonical, test, fit.pvalue, notes)
        spread = _gosh(y, v, canonical, notes)
    return SensitivityReport(
        k=len(y), method=canonical, test=test, estimate=fit.estimate, ci_low=fit.ci_low,
        ci_high=fit.ci_high, influence=rows, trimfill=filled, permutation=perm, gosh=spread,
        notes=tuple(notes),
    )  # fmt: skip


def _too_few(k: int, what: str, notes: list[str]) -> bool:
    """``what`` includes its verb: "influence diagnostics need", "trim-and-fill needs"."""
    if k >= MIN_K_DIAGNOSTICS:
        return False
    notes.append(f"k = {k}: {what} at least {MIN_K_DIAGNOSTICS} studies")
    return True


def _influence(
    y: FloatArray, v: FloatArray, labels: list[str], method: str, test: str, notes: list[str]
) -> tuple[InfluenceRow, ...] | None:
    if _too_few(len(y), "influence diagnostics need", notes):
        return None
    try:
        res = influence(y, v, method=method, test=test)
    except EvidenceInputError as exc:  # e.g. a deletion fit whose τ² does not converge
        notes.append(f"influence diagnostics: {exc}")
        return None
    return tuple(
        InfluenceRow(
            label=label,
            rstudent=float(res.rstudent[i]),
            dffits=float(res.dffits[i]),
            cook_d=float(res.cook_d[i]),
            cov_r=float(res.cov_r[i]),
            tau2_del=float(res.tau2_del[i]),
            q_del=float(res.q_del[i]),
            hat=float(res.hat[i]),
            weight=float(res.weight[i]),
            influential=bool(res.influential[i]),
        )  # fmt: skip
        for i, label in enumerate(labels)
    )


def _trimfill(
    y: FloatArray, v: FloatArray, method: str, estimator: str, notes: list[str]
) -> TrimFillSummary | None:
    if _too_few(len(y), "trim-and-fill needs", notes):
        return None
    try:
        res = trimfill(y, v, method=method, estimator=estimator)
    except EvidenceInputError as exc:  # Q0 undefined for these data, or no convergence
        notes.append(f"trim-and-fill ({estimator}): {exc}")
        return None
    f = res.fit
    return TrimFillSummary(
        estimator=res.estimator, k0=res.k0, se_k0=res.se_k0, side=res.side,
        estimate=f.estimate, ci_low=f.ci_low, ci_high=f.ci_high, pvalue=f.pvalue,
    )  # fmt: skip


def _permutation(
    y: FloatArray, v: FloatArray, method: str, test: str, model_p: float, notes: list[str]
) -> PermutationSummary | None:
    """Exact (all 2^k sign flips) whenever permutest allows it, else random flips.

    The batched estimators afford all 2^20 refits (seconds); the others refit one at a time
    (≈ 0.3 ms each), so they go exact only while 2^k ≤ 10,000, metafor's own rule for ``iter``.
    """
    budget = 1 << MAX_EXACT_K if method in BATCHED_METHODS else RANDOM_PERMUTATIONS
    exact = (1 << len(y)) <= budget
    try:
        res = permutest(
            y, v, method=method, test=test, exact=exact, iter=RANDOM_PERMUTATIONS,
            seed=PERMUTATION_SEED,
        )  # fmt: skip
    except EvidenceInputError as exc:
        notes.append(f"permutation test: {exc}")
        return None
    return PermutationSummary(res.pvalue, model_p, res.exact, res.iter)


def _gosh(y: FloatArray, v: FloatArray, method: str, notes: list[str]) -> GoshSummary | None:
    k = len(y)
    if not 2 <= k <= MAX_ALL_SUBSETS_K:
        notes.append(f"k = {k}: the GOSH summary is given for 2 to {MAX_ALL_SUBSETS_K} studies")
        return None
    used = "EE" if method == "EE" else "DL"
    if used != method:
        notes.append(
            f"GOSH subsets are fitted with the DL model, not {method} "
            "(closed forms exist only for EE and DL)"
        )
    res = gosh(y, v, method=used)
    return GoshSummary(
        method=used, subsets=len(res), estimate=_quantiles(res.estimate), i2=_quantiles(res.i2)
    )


def _quantiles(values: FloatArray) -> tuple[float, ...]:
    """R's default (type 7) quantiles, which are numpy's default too."""
    return tuple(float(q) for q in np.quantile(values, QUANTILES))
