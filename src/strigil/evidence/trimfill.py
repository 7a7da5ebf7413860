"""Trim-and-fill (Duval & Tweedie 2000) as metafor's ``trimfill()`` runs it.

The funnel plot's asymmetric side is taken from the sign of the slope of a meta-regression of
``yᵢ`` on ``√vᵢ`` (same τ² method): a negative slope means the studies missing from the plot
would lie on the right. With the data flipped so that the missing side is the left, the number
of missing studies k₀ is estimated iteratively with the L0 (default), R0 or Q0 rank estimator
(Duval & Tweedie 2000, Biometrics 56:455; metafor 3.8.1's formulas): trim the k₀ most extreme
studies, re-estimate the centre, rank ``|yᵢ - μ̂|``, update k₀ (rounded half to even, like R).
The k₀ trimmed studies are then mirrored about the final centre and the model is refitted on
the k + k₀ studies. As in metafor, that refit uses the z test and the default convergence
settings.

With ``Sr`` the sum of the positive signed ranks, Q0 is ``k - ½ - √(2k² - 4Sr + ¼)``; the root
is of a negative number when almost every rank lies above the centre, and metafor then stops
with an error, as this module does. ``ilim`` bounds the imputed values for a bounded measure
(metafor's argument of that name): imputed values outside are set to the nearer limit. metafor
3.8.1 clamps the observed values too; the limits must therefore contain every observed value,
which keeps the two in agreement and the observed data untouched.

Trim-and-fill assumes that asymmetry comes from suppressed small studies; the adjusted
estimate is a sensitivity analysis, not a corrected answer (Peters et al. 2007).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from strigil.evidence.heterogeneity import Design
from strigil.evidence.inputs import EvidenceInputError, FloatArray
from strigil.evidence.meta import MetaResult, fit_intercept, fit_model, meta_analyze, validate

ESTIMATORS = ("L0", "R0", "Q0")
SIDES = ("left", "right")


@dataclass(frozen=True, eq=False)
class TrimFillResult:
    """Number and side of the filled studies, their values, and the fit with them added."""

    k0: int
    se_k0: float
    side: str
    estimator: str
    filled_yi: FloatArray
    filled_vi: FloatArray
    fit: MetaResult
    is_filled: NDArray[np.bool_]


def trimfill(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    method: str = "REML",
    side: str | None = None,
    estimator: str = "L0",
    maxiter: int = 100,
    ilim: tuple[float, float] | None = None,
) -> TrimFillResult:
    """Estimate and fill in studies missing from one side of the funnel plot.

    ``side=None`` picks the side as metafor does; ``ilim=(lower, upper)`` bounds the imputed
    values (e.g. the natural limits of a bounded measure).
    """
    y, v, canonical = validate(yi, vi, method, "z", 0.95)
    k = len(y)
    if k < 3:
        raise EvidenceInputError(f"k = {k}: trim-and-fill needs at least 3 studies", field="yi")
    if estimator not in ESTIMATORS:
        raise EvidenceInputError(
            f"estimator {estimator!r}: expected one of {', '.join(ESTIMATORS)}", field="estimator"
        )
    if side is not None and side not in SIDES:
        raise EvidenceInputError(f"side {side!r}: expected 'left' or 'right'", field="side")
    limits = _limits(ilim, y)
    chosen = side or _side(y, v, canonical)
    sign = -1.0 if chosen == "right" else 1.0
    order = np.argsort(sign * y, kind="stable")
    ys, vs = sign * y[order], v[order]
    k0, se_k0, centre = _estimate_k0(ys, vs, canonical, estimator, maxiter)
    if k0 == 0:
        fit = meta_analyze(y, v, method=canonical)
        empty = np.empty(0)
        return TrimFillResult(0, se_k0, chosen, estimator, empty, empty, fit, np.zeros(k, bool))
    # Mirror the k0 most extreme studies about the centre, then undo the flip.
    filled_y = sign * (2 * centre - ys[k - k0 :])
    if limits is not None:
        filled_y = np.clip(filled_y, *limits)
    filled_v = vs[k - k0 :].copy()
    all_y, all_v = np.concatenate([y, filled_y]), np.concatenate([v, filled_v])
    fit = meta_analyze(all_y, all_v, method=canonical)
    is_filled = np.concatenate([np.zeros(k, bool), np.ones(k0, bool)])
    return TrimFillResult(k0, se_k0, chosen, estimator, filled_y, filled_v, fit, is_filled)


def _limits(ilim: object, y: FloatArray) -> tuple[float, float] | None:
    """Check ``ilim``: two finite numbers, lower < upper, every observed value inside."""
    if ilim is None:
        return None
    rule = "ilim must be a pair (lower, upper) of finite numbers with lower < upper"
    if not isinstance(ilim, tuple | list | np.ndarray) or len(ilim) != 2:
        raise EvidenceInputError(f"{rule}; got {ilim!r}", field="ilim")
    try:
        lower, upper = (float(x) for x in ilim)
    except (TypeError, ValueError):
        raise EvidenceInputError(f"{rule}; got {ilim!r}", field="ilim") from None
    if not (np.isfinite(lower) and np.isfinite(upper) and lower < upper):
        raise EvidenceInputError(f"{rule}; got ({lower:g}, {upper:g})", field="ilim")
    if y.min() < lower or y.max() > upper:
        raise EvidenceInputError(
            f"ilim ({lower:g}, {upper:g}) must contain every observed yi "
            f"(range {y.min():g} to {y.max():g}); it bounds the imputed values only",
            field="ilim",
        )
    return lower, upper


def _side(y: FloatArray, v: FloatArray, method: str) -> str:
    """metafor's rule: regress yᵢ on √vᵢ; a negative slope puts the missing studies right."""
    X = np.column_stack([np.ones(len(y)), np.sqrt(v)])
    slope = float(fit_model(Design(y, v, X), method, "z", 0.95).beta[1])
    return "right" if slope < 0 else "left"


