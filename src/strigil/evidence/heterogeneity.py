"""Estimators of the between-study variance τ² for (mixed-effects) meta-analysis models.

Each estimator follows the algorithm and the defaults of ``metafor::rma.uni`` (Viechtbauer 2005,
2010) closely enough that results agree to ~1e-10, not just to the estimator's definition: the
iterative ones stop where metafor stops, so their answers match metafor's *default* output, which
can differ from the exact root in the 4th-5th significant digit.

* ``DL``: method of moments on Cochran's Q (DerSimonian & Laird 1986).
* ``HE``: Hedges' unweighted method of moments (Hedges & Olkin 1985).
* ``SJ``: Sidik & Jonkman (2005), one re-weighting step from ``τ₀² = mean((y - ȳ)²)``;
  metafor's ``"SJ"`` is this single step (its iterated variant is ``"SJIT"``).
* ``PM``: Paule & Mandel (1982), the τ² at which the generalised Q equals its degrees of freedom,
  found with Brent's (1973) root finder on ``[0, max(100, 10 MAD(y)²)]`` with tolerance
  ``ε^¼`` as R's ``uniroot``.
* ``ML`` / ``REML``: Fisher scoring started at the (truncated) HE estimate, with step-halving to
  keep τ² ≥ 0, stopping when the change is ≤ ``threshold`` (1e-5), and a final check that the
  likelihood at τ² = 0 is not higher (Viechtbauer 2005).

Every estimate is truncated at zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from strigil.evidence.inputs import EvidenceInputError, FloatArray

EPS = float(np.finfo(np.float64).eps)
MAD_CONSTANT = 1.4826  # R's mad(): consistency constant for the normal distribution


class ConvergenceError(EvidenceInputError):
    """An iterative τ² estimator did not converge (a ValueError, like all bad-input errors)."""


@dataclass(frozen=True)
class Control:
    """Convergence settings; the defaults are metafor's ``rma.uni`` control defaults.

    ``threshold`` stops Fisher scoring (ML/REML); ``tol`` is the root-finder tolerance (PM) and
    the log-likelihood tolerance of the τ² = 0 check. Use :meth:`tight` for near-exact roots.
    """

    threshold: float = 1e-5
    tol: float = EPS**0.25
    maxiter: int = 100
    tau2_max: float = 100.0

    @classmethod
    def tight(cls) -> Control:
        """Settings that converge to machine precision rather than to metafor's defaults."""
        return cls(threshold=1e-10, tol=1e-12, maxiter=1000)


@dataclass(frozen=True)
class Tau2Estimate:
    """τ² with its standard error (``None`` when the estimator has none) and the iterations."""

    tau2: float
    se: float | None
    iterations: int = 0


@dataclass(frozen=True)
class Design:
    """Outcomes, sampling variances and model matrix of one (meta-regression) model."""

    y: FloatArray
    v: FloatArray
    X: FloatArray

    @property
    def k(self) -> int:
        return int(self.X.shape[0])

    @property
    def p(self) -> int:
        return int(self.X.shape[1])

    @property
    def yc(self) -> FloatArray:
        """Centred outcomes; P annihilates the intercept, centring only helps rounding."""
        return self.y - self.y.mean()


def residual_maker(w: FloatArray, X: FloatArray) -> FloatArray:
    """``P = W - W X (XᵀWX)⁻¹ XᵀW``: the weighted residual projector of the model."""
    wx = X * w[:, None]
    return np.diag(w) - wx @ np.linalg.solve(X.T @ wx, wx.T)


def _ols_residual_maker(X: FloatArray) -> FloatArray:
    return np.eye(X.shape[0]) - X @ np.linalg.solve(X.T @ X, X.T)


