"""Closed forms of every τ² estimator for the intercept-only model (no k×k matrices).

For ``X = 1`` the residual projector ``P = W - w wᵀ/Σw`` has a rank-one correction, so every
quantity :mod:`strigil.evidence.heterogeneity` takes from ``P`` reduces to sums of powers of the
weights: ``tr P = S₁ - S₂/S₁``, ``tr PP = S₂ - 2S₃/S₁ + S₂²/S₁²`` and, for two vectors ``a, b``,
``Σᵢⱼ Pᵢⱼ² aᵢ bⱼ = Σ aᵢbᵢ(wᵢ² - 2wᵢ³/S₁) + (Σwᵢ²aᵢ)(Σwⱼ²bⱼ)/S₁²`` (``Sₙ = Σ wᵢⁿ``).
The algorithms (start values, step-halving, stopping rules, Brent's root finder, the τ² = 0
likelihood check) are the general ones step for step, so results agree with them — and with
metafor — to rounding; a single fit costs a few dozen vector operations instead of building a
k×k matrix in every Fisher-scoring step.

Speed: for k ≈ 20 a numpy call costs more than its arithmetic, so each weight vector is turned
into all the sums a step needs with two matrix-vector products against the precomputed columns
``[1, y - ȳ, (y - ȳ)²]`` (``Σw, Σwy, Σwy²`` and the same with ``w²``), and the rest is scalar
arithmetic. Centring on ȳ once keeps ``Σw(y - μ)² = Σwy² - μΣwy`` free of cancellation.
"""

from __future__ import annotations

import math

import numpy as np

from strigil.evidence.heterogeneity import (
    Control,
    ConvergenceError,
    Tau2Estimate,
    pm_root,
)
from strigil.evidence.inputs import FloatArray

LOG_2PI = math.log(2 * math.pi)
_POWERS = np.array([[-1.0], [-2.0], [-3.0]])
_COLUMN_POWERS = np.array([0.0, 1.0, 2.0])


class Prepared:
    """One data set, centred once, with the columns every weighted sum is taken from."""

    __slots__ = ("cols", "k", "v", "y", "ybar", "yc")

    def __init__(self, y: FloatArray, v: FloatArray) -> None:
        self.y, self.v, self.k = y, v, len(y)
        self.ybar = float(y.sum()) / self.k
        self.yc = y - self.ybar
        self.cols = self.yc[:, None] ** _COLUMN_POWERS  # [1, y - ȳ, (y - ȳ)²]


class Moments:
    """Weighted sums at the weights ``w = 1/vt`` (means are on the centred scale)."""

    __slots__ = ("mu", "rss", "s1", "s2", "s3", "w", "ypp")

    def __init__(self, vt: FloatArray, cols: FloatArray) -> None:
        # One (3, k) table of w, w², w³ and one product give every sum: few, larger numpy calls.
        table = vt**_POWERS
        (a0, a1, a2), (b0, b1, b2), (c0, _, _) = table.dot(cols).tolist()
        self.w, self.s1, self.s2, self.s3 = table[0], a0, b0, c0
        self.mu = a1 / a0
        self.rss = a2 - self.mu * a1  # Σ w (y - μ)²
        self.ypp = b2 - 2 * self.mu * b1 + self.mu * self.mu * b0  # Σ w² (y - μ)²

    @property
    def tr_p(self) -> float:
        return self.s1 - self.s2 / self.s1

    @property
    def tr_pp(self) -> float:
        return self.s2 - 2 * self.s3 / self.s1 + self.s2 * self.s2 / (self.s1 * self.s1)


def wmean_rss(y: FloatArray, w: FloatArray) -> tuple[float, float, float]:
    """``Σw``, the weighted mean and the weighted residual sum of squares ``Σ w (y - ȳ_w)²``."""
    s1 = float(w.sum())
    mu = float(w @ y) / s1
    r = y - mu
    return s1, mu, float(w @ (r * r))


def _pp_sum(w: FloatArray, s1: float, a: FloatArray, b: FloatArray) -> float:
    """``Σᵢⱼ Pᵢⱼ² aᵢ bⱼ`` for ``P = W - w wᵀ/S₁``."""
    w2 = w * w
    return float(a @ (b * (w2 - 2 * w2 * w / s1)) + float(w2 @ a) * float(w2 @ b) / s1**2)


def estimate_tau2_intercept(
    method: str, d: Prepared, m0: Moments, control: Control
) -> tuple[Tau2Estimate, Moments]:
    """τ² of the intercept-only model by ``method`` (EE/FE give 0) and the moments at it.

    ``m0`` holds the common-effect sums (weights ``1/v``), shared with Cochran's Q.
    """
    if method in ("EE", "FE") or d.k == 1:
        return Tau2Estimate(0.0, None), m0
    if method == "DL":
        est = _dl(d, m0)
    elif method == "HE":
        est = _he(d)
    elif method == "SJ":
        est = _sj(d)
    elif method == "PM":
        est = _pm(d, control)
    else:
        return _fisher_scoring(d, m0, control, reml=method == "REML")
    return est, Moments(d.v + est.tau2, d.cols)


