"""Permutation test of the pooled effect (Follmann & Proschan 1999; metafor ``permutest``).

Under the null hypothesis μ = 0 of the intercept-only model the sign of each yᵢ is arbitrary, so
the test statistic is recomputed after flipping signs: all ``2^k`` sign vectors when
``2^k ≤ iter`` (exact test, as metafor), otherwise ``iter`` random ones, the first of which is
the observed data (metafor's convention, so the p-value is never 0). The p-value is the share of
permuted statistics at least as extreme as the observed one, with metafor's comparison tolerance
``√ε``; QM = z² gives the same p-value for the intercept-only model and is reported alongside.

metafor refits one permutation at a time. Here the permuted data form a ``(iter, k)`` array and
all refits run together: EE and DL through closed forms, REML through the vectorised Fisher
scoring of :mod:`strigil.evidence.batch`, HE through its closed form; other estimators fall back
to one fit per permutation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from strigil.evidence.batch import reml_many
from strigil.evidence.heterogeneity import EPS, Control
from strigil.evidence.inputs import EvidenceInputError, FloatArray
from strigil.evidence.meta import fit_intercept, meta_analyze, validate

COMPTOL = float(np.sqrt(EPS))
"""metafor's ``comptol``: ties between permuted and observed statistics count as extreme."""
MAX_EXACT_K = 20
BATCHED_METHODS = ("EE", "DL", "HE", "REML")
"""Estimators whose permuted refits run together; the others refit one sign vector at a time."""
CHUNK_ROWS = 1 << 14


@dataclass(frozen=True, eq=False)
class PermutationResult:
    """Observed fit, permutation p-values and the permutation distribution."""

    estimate: float
    zval: float
    pvalue: float
    qm: float
    qm_pvalue: float
    iter: int
    exact: bool
    method: str
    test: str
    zval_perm: FloatArray
    estimate_perm: FloatArray


def sign_matrix(k: int, exact: bool, iter_: int, seed: int | None) -> NDArray[np.float64]:
    """Rows of ±1: every sign vector (R's ``expand.grid`` order) or random ones."""
    if exact:
        codes = np.arange(1 << k, dtype=np.int64)
        return np.where((codes[:, None] >> np.arange(k)) & 1 == 1, -1.0, 1.0)
    rng = np.random.default_rng(seed)
    signs = rng.choice(np.array([-1.0, 1.0]), size=(iter_, k))
    signs[0] = 1.0  # the observed data, as metafor stores it in the first slot
    return np.asarray(signs, dtype=np.float64)


def permutest(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    method: str = "REML",
    test: str = "z",
    iter: int = 10_000,  # noqa: A002 - metafor's argument name
    exact: bool | None = None,
    seed: int | None = None,
    control: Control | None = None,
) -> PermutationResult:
    """Permutation p-value of the pooled effect of the intercept-only model.

    ``exact=None`` runs the exact test when ``2^k ≤ iter`` (metafor's rule), ``exact=True``
    forces it (k ≤ 20), ``exact=False`` forces ``iter`` random sign flips.
    """
    y, v, canonical = validate(yi, vi, method, test, 0.95)
    k = len(y)
    if isinstance(iter, bool) or int(iter) < 2:
        raise EvidenceInputError("iter must be a whole number of at least 2", field="iter")
    use_exact = bool(exact) or (exact is None and k <= MAX_EXACT_K and (1 << k) <= int(iter))
    if use_exact and k > MAX_EXACT_K:
        raise EvidenceInputError(
            f"k = {k}: an exact test needs 2^k refits (limit k = {MAX_EXACT_K})", field="exact"
        )
    observed = meta_analyze(y, v, method=canonical, test=test, control=control)
    signs = sign_matrix(k, use_exact, int(iter), seed)
    est, zval = _refit_all(signs * y, v, canonical, test, control)
    ok = np.isfinite(zval)
    pvalue = float(np.mean(np.abs(zval[ok]) >= abs(observed.zval) - COMPTOL))
    qm = observed.zval**2
    qm_p = float(np.mean(zval[ok] ** 2 >= qm - COMPTOL))
    return PermutationResult(
        estimate=observed.estimate, zval=observed.zval, pvalue=pvalue, qm=qm, qm_pvalue=qm_p,
        iter=len(signs), exact=use_exact, method=canonical, test=test, zval_perm=zval,
        estimate_perm=est,
    )  # fmt: skip


def _refit_all(
    ys: FloatArray, v: FloatArray, method: str, test: str, control: Control | None
) -> tuple[FloatArray, FloatArray]:
    """Estimates and test statistics of every row of ``ys`` (same ``v`` in each)."""
    if method not in BATCHED_METHODS:
        return _loop(ys, v, method, test, control)
    est, zval = np.empty(len(ys)), np.empty(len(ys))
    for lo in range(0, len(ys), CHUNK_ROWS):
        e, z = _batched(ys[lo : lo + CHUNK_ROWS], v, method, test, control)
        est[lo : lo + len(e)], zval[lo : lo + len(z)] = e, z
    return est, zval


def _batched(
    ys: FloatArray, v: FloatArray, method: str, test: str, control: Control | None
) -> tuple[FloatArray, FloatArray]:
    n, k = ys.shape
    tau2 = _tau2_many(ys, v, method, control)
    w = 1 / (v[None, :] + tau2[:, None])
    s1 = w.sum(axis=1)
    est = np.einsum("ij,ij->i", w, ys) / s1
    var = 1 / s1
    if test == "knha":
        resid = ys - est[:, None]
        rss = np.einsum("ij,ij->i", w, resid * resid)
        var = var * np.where(rss <= EPS, 0.0, rss / (k - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = est / np.sqrt(var)
    return est, np.asarray(zval, dtype=np.float64)


def _tau2_many(ys: FloatArray, v: FloatArray, method: str, control: Control | None) -> FloatArray:
    n, k = ys.shape
    if method == "EE":
        return np.zeros(n)
    if method == "HE":
        yc = ys - ys.mean(axis=1, keepdims=True)
        ss = np.einsum("ij,ij->i", yc, yc)
        return np.asarray(np.maximum(0.0, (ss - float(v.sum()) * (k - 1) / k) / (k - 1)))
    if method == "DL":
        w = 1 / v
        s1 = float(w.sum())
        mu = (ys @ w) / s1
        resid = ys - mu[:, None]
        q = np.maximum(0.0, (resid * resid) @ w)
        return np.asarray(np.maximum(0.0, (q - (k - 1)) / (s1 - float(w @ w) / s1)))
    return reml_many(ys, np.broadcast_to(v, ys.shape), control, strict=False).tau2


def _loop(
    ys: FloatArray, v: FloatArray, method: str, test: str, control: Control | None
) -> tuple[FloatArray, FloatArray]:
    est, zval = np.full(len(ys), np.nan), np.full(len(ys), np.nan)
    for i, row in enumerate(ys):
        try:
            fit = fit_intercept(row, v, method, test, 0.95, control)
        except EvidenceInputError:  # a non-converging refit is skipped, as metafor's try()
            continue
        est[i] = float(fit.beta[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            zval[i] = float(fit.beta[0] / fit.se[0])
    return est, zval