def estimate_tau2(method: str, d: Design, control: Control) -> Tau2Estimate:
    """Dispatch to the estimator named ``method`` (EE/FE give τ² = 0)."""
    if method in ("EE", "FE") or d.k == 1:
        return Tau2Estimate(0.0, None)
    estimators: dict[str, Callable[[Design, Control], Tau2Estimate]] = {
        "DL": _dl,
        "HE": _he,
        "SJ": _sj,
        "PM": _pm,
    }
    if method in ("ML", "REML"):
        return _fisher_scoring(d, control, reml=method == "REML")
    return estimators[method](d, control)


def _moment_se(scale: float, df: int, pv: FloatArray, pvp: float, pp: float, tau2: float) -> float:
    """SE of a quadratic-form τ² estimator: ``scale²/df² (2 tr(PVPV) + 4τ² c + 2τ⁴ tr(PP))``."""
    t = max(tau2, 0.0)
    return float(np.sqrt(scale**2 / df**2 * (2 * np.sum(pv * pv.T) + 4 * t * pvp + 2 * t**2 * pp)))


def _dl(d: Design, control: Control) -> Tau2Estimate:  # noqa: ARG001 - uniform signature
    P = residual_maker(1 / d.v, d.X)
    rss = float(d.yc @ P @ d.yc)
    tr_p = float(np.trace(P))
    tau2 = max(0.0, (rss - (d.k - d.p)) / tr_p)
    se = np.sqrt((2 * (d.k - d.p) + 4 * tau2 * tr_p + 2 * tau2**2 * np.sum(P * P)) / tr_p**2)
    return Tau2Estimate(tau2, float(se))


def _he(d: Design, control: Control) -> Tau2Estimate:  # noqa: ARG001 - uniform signature
    P = _ols_residual_maker(d.X)
    pv = P * d.v[None, :]
    tr_pv = float(np.trace(pv))
    tau2 = max(0.0, (float(d.yc @ P @ d.yc) - tr_pv) / (d.k - d.p))
    df = d.k - d.p
    return Tau2Estimate(tau2, _moment_se(1.0, df, pv, tr_pv, float(df), tau2))


def _sj(d: Design, control: Control) -> Tau2Estimate:  # noqa: ARG001 - uniform signature
    tau0 = float(np.mean(d.yc**2))
    P = residual_maker(1 / (d.v + tau0), d.X)
    pv = P * d.v[None, :]
    tau2 = max(0.0, tau0 * float(d.yc @ P @ d.yc) / (d.k - d.p))
    se = _moment_se(tau0, d.k - d.p, pv, float(np.sum(pv * P)), float(np.sum(P * P)), tau2)
    return Tau2Estimate(tau2, se)


def generalised_q(d: Design, tau2: float) -> float:
    """Generalised Cochran's Q at ``tau2``: ``Σ wᵢ (yᵢ - ŷᵢ)²`` with ``wᵢ = 1/(vᵢ + τ²)``."""
    return float(d.yc @ residual_maker(1 / (d.v + tau2), d.X) @ d.yc)


def _pm(d: Design, control: Control) -> Tau2Estimate:
    target = d.k - d.p

    def f(tau2: float) -> float:
        return generalised_q(d, tau2) - target

    tau2 = pm_root(f, d.y, control)
    w = 1 / (d.v + tau2)
    return Tau2Estimate(tau2, float(np.sqrt(2 * d.k**2 / target / np.sum(w) ** 2)))


def brent_root(
    f: Callable[[float], float],
    a: float,
    b: float,
    fa: float,
    fb: float,
    tol: float,
    maxiter: int,
) -> float:
    """Zero of ``f`` in ``[a, b]`` by Brent's (1973) method, as R's ``uniroot`` runs it.

    Combines bisection, the secant step and inverse quadratic interpolation; the interval is
    shrunk until it is within ``2 ε |b| + tol/2``. Written from Brent's published algorithm so
    the iterates (and hence the tolerance-limited answer) are the ones R reports.
    """
    if fa == 0:
        return a
    if fb == 0:
        return b
    c, fc = a, fa
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * EPS * abs(b) + tol / 2
        step = (c - b) / 2
        if abs(step) <= tol_act or fb == 0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            step = _interpolation_step(a, b, c, fa, fb, fc, step, prev_step, tol_act)
        if abs(step) < tol_act:
            step = tol_act if step > 0 else -tol_act
        a, fa = b, fb
        b += step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    raise ConvergenceError("root finding for tau2 did not converge")