def _dl(d: Prepared, m0: Moments) -> Tau2Estimate:
    df = d.k - 1
    tr_p = m0.tr_p
    tau2 = max(0.0, (max(0.0, m0.rss) - df) / tr_p)
    var = (2 * df + 4 * tau2 * tr_p + 2 * tau2**2 * m0.tr_pp) / tr_p**2
    return Tau2Estimate(tau2, math.sqrt(var))


def _he_tau2(d: Prepared) -> tuple[float, float, float]:
    """HE τ², ``tr(PV) = Σv (k-1)/k`` and ``Σv`` (P = I - 11ᵀ/k)."""
    k = d.k
    sv = float(d.v.sum())
    tr_pv = sv * (k - 1) / k
    ss = float(d.yc.dot(d.yc))
    return max(0.0, (ss - tr_pv) / (k - 1)), tr_pv, sv


def _he(d: Prepared) -> Tau2Estimate:
    k, df = d.k, d.k - 1
    tau2, tr_pv, sv = _he_tau2(d)
    # tr(PVPV) with P = I - 11ᵀ/k: Σ vᵢ² (1 - 2/k) + (Σv)²/k²
    tr_pvpv = float(d.v @ d.v) * (1 - 2 / k) + sv * sv / (k * k)
    t = tau2
    return Tau2Estimate(tau2, math.sqrt((2 * tr_pvpv + 4 * t * tr_pv + 2 * t * t * df) / df**2))


def _sj(d: Prepared) -> Tau2Estimate:
    k, df, v = d.k, d.k - 1, d.v
    tau0 = float(d.yc @ d.yc) / k
    m = Moments(v + tau0, d.cols)
    tau2 = max(0.0, tau0 * m.rss / df)
    tr_pvpv = _pp_sum(m.w, m.s1, v, v)
    pvp = _pp_sum(m.w, m.s1, np.ones(k), v)
    t = tau2
    var = tau0**2 / df**2 * (2 * tr_pvpv + 4 * t * pvp + 2 * t * t * m.tr_pp)
    return Tau2Estimate(tau2, math.sqrt(var))


def _pm(d: Prepared, control: Control) -> Tau2Estimate:
    target = d.k - 1
    cols, v = d.cols, d.v

    def f(tau2: float) -> float:
        a0, a1, a2 = (1 / (v + tau2)).dot(cols).tolist()
        return a2 - a1 * a1 / a0 - target

    tau2 = pm_root(f, d.y, control)
    s1 = float((1 / (v + tau2)).sum())
    return Tau2Estimate(tau2, math.sqrt(2 * d.k**2 / target / s1**2))


def _loglik(d: Prepared, m: Moments, tau2: float, reml: bool) -> float:
    logdet = float(np.log(d.v + tau2).sum())
    if not reml:
        return -0.5 * d.k * LOG_2PI - 0.5 * logdet - m.rss / 2
    return -0.5 * (d.k - 1) * LOG_2PI - 0.5 * logdet - 0.5 * math.log(m.s1) - m.rss / 2


def loglik_intercept(y: FloatArray, v: FloatArray, tau2: float, reml: bool) -> float:
    """(Restricted) log-likelihood of the intercept-only model at ``tau2``."""
    d = Prepared(y, v)
    return _loglik(d, Moments(v + tau2, d.cols), tau2, reml)


def _fisher_scoring(
    d: Prepared, m0: Moments, control: Control, reml: bool
) -> tuple[Tau2Estimate, Moments]:
    tau2 = _he_tau2(d)[0]
    change, iterations = control.threshold + 1, 0
    while change > control.threshold:
        iterations += 1
        old = tau2
        m = Moments(d.v + tau2, d.cols)
        adj = (m.ypp - m.tr_p) / m.tr_pp if reml else (m.ypp - m.s1) / m.s2
        if not math.isfinite(adj):
            adj = 0.0
        if tau2 <= 0 < -adj:
            adj = 0.0  # halving a step down from τ² = 0 ends only when it underflows to -0.0
        while tau2 + adj < 0:
            adj /= 2
        tau2 += adj
        change = abs(old - tau2)
        if iterations > control.maxiter:
            raise ConvergenceError("Fisher scoring for tau2 did not converge")
    m = Moments(d.v + tau2, d.cols)
    if tau2 > control.threshold and (
        _loglik(d, m0, 0.0, reml) - _loglik(d, m, tau2, reml) > control.tol
    ):
        tau2, m = 0.0, m0
    se = math.sqrt(2 / m.tr_pp) if reml else math.sqrt(2 / m.s2)
    return Tau2Estimate(tau2, se, iterations), m
