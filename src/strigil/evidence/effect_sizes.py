"""Effect sizes from the summary data that trial reports print.

Each measure reproduces the default of R's ``metafor::escalc`` (Viechtbauer 2010), so a number
computed here can be checked line by line against the reference package:

* ``SMD``: Hedges' *g*, the standardised mean difference with the exact small-sample correction
  ``J(m) = Γ(m/2) / (√(m/2) Γ((m-1)/2))``, ``m = n1 + n2 - 2`` (Hedges 1981), and the large-sample
  variance ``1/n1 + 1/n2 + g²/(2(n1+n2))`` (escalc ``vtype="LS"``; Hedges & Olkin 1985).
* ``MD``: raw mean difference with variance ``sd1²/n1 + sd2²/n2`` (no equal-variance assumption).
* ``RR`` and ``OR``: log risk ratio and log odds ratio; ``RD``: risk difference. When a 2x2
  table has a zero cell, 1/2 is added to each of its four cells (escalc ``add=1/2,
  to="only0"``), so the log and its variance stay finite; tables without a zero are left alone.

The conversion helpers recover a mean and SD from what a paper reports instead: the median with
the interquartile range or the range (Wan et al. 2014), an SD from a standard error or a
confidence interval (Cochrane Handbook 6.5.2.2-6.5.2.3), and the SD of change scores from the
baseline and final SDs and their correlation (Cochrane Handbook 6.5.2.8).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

from strigil.evidence.inputs import (
    EvidenceInputError,
    FloatArray,
    as_vector,
    check_positive,
    same_length,
)

MEASURES = ("SMD", "MD", "RR", "OR", "RD")
_CONTINUOUS = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
_BINARY = ("ai", "bi", "ci", "di")
CONTINUITY_CORRECTION = 0.5


@dataclass(frozen=True)
class EffectSizes:
    """Per-study effect sizes ``yi`` and their sampling variances ``vi`` on the analysis scale."""

    measure: str
    yi: FloatArray
    vi: FloatArray

    def __len__(self) -> int:
        return len(self.yi)


def effect_size(measure: str, **data: ArrayLike) -> EffectSizes:
    """Compute effect sizes and sampling variances, vectorised over studies.

    Parameters
    ----------
    measure
        ``"SMD"``, ``"MD"`` (keywords ``m1i, sd1i, n1i, m2i, sd2i, n2i``) or ``"RR"``, ``"OR"``,
        ``"RD"`` (keywords ``ai, bi, ci, di``: events and non-events in group 1, then group 2).
    **data
        Arrays (or scalars) of per-study summary data, named as in ``metafor::escalc``.

    Returns
    -------
    EffectSizes
        Frozen record with ``yi`` and ``vi`` arrays. Ratios are on the log scale.

    Raises
    ------
    ValueError
        Unknown measure, missing or unexpected keyword, NaN, lengths that differ, or counts,
        sizes or SDs outside their range.
    """
    if measure not in MEASURES:
        raise EvidenceInputError(
            f"unknown measure {measure!r}; expected one of {', '.join(MEASURES)}", field="measure"
        )
    names = _CONTINUOUS if measure in ("SMD", "MD") else _BINARY
    arrays = _collect(names, data)
    if measure in ("SMD", "MD"):
        yi, vi = _continuous(measure, arrays)
    else:
        yi, vi = _binary(measure, arrays)
    return EffectSizes(measure=measure, yi=yi, vi=vi)


def _collect(names: tuple[str, ...], data: dict[str, ArrayLike]) -> dict[str, FloatArray]:
    missing = [n for n in names if n not in data]
    extra = [n for n in data if n not in names]
    if missing or extra:
        raise EvidenceInputError(
            f"expected keywords {', '.join(names)}; missing {missing}, unexpected {extra}"
        )
    arrays = {n: as_vector(data[n], n) for n in names}
    same_length(**arrays)
    return arrays


def hedges_correction(df: ArrayLike) -> FloatArray:
    """Exact small-sample bias correction ``J(m)`` of Hedges (1981), computed on the log scale.

    ``J(m) = Γ(m/2) / (√(m/2) Γ((m-1)/2))``; the usual ``1 - 3/(4m - 1)`` is its approximation.
    """
    m = np.asarray(df, dtype=np.float64)
    if (m <= 1).any():
        raise EvidenceInputError("Hedges' correction needs n1 + n2 - 2 > 1")
    return np.exp(special.gammaln(m / 2) - 0.5 * np.log(m / 2) - special.gammaln((m - 1) / 2))


def _continuous(measure: str, a: dict[str, FloatArray]) -> tuple[FloatArray, FloatArray]:
    n1, n2, sd1, sd2 = a["n1i"], a["n2i"], a["sd1i"], a["sd2i"]
    check_positive(n1, "n1i")
    check_positive(n2, "n2i")
    if (sd1 < 0).any() or (sd2 < 0).any():
        raise EvidenceInputError("standard deviations must not be negative")
    diff = a["m1i"] - a["m2i"]
    if measure == "MD":
        _refuse_zero_sds(sd1, sd2)
        return diff, sd1**2 / n1 + sd2**2 / n2
    m = n1 + n2 - 2
    pooled_sd = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / m)
    if (pooled_sd <= 0).any():
        raise EvidenceInputError("pooled standard deviation is zero; SMD undefined")
    g = hedges_correction(m) * diff / pooled_sd
    return g, 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))


def _refuse_zero_sds(sd1: FloatArray, sd2: FloatArray) -> None:
    """Both SDs 0 give a variance of 0: an infinite weight that would swamp every other study."""
    both = np.flatnonzero((sd1 == 0) & (sd2 == 0))
    if both.size:
        i = int(both[0])
        raise EvidenceInputError(
            f"sd1i[{i}] and sd2i[{i}] are both 0: the mean difference would have zero variance",
            field="sd1i",
        )


def _check_counts(a: dict[str, FloatArray]) -> None:
    """Cell counts are whole, non-negative numbers of participants."""
    for name in _BINARY:
        x = a[name]
        if (x < 0).any():
            raise EvidenceInputError(f"{name}: counts must not be negative", field=name)
        frac = np.flatnonzero(x != np.floor(x))
        if frac.size:
            i = int(frac[0])
            raise EvidenceInputError(
                f"{name}[{i}] = {x[i]!r}: a count must be a whole number", field=name
            )


def _binary(measure: str, a: dict[str, FloatArray]) -> tuple[FloatArray, FloatArray]:
    _check_counts(a)
    ai, bi, ci, di = (a[n].copy() for n in _BINARY)
    if ((ai + bi) <= 0).any() or ((ci + di) <= 0).any():
        raise EvidenceInputError("each group needs at least one participant")
    zero = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
    for cell in (ai, bi, ci, di):
        cell[zero] += CONTINUITY_CORRECTION
    n1, n2 = ai + bi, ci + di
    p1, p2 = ai / n1, ci / n2
    if measure == "RR":
        return np.log(p1) - np.log(p2), 1 / ai - 1 / n1 + 1 / ci - 1 / n2
    if measure == "OR":
        return np.log(ai * di / (bi * ci)), 1 / ai + 1 / bi + 1 / ci + 1 / di
    return p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2


@dataclass(frozen=True)
class MeanSD:
    """An estimated sample mean and standard deviation."""

    mean: float
    sd: float


def _wan_quantile(n: int, kind: str) -> float:
    if n < 1:
        raise EvidenceInputError("sample size must be at least 1", field="n")
    if kind == "range":
        return float(stats.norm.ppf((n - 0.375) / (n + 0.25)))
    return float(stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25)))


def mean_sd_from_median_iqr(median: float, q1: float, q3: float, n: int) -> MeanSD:
    """Mean and SD from the median and quartiles (Wan et al. 2014, scenario C3).

    ``mean ≈ (q1 + m + q3)/3`` and ``SD ≈ (q3 - q1) / (2 Φ⁻¹((0.75n - 0.125)/(n + 0.25)))``;
    the sample-size-dependent quantile improves on the fixed divisor 1.35 for small trials.
    """
    if not q1 <= median <= q3:
        raise EvidenceInputError("quartiles must satisfy q1 <= median <= q3")
    return MeanSD((q1 + median + q3) / 3, (q3 - q1) / (2 * _wan_quantile(n, "iqr")))


def mean_sd_from_median_range(median: float, low: float, high: float, n: int) -> MeanSD:
    """Mean and SD from the median and range (Wan et al. 2014, scenario C1).

    ``mean ≈ (a + 2m + b)/4`` (Hozo et al. 2005) and
    ``SD ≈ (b - a) / (2 Φ⁻¹((n - 0.375)/(n + 0.25)))`` (Wan et al. 2014).
    """
    if not low <= median <= high:
        raise EvidenceInputError("range must satisfy low <= median <= high")
    if n < 2:
        raise EvidenceInputError("the range needs n >= 2", field="n")
    return MeanSD((low + 2 * median + high) / 4, (high - low) / (2 * _wan_quantile(n, "range")))


def sd_from_se(se: float, n: int) -> float:
    """SD of one group from the standard error of its mean: ``SD = SE √n`` (Cochrane 6.5.2.2)."""
    if se <= 0 or n < 1:
        raise EvidenceInputError("se must be positive and n at least 1")
    return float(se * np.sqrt(n))


def sd_from_ci(lower: float, upper: float, n: int, level: float = 0.95) -> float:
    """SD of one group from a confidence interval of its mean (Cochrane Handbook 6.5.2.2).

    The Handbook divides the CI width by ``2 × 1.96`` for large samples and by ``2 t(n-1)`` for
    small ones; using the t quantile for every ``n`` covers both (it tends to 1.96).
    """
    if not upper > lower or n < 2 or not 0 < level < 1:
        raise EvidenceInputError("need lower < upper, n >= 2 and 0 < level < 1")
    crit = float(stats.t.ppf(0.5 + level / 2, df=n - 1))
    return float(np.sqrt(n) * (upper - lower) / (2 * crit))


def sd_change(sd_baseline: float, sd_final: float, corr: float) -> float:
    """SD of change scores from baseline and final SDs and their correlation.

    ``SD_change = √(SD_b² + SD_f² - 2 r SD_b SD_f)`` (Cochrane Handbook 6.5.2.8); the correlation
    is usually borrowed from a trial that reports all three numbers.
    """
    if sd_baseline < 0 or sd_final < 0 or not -1 <= corr <= 1:
        raise EvidenceInputError("SDs must be >= 0 and the correlation in [-1, 1]")
    return float(np.sqrt(sd_baseline**2 + sd_final**2 - 2 * corr * sd_baseline * sd_final))