def _interpolation_step(
    a: float,
    b: float,
    c: float,
    fa: float,
    fb: float,
    fc: float,
    bisect: float,
    prev_step: float,
    tol_act: float,
) -> float:
    """Secant (two points) or inverse quadratic (three points) step, if it is safe to take."""
    cb = c - b
    if a == c:
        t1 = fb / fa
        p, q = cb * t1, 1.0 - t1
    else:
        q, t1, t2 = fa / fc, fb / fc, fb / fa
        p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
        q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
    if p > 0:
        q = -q
    else:
        p = -p
    if p < 0.75 * cb * q - abs(tol_act * q) / 2 and p < abs(prev_step * q / 2):
        return p / q
    return bisect


def _scoring_step(d: Design, tau2: float, reml: bool) -> float:
    w = 1 / (d.v + tau2)
    P = residual_maker(w, d.X)
    py = P @ d.yc
    if reml:
        return float((py @ py - np.trace(P)) / np.sum(P * P))
    return float((py @ py - np.sum(w)) / np.sum(w**2))


def _fisher_scoring(d: Design, control: Control, reml: bool = True) -> Tau2Estimate:
    tau2 = _he(d, control).tau2
    change, iterations = control.threshold + 1, 0
    while change > control.threshold:
        iterations += 1
        old = tau2
        adj = _scoring_step(d, tau2, reml)
        if not np.isfinite(adj):
            adj = 0.0
        while tau2 + adj < 0:
            adj /= 2
        tau2 += adj
        change = abs(old - tau2)
        if iterations > control.maxiter:
            raise ConvergenceError("Fisher scoring for tau2 did not converge")
    if tau2 > control.threshold and loglik(d, 0.0, reml) - loglik(d, tau2, reml) > control.tol:
        tau2 = 0.0
    w = 1 / (d.v + tau2)
    if reml:
        P = residual_maker(w, d.X)
        return Tau2Estimate(tau2, float(np.sqrt(2 / np.sum(P * P))), iterations)
    return Tau2Estimate(tau2, float(np.sqrt(2 / np.sum(w**2))), iterations)


def loglik(d: Design, tau2: float, reml: bool) -> float:
    """(Restricted) log-likelihood of the normal-normal model at ``tau2`` (Viechtbauer 2005)."""
    w = 1 / (d.v + tau2)
    wx = d.X * w[:, None]
    xwx = d.X.T @ wx
    beta = np.linalg.solve(xwx, wx.T @ d.yc)
    rss = float(np.sum(w * (d.yc - d.X @ beta) ** 2))
    if not reml:
        return -0.5 * d.k * np.log(2 * np.pi) - 0.5 * float(np.sum(np.log(d.v + tau2))) - rss / 2
    logdet = float(np.linalg.slogdet(xwx)[1])
    return (
        -0.5 * (d.k - d.p) * np.log(2 * np.pi)
        - 0.5 * float(np.sum(np.log(d.v + tau2)))
        - 0.5 * logdet
        - rss / 2
    )


def pm_root(f: Callable[[float], float], y: FloatArray, control: Control) -> float:
    """The Paule-Mandel τ²: 0 when the generalised Q is already below its df at τ² = 0,
    else the root of ``f`` (Q(τ²) - df) bracketed as metafor brackets it."""
    f0 = f(0.0)
    if f0 < 0:
        return 0.0
    mad = MAD_CONSTANT * float(np.median(np.abs(y - np.median(y))))
    upper = max(control.tau2_max, 10 * mad**2)
    f_up = f(upper)
    if f_up > 0:
        raise ConvergenceError(f"Paule-Mandel: tau2 exceeds the search limit {upper:g}")
    return brent_root(f, 0.0, upper, f0, f_up, control.tol, control.maxiter)
