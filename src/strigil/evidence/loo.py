"""Leave-one-out refits computed together instead of one model at a time.

The k leave-one-out subsets form a ``(k, k - 1)`` array, and for an intercept-only model every
quantity metafor's ``leave1out`` reports has a closed form in sums of weights: the estimate and
its SE, the Hartung-Knapp rescaling, Cochran's Q, I² and H² (metafor's "typical within-study
variance" definition). τ² comes from the same closed forms (DL, HE) or from the vectorised Fisher
scoring of :mod:`strigil.evidence.batch` (REML). The numbers equal a loop over
:func:`strigil.evidence.meta_analyze` — the tests compare both to 1e-10 — at a fraction of the
interpreter overhead. Estimators without a batched form (ML, PM, SJ) and degenerate subsets
return ``None`` so the caller falls back to the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from strigil.evidence.batch import reml_many
from strigil.evidence.heterogeneity import EPS, Control
from strigil.evidence.inputs import FloatArray
from strigil.evidence.meta import chi2_sf, t_crit, t_pvalue, z_crit, z_pvalue

BATCHED = frozenset({"EE", "DL", "HE", "REML"})


@dataclass(frozen=True, eq=False)
class LooArrays:
    """Column arrays of the k leave-one-out fits (row i omits study i)."""

    estimate: FloatArray
    se: FloatArray
    zval: FloatArray
    pvalue: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    q: FloatArray
    q_pvalue: FloatArray
    tau2: FloatArray
    i2: FloatArray
    h2: FloatArray


def subsets(values: FloatArray) -> FloatArray:
    """The ``(k, k - 1)`` array whose row i is ``values`` without element i."""
    k = len(values)
    keep = ~np.eye(k, dtype=bool)
    return np.asarray(np.broadcast_to(values, (k, k))[keep].reshape(k, k - 1), dtype=np.float64)


def leave_one_out_arrays(
    y: FloatArray, v: FloatArray, method: str, test: str, level: float, control: Control | None
) -> LooArrays | None:
    """All k refits at once, or ``None`` when this case needs the per-fit loop."""
    if method not in BATCHED or len(y) < 4:  # subsets of size >= 3 keep every df positive
        return None
    ys, vs = subsets(y), subsets(v)
    q, sum_w0, sum_w0_sq = _cochran_q(ys, vs)
    df = ys.shape[1] - 1
    tau2 = _tau2(method, ys, vs, q, sum_w0, sum_w0_sq, df, control)
    estimate, se = _pooled(ys, vs, tau2, test, df)
    if se is None:
        return None
    stat, pvalue, crit = _inference(estimate, se, test, df, level)
    i2, h2 = _i2_h2(method, q, tau2, sum_w0, sum_w0_sq, df)
    return LooArrays(
        estimate=estimate, se=se, zval=stat, pvalue=pvalue, ci_low=estimate - crit * se,
        ci_high=estimate + crit * se, q=q, q_pvalue=chi2_sf(q, df), tau2=tau2, i2=i2,
        h2=h2,
    )  # fmt: skip


def _cochran_q(ys: FloatArray, vs: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    w0 = 1 / vs
    s1, s2 = w0.sum(axis=1), (w0**2).sum(axis=1)
    mu0 = (w0 * ys).sum(axis=1) / s1
    q = np.maximum(0.0, (w0 * (ys - mu0[:, None]) ** 2).sum(axis=1))
    return q, s1, s2


def _tau2(
    method: str,
    ys: FloatArray,
    vs: FloatArray,
    q: FloatArray,
    s1: FloatArray,
    s2: FloatArray,
    df: int,
    control: Control | None,
) -> FloatArray:
    if method == "EE":
        return np.zeros(len(ys))
    if method == "DL":
        return np.asarray(np.maximum(0.0, (q - df) / (s1 - s2 / s1)), dtype=np.float64)
    if method == "HE":
        m = ys.shape[1]
        rss = ((ys - ys.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
        return np.asarray(np.maximum(0.0, (rss - vs.sum(axis=1) * (m - 1) / m) / df))
    return reml_many(ys, vs, control).tau2  # raises like metafor when scoring does not converge


def _pooled(
    ys: FloatArray, vs: FloatArray, tau2: FloatArray, test: str, df: int
) -> tuple[FloatArray, FloatArray | None]:
    w = 1 / (vs + tau2[:, None])
    s1 = w.sum(axis=1)
    estimate = (w * ys).sum(axis=1) / s1
    se = 1 / np.sqrt(s1)
    if test == "knha":
        rss = (w * (ys - estimate[:, None]) ** 2).sum(axis=1)
        if (rss <= EPS).any():  # a zero scale factor: leave the edge case to the loop
            return estimate, None
        se = se * np.sqrt(rss / df)
    return estimate, se


def _inference(
    estimate: FloatArray, se: FloatArray, test: str, df: int, level: float
) -> tuple[FloatArray, FloatArray, float]:
    stat = estimate / se
    if test == "knha":
        return stat, t_pvalue(stat, df), t_crit(level, df)
    return stat, z_pvalue(stat), z_crit(level)


def _i2_h2(
    method: str, q: FloatArray, tau2: FloatArray, s1: FloatArray, s2: FloatArray, df: int
) -> tuple[FloatArray, FloatArray]:
    if method == "EE":
        with np.errstate(divide="ignore", invalid="ignore"):
            i2 = np.where(q > 0, np.maximum(0.0, 100 * (q - df) / q), 0.0)
        return i2, q / df
    typical_v = df / (s1 - s2 / s1)
    return 100 * tau2 / (typical_v + tau2), tau2 / typical_v + 1
