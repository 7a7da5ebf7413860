"""GOSH: the fit of every subset of the studies (Olkin, Dahabreh & Trikalinos 2012).

A "graphical display of study heterogeneity" plots the pooled estimate against I² for all
``2^k - 1`` non-empty subsets; clusters reveal studies that drive heterogeneity. metafor's
``gosh()`` refits one subset at a time (≈ 4 ms each, over an hour for k = 20). For the
common-effect and DerSimonian-Laird models every statistic is a closed form in subset sums of
``wᵢ``, ``wᵢyᵢ`` and ``wᵢyᵢ²``, so here the subsets are fitted together: a chunk of membership
rows times the study vectors gives all sums at once (a matrix product), and the residual sum of
squares is taken around each subset's own mean (two passes, no cancellation). Chunks keep memory
bounded whatever k. Definitions follow metafor's fast path for these models: for a subset of
size 1, Q = 0, I² = 0, H² = 1, τ² = 0; otherwise I² = max(0, 100 (Q - df)/Q) (0 when Q = 0) and
H² = Q/df; τ² (DL) = max(0, (Q - df)/(S₁ - S₂/S₁)).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np
from numpy.typing import ArrayLike, NDArray

from strigil.evidence.inputs import (
    EvidenceInputError,
    FloatArray,
    as_vector,
    check_variances,
    same_length,
)

GOSH_METHODS = ("FE", "EE", "DL")
MAX_ALL_SUBSETS_K = 20
"""2^20 - 1 = 1,048,575 fits: the largest all-subsets run that stays in seconds and ~100 MB."""
CHUNK_ROWS = 1 << 16


@dataclass(frozen=True, eq=False)
class GoshResult:
    """One row per subset: its membership (row i of ``membership``) and its fit."""

    method: str
    membership: NDArray[np.bool_]
    k: NDArray[np.int64]
    estimate: FloatArray
    tau2: FloatArray
    i2: FloatArray
    h2: FloatArray
    q: FloatArray
    exact: bool

    def __len__(self) -> int:
        return len(self.estimate)


def all_subsets(k: int, start: int = 1, stop: int | None = None) -> NDArray[np.bool_]:
    """Membership rows of subsets ``start .. stop-1``; bit j of the row number is study j.

    Row order is that of R's ``expand.grid`` (study 1 varies fastest), without the empty set.
    """
    end = (1 << k) if stop is None else stop
    out = np.empty((end - start, k), dtype=bool)
    bits = np.arange(k, dtype=np.int64)
    for lo in range(start, end, CHUNK_ROWS):  # int64 codes in chunks: 8 bytes, not 1, per cell
        codes = np.arange(lo, min(lo + CHUNK_ROWS, end), dtype=np.int64)
        out[lo - start : lo - start + len(codes)] = (codes[:, None] >> bits) & 1 == 1
    return out


def sample_subsets(k: int, n: int, seed: int | None) -> NDArray[np.bool_]:
    """``n`` random subsets as metafor draws them: size ~ Binomial(k, ½) (≥ 1), then members."""
    rng = np.random.default_rng(seed)
    m = rng.choice(np.arange(1, k + 1), size=n, p=_binom_pmf(k))
    # Random keys per row; a study is in the subset when its key ranks among the m smallest.
    ranks = np.argsort(np.argsort(rng.random((n, k)), axis=1), axis=1)
    return np.asarray(ranks < m[:, None])


def _binom_pmf(k: int) -> FloatArray:
    """Binomial(k, ½) probabilities of sizes 1..k, renormalised without the empty set."""
    pmf = np.array([comb(k, m) for m in range(1, k + 1)], dtype=np.float64)
    return pmf / pmf.sum()


def gosh(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    method: str = "FE",
    subsets: int | None = None,
    seed: int | None = None,
) -> GoshResult:
    """Fit every non-empty subset of the k studies (or ``subsets`` random ones).

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances.
    method
        ``"FE"`` (alias ``"EE"``) or ``"DL"``.
    subsets
        ``None``: all ``2^k - 1`` subsets, allowed for k ≤ 20. A number: that many random
        subsets (metafor's sampling: size ~ Binomial(k, ½)); if it covers all subsets anyway,
        all are fitted exactly, as metafor does.
    seed
        Seed of the random subsets.
    """
    y, v = as_vector(yi, "yi"), as_vector(vi, "vi")
    k = same_length(yi=y, vi=v)
    check_variances(v)
    if method not in GOSH_METHODS:
        raise EvidenceInputError(
            f"method {method!r}: gosh() supports {', '.join(GOSH_METHODS)}", field="method"
        )
    if k < 2:
        raise EvidenceInputError(f"k = {k}: GOSH needs at least 2 studies", field="yi")
    total = (1 << k) - 1 if k < 63 else None
    if subsets is not None and (isinstance(subsets, bool) or int(subsets) < 1):
        raise EvidenceInputError("subsets must be a positive whole number", field="subsets")
    exact = subsets is None or (total is not None and total <= int(subsets))
    if exact and k > MAX_ALL_SUBSETS_K:
        raise EvidenceInputError(
            f"k = {k}: all 2^k - 1 subsets are too many (limit k = {MAX_ALL_SUBSETS_K}); "
            "pass subsets=N to fit N random subsets",
            field="subsets",
        )
    membership = all_subsets(k) if exact else sample_subsets(k, int(subsets or 0), seed)
    stats = _fit_chunks(membership, y, v, method != "DL")
    return GoshResult(
        method="EE" if method in ("FE", "EE") else method,
        membership=membership,
        k=membership.sum(axis=1, dtype=np.int64),
        exact=exact,
        **stats,
    )


def _fit_chunks(
    membership: NDArray[np.bool_], y: FloatArray, v: FloatArray, common: bool
) -> dict[str, FloatArray]:
    n = len(membership)
    out = {name: np.empty(n) for name in ("estimate", "tau2", "i2", "h2", "q")}
    w = 1 / v
    # Centring y on its weighted mean leaves every subset's Q unchanged and keeps sums small.
    shift = float(w @ y) / float(w.sum())
    yc = y - shift
    for lo in range(0, n, CHUNK_ROWS):
        part = _fit_chunk(membership[lo : lo + CHUNK_ROWS], yc, v, w, common)
        for name, values in part.items():
            out[name][lo : lo + len(values)] = values
    out["estimate"] += shift
    return out


def _fit_chunk(
    m: NDArray[np.bool_], y: FloatArray, v: FloatArray, w: FloatArray, common: bool
) -> dict[str, FloatArray]:
    mf = m.astype(np.float64)
    size = mf.sum(axis=1)
    s1 = mf @ w
    mu = (mf @ (w * y)) / s1
    resid = y[None, :] - mu[:, None]
    q = np.maximum(0.0, np.einsum("ij,ij->i", mf * w, resid * resid))
    df = size - 1
    single = df == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        i2 = np.where(q > 0, np.maximum(0.0, 100 * (q - df) / q), 0.0)
        h2 = np.where(single, 1.0, q / np.where(single, 1.0, df))
    i2[single] = 0.0
    q[single] = 0.0
    if common:
        return {"estimate": mu, "tau2": np.zeros_like(mu), "i2": i2, "h2": h2, "q": q}
    s2 = mf @ (w * w)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau2 = np.where(single, 0.0, np.maximum(0.0, (q - df) / (s1 - s2 / s1)))
    wr = mf / (v[None, :] + tau2[:, None])
    est = (wr @ y) / wr.sum(axis=1)
    return {"estimate": est, "tau2": tau2, "i2": i2, "h2": h2, "q": q}