def _estimate_k0(
    ys: FloatArray, vs: FloatArray, method: str, estimator: str, maxiter: int
) -> tuple[int, float, float]:
    """Iterate k₀ on sorted, flipped data; return k₀, its SE and the trimmed-data centre."""
    k = len(ys)
    k0, previous, iterations = 0, -1, 0
    se_k0, centre = 0.0, 0.0
    while k0 != previous:
        previous = k0
        iterations += 1
        if iterations > maxiter:
            raise EvidenceInputError("trim-and-fill did not converge", field="maxiter")
        centre = float(fit_intercept(ys[: k - k0], vs[: k - k0], method, "z", 0.95, None).beta[0])
        centred = ys - centre
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(centred), kind="stable")] = np.arange(1, k + 1)
        signed = np.sign(centred) * ranks
        raw, se_k0 = _k0(signed, k, estimator)
        k0 = max(0, int(np.round(raw)))
        se_k0 = se_k0 if np.isnan(se_k0) else max(0.0, se_k0)  # R: max(0, NaN) is NaN
    return k0, se_k0, centre


def _k0(signed: FloatArray, k: int, estimator: str) -> tuple[float, float]:
    """Unrounded k₀ and its SE from the signed ranks (metafor's formulas per estimator)."""
    if estimator == "R0":
        negative = signed[signed < 0]
        longest = float(np.max(-negative)) if negative.size else float("-inf")
        k0 = (k - longest) - 1
        return k0, float(np.sqrt(2 * max(0.0, k0) + 2))
    sr = float(signed[signed > 0].sum())
    if estimator == "Q0":
        radicand = 2 * k**2 - 4 * sr + 0.25
        if radicand < 0:
            raise EvidenceInputError(
                f"the Q0 estimator is undefined here (2k² - 4Sr + 1/4 = {radicand:g} < 0: "
                "nearly every study lies above the centre); use L0 or R0",
                field="estimator",
            )
        k0 = k - 0.5 - float(np.sqrt(radicand))
        denom = float(np.sqrt((k - 0.5) ** 2 - k0 * (2 * k - k0 - 1)))
        return k0, float(2 * _sqrt(_var_sr(k, k0)) / denom)
    k0 = (4 * sr - k * (k + 1)) / (2 * k - 1)
    return k0, float(4 * _sqrt(_var_sr(k, k0)) / (2 * k - 1))


def _var_sr(k: int, k0: float) -> float:
    """Variance of the rank sum given k₀ (Duval & Tweedie 2000), shared by L0 and Q0."""
    return (
        k * (k + 1) * (2 * k + 1) + 10 * k0**3 + 27 * k0**2 + 17 * k0
        - 18 * k * k0**2 - 18 * k * k0 + 6 * k**2 * k0
    ) / 24  # fmt: skip


def _sqrt(x: float) -> float:
    """R's ``sqrt``: NaN for a negative argument, without numpy's warning."""
    return float(np.sqrt(x)) if x >= 0 else float("nan")
