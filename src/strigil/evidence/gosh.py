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


def all_subsets(k: int) -> NDArray[np.bool_]:
    """Membership rows of all non-empty subsets; bit j of (row number + 1) is study j.

    Row order is that of R's ``expand.grid`` (study 1 varies fastest), without the empty set.
    """
    codes = np.arange(1, 1 << k, dtype="<u4")
    bits = np.unpackbits(codes.view(np.uint8).reshape(-1, 4), axis=1, bitorder="little")
    return np.asarray(bits[:, :k], dtype=bool)


def subset_sums(columns: FloatArray) -> FloatArray:
    """Column sums over every non-empty subset of the rows, in :func:`all_subsets` order.

    Doubling: the sums over subsets of the first j + 1 studies are those of the first j,
    followed by the same plus study j's row — 2^k rows in O(2^k) additions, not O(2^k k).
    """
    k, c = columns.shape
    out = np.zeros((1 << k, c))
    size = 1
    for j in range(k):
        np.add(out[:size], columns[j], out=out[size : 2 * size])
        size *= 2
    return out[1:]


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
    stats = _fit(membership, y, v, method != "DL", exact)
    return GoshResult(
        method="EE" if method in ("FE", "EE") else method,
        membership=membership,
        k=membership.sum(axis=1, dtype=np.int64),
        exact=exact,
        **stats,
    )


def _fit(
    membership: NDArray[np.bool_], y: FloatArray, v: FloatArray, common: bool, exact: bool
) -> dict[str, FloatArray]:
    w = 1 / v
    # Centring y on its weighted mean leaves every subset's Q unchanged and keeps
    # Σwy² - (Σwy)²/Σw free of cancellation; the shift is added back to the estimates.
    shift = float(w @ y) / float(w.sum())
    yc = y - shift
    columns = np.column_stack([w, w * yc, w * yc * yc, w * w])
    if exact:
        sums = subset_sums(columns)
    else:
        sums = np.concatenate(
            [
                membership[lo : lo + CHUNK_ROWS] @ columns
                for lo in range(0, len(membership), CHUNK_ROWS)
            ]
        )
    s1, swy, swy2, s2 = sums.T
    df = membership.sum(axis=1) - 1.0
    estimate = swy / s1
    q = np.maximum(0.0, swy2 - swy * estimate)
    single = df == 0
    q[single] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        i2 = np.where(q > 0, np.maximum(0.0, 100 * (q - df) / q), 0.0)
        h2 = np.where(single, 1.0, q / np.where(single, 1.0, df))
        tau2 = (
            np.zeros_like(q)
            if common
            else np.where(single, 0.0, np.maximum(0.0, (q - df) / (s1 - s2 / s1)))
        )
    if not common:
        _random_effects_estimates(membership, yc, v, tau2, estimate)
    return {"estimate": estimate + shift, "tau2": tau2, "i2": i2, "h2": h2, "q": q}


def _random_effects_estimates(
    membership: NDArray[np.bool_], y: FloatArray, v: FloatArray, tau2: FloatArray, out: FloatArray
) -> None:
    """Overwrite ``out`` with ``Σ y/(v + τ²) / Σ 1/(v + τ²)`` where a subset has τ² > 0."""
    rows = np.flatnonzero(tau2 > 0)
    for lo in range(0, len(rows), CHUNK_ROWS):
        idx = rows[lo : lo + CHUNK_ROWS]
        wr = membership[idx] / (v[None, :] + tau2[idx, None])
        out[idx] = (wr @ y) / wr.sum(axis=1)
