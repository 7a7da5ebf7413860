"""Many random-effects meta-analyses at once: REML Fisher scoring vectorised across fits.

Simulation studies and bootstrap checks fit thousands of small meta-analyses; a Python loop over
:func:`strigil.evidence.meta_analyze` spends its time in interpreter overhead. Here the same
algorithm — HE start, Fisher scoring with step-halving, metafor's stopping rule and τ² = 0
likelihood check (Viechtbauer 2005) — runs on a ``(fits, k)`` array with closed-form
intercept-only expressions, each fit stopping on its own when its change is ≤ ``threshold``.
Results equal ``meta_analyze(..., method="REML")`` fit by fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from strigil.evidence.heterogeneity import Control, ConvergenceError
from strigil.evidence.inputs import EvidenceInputError, FloatArray


@dataclass(frozen=True, eq=False)
class BatchResult:
    """Per-fit τ², pooled estimate and its standard error (z-test scale)."""

    tau2: FloatArray
    estimate: FloatArray
    se: FloatArray
    converged: NDArray[np.bool_]


def _matrices(yi: ArrayLike, vi: ArrayLike) -> tuple[FloatArray, FloatArray]:
    y = np.asarray(yi, dtype=np.float64)
    v = np.asarray(vi, dtype=np.float64)
    if y.ndim != 2 or y.shape != v.shape:
        raise EvidenceInputError(f"yi and vi must be 2-D of equal shape, got {y.shape}, {v.shape}")
    if not (np.isfinite(y).all() and np.isfinite(v).all()):
        raise EvidenceInputError("yi/vi contain NaN or a non-finite value")
    if (v <= 0).any():
        raise EvidenceInputError("a sampling variance must be positive")
    if y.shape[1] < 2:
        raise EvidenceInputError("a random-effects model needs at least 2 studies per fit")
    return y, v


def _he_start(y: FloatArray, v: FloatArray) -> FloatArray:
    k = y.shape[1]
    rss = np.sum((y - y.mean(axis=1, keepdims=True)) ** 2, axis=1)
    return np.maximum(0.0, (rss - v.sum(axis=1) * (k - 1) / k) / (k - 1))


def _score_step(y: FloatArray, v: FloatArray, tau2: FloatArray) -> FloatArray:
    w = 1 / (v + tau2[:, None])
    s1, s2 = w.sum(axis=1), (w**2).sum(axis=1)
    resid = y - (w * y).sum(axis=1, keepdims=True) / s1[:, None]
    ypp_y = np.sum(w**2 * resid**2, axis=1)
    tr_p = s1 - s2 / s1
    tr_pp = s2 - 2 * (w**3).sum(axis=1) / s1 + s2**2 / s1**2
    return np.asarray((ypp_y - tr_p) / tr_pp, dtype=np.float64)


def _reml_loglik(y: FloatArray, v: FloatArray, tau2: FloatArray) -> FloatArray:
    k = y.shape[1]
    w = 1 / (v + tau2[:, None])
    s1 = w.sum(axis=1)
    resid = y - (w * y).sum(axis=1, keepdims=True) / s1[:, None]
    return np.asarray(
        -0.5 * (k - 1) * np.log(2 * np.pi)
        - 0.5 * np.log(v + tau2[:, None]).sum(axis=1)
        - 0.5 * np.log(s1)
        - 0.5 * np.sum(w * resid**2, axis=1),
        dtype=np.float64,
    )


def _scoring(
    y: FloatArray, v: FloatArray, control: Control
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Fisher scoring per fit; returns τ² and the mask of fits still moving at ``maxiter``."""
    tau2 = _he_start(y, v)
    active = np.ones(len(tau2), dtype=bool)
    for _ in range(control.maxiter + 1):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        t = tau2[idx]
        adj = np.nan_to_num(_score_step(y[idx], v[idx], t), nan=0.0)
        while (neg := t + adj < 0).any():
            adj[neg] /= 2
        tau2[idx] = t + adj
        active[idx] = np.abs(adj) > control.threshold
    return tau2, active


def reml_many(
    yi: ArrayLike, vi: ArrayLike, control: Control | None = None, *, strict: bool = True
) -> BatchResult:
    """REML random-effects fits of each row of ``yi``/``vi`` (shape ``(fits, k)``).

    Like metafor, a fit whose Fisher scoring has not converged after ``maxiter`` steps (this
    happens when τ² creeps towards 0) is an error; with ``strict=False`` its results are NaN
    and ``converged`` is False instead, so one bad replicate does not sink a simulation.
    """
    y, v = _matrices(yi, vi)
    ctl = control or Control()
    tau2, failed = _scoring(y, v, ctl)
    if strict and failed.any():
        raise ConvergenceError(
            f"Fisher scoring for tau2 did not converge in {int(failed.sum())} fit(s)"
        )
    zero = np.zeros_like(tau2)
    stuck = (tau2 > ctl.threshold) & (_reml_loglik(y, v, zero) - _reml_loglik(y, v, tau2) > ctl.tol)
    tau2[stuck] = 0.0
    tau2[failed] = np.nan
    w = 1 / (v + tau2[:, None])
    s1 = w.sum(axis=1)
    return BatchResult(tau2, (w * y).sum(axis=1) / s1, 1 / np.sqrt(s1), ~failed)
