"""Common-effect and random-effects meta-analysis, numerically matched to R's metafor.

The model is the normal-normal hierarchical model ``yᵢ = μ + uᵢ + εᵢ``, ``uᵢ ~ N(0, τ²)``,
``εᵢ ~ N(0, vᵢ)`` with known ``vᵢ`` (Viechtbauer 2010). μ is estimated by inverse-variance
weighted least squares with weights ``1/(vᵢ + τ̂²)``; τ² comes from
:mod:`strigil.evidence.heterogeneity`.

Inference follows ``metafor::rma.uni``:

* ``test="z"``: Wald-type interval and test with a standard normal reference.
* ``test="knha"``: Hartung & Knapp (2001) / Sidik & Jonkman (2002): the variance of μ̂ is
  multiplied by ``s² = Σ wᵢ (yᵢ - μ̂)² / (k - 1)`` and a t distribution with ``k - 1`` df is used.
  Like metafor's default, ``s²`` is **not** truncated at 1 (that is metafor's ``"adhoc"``).

Heterogeneity statistics use metafor's definitions: Cochran's Q with common-effect weights,
``I² = 100 τ² / (τ² + ṽ)`` and ``H² = (τ² + ṽ)/ṽ`` with the "typical" within-study variance
``ṽ = (k - 1) Σwᵢ / ((Σwᵢ)² - Σwᵢ²)`` (Higgins & Thompson 2002); for a common-effect model
``I² = max(0, 100 (Q - df)/Q)`` and ``H² = Q/df``. The prediction interval is the one
``predict.rma`` reports: ``μ̂ ± crit √(SE² + τ²)`` with the normal (z) or ``t(k-1)`` (knha)
critical value (Higgins, Thompson & Spiegelhalter 2009; Riley et al. 2011).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from strigil.evidence.heterogeneity import EPS, Control, Design, estimate_tau2, residual_maker
from strigil.evidence.inputs import (
    EvidenceInputError,
    FloatArray,
    as_vector,
    check_level,
    check_variances,
    same_length,
)
from strigil.evidence.intercept import Moments, Prepared, estimate_tau2_intercept

METHODS = ("EE", "FE", "DL", "REML", "PM", "ML", "HE", "SJ")
TESTS = ("z", "knha")
VARIANCE_RATIO_LIMIT = 1e7
"""metafor's ``rma.uni`` warns when ``max(vi)/min(vi)`` reaches this: weights then span seven
orders of magnitude and the fit may not be stable."""
WARN_VARIANCE_RATIO = (
    "Ratio of largest to smallest sampling variance extremely large. "
    "May not be able to obtain stable results."
)
WARN_KNHA_FE = "Knapp & Hartung method is not meant to be used in the context of {method} models."


def variance_ratio(v: FloatArray) -> float:
    """``max(vi) / min(vi)``: how many orders of magnitude the weights span."""
    return float(v.max()) / float(v.min())


def fit_warnings(
    v: FloatArray, method: str, test: str, ratio: float | None = None
) -> tuple[str, ...]:
    """The warnings metafor's ``rma.uni`` gives for these data and settings (same wording)."""
    out: list[str] = []  # in the order rma.uni() checks them
    if (variance_ratio(v) if ratio is None else ratio) >= VARIANCE_RATIO_LIMIT:
        out.append(WARN_VARIANCE_RATIO)
    if method in ("EE", "FE") and test == "knha":
        out.append(WARN_KNHA_FE.format(method=method))
    return tuple(out)


def z_crit(level: float) -> float:
    """Two-sided standard normal critical value (``scipy.special``: no distribution objects)."""
    return float(-special.ndtri((1 - level) / 2))


def t_crit(level: float, df: float) -> float:
    """Two-sided critical value of Student's t with ``df`` degrees of freedom."""
    return float(-special.stdtrit(df, (1 - level) / 2))


def z_pvalue(stat: FloatArray | float) -> FloatArray:
    """Two-sided p-value of a standard normal statistic."""
    return np.asarray(2 * special.ndtr(-np.abs(stat)), dtype=np.float64)


def t_pvalue(stat: FloatArray | float, df: float) -> FloatArray:
    """Two-sided p-value of a t statistic with ``df`` degrees of freedom."""
    return np.asarray(2 * special.stdtr(df, -np.abs(stat)), dtype=np.float64)


def chi2_sf(q: FloatArray | float, df: float) -> FloatArray:
    """Upper tail of χ² with ``df`` degrees of freedom."""
    return np.asarray(special.chdtrc(df, q), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class ModelFit:
    """A fitted (meta-regression) model: coefficients, their covariance and heterogeneity."""

    k: int
    p: int
    method: str
    test: str
    level: float
    beta: FloatArray
    vb: FloatArray
    tau2: float
    se_tau2: float | None
    q: float
    q_pvalue: float
    i2: float
    h2: float
    weights: FloatArray
    warnings: tuple[str, ...] = ()

    @property
    def se(self) -> FloatArray:
        return np.sqrt(np.diag(self.vb))

    @property
    def df(self) -> int | None:
        """Degrees of freedom of the t reference (knha), ``None`` for the normal reference."""
        return self.k - self.p if self.test == "knha" else None

    def crit(self) -> float:
        """Two-sided critical value of the reference distribution (NaN when df = 0)."""
        if self.df is None:
            return z_crit(self.level)
        return t_crit(self.level, self.df) if self.df > 0 else float("nan")

    def pvalues(self) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = self.beta / self.se
        if self.df is None:
            return z_pvalue(stat)
        if self.df <= 0:
            return np.full(self.p, np.nan)
        return t_pvalue(stat, self.df)


@dataclass(frozen=True, eq=False)
class MetaResult:
    """Immutable result of :func:`meta_analyze`; field names follow metafor where they can.

    ``zval`` is the test statistic (a t value when ``test == "knha"``, see ``df``); ``i2`` and
    ``weights`` are percentages; ``pi_low``/``pi_high`` bound the prediction interval for the
    true effect in a new study. ``warnings`` repeats, word for word, what metafor's ``rma``
    would warn about for the same fit (empty when it would say nothing).
    """

    k: int
    method: str
    test: str
    level: float
    estimate: float
    se: float
    zval: float
    df: int | None
    pvalue: float
    ci_low: float
    ci_high: float
    tau2: float
    se_tau2: float | None
    i2: float
    h2: float
    q: float
    q_df: int
    q_pvalue: float
    pi_low: float
    pi_high: float
    weights: FloatArray
    yi: FloatArray
    vi: FloatArray
    warnings: tuple[str, ...] = ()

    @property
    def tval(self) -> float:
        """The statistic under its t name (same number as ``zval``)."""
        return self.zval

    @property
    def tau(self) -> float:
        return float(np.sqrt(self.tau2))


def _frozen(arr: FloatArray) -> FloatArray:
    out = np.array(arr, dtype=np.float64)
    out.flags.writeable = False
    return out


def validate(
    yi: ArrayLike, vi: ArrayLike, method: str, test: str, level: float
) -> tuple[FloatArray, FloatArray, str]:
    """Check the inputs of a meta-analysis; return clean arrays and the canonical method name."""
    if method not in METHODS:
        raise EvidenceInputError(
            f"unknown method {method!r}; expected one of {', '.join(METHODS)}", field="method"
        )
    if test not in TESTS:
        raise EvidenceInputError(
            f"unknown test {test!r}; expected one of {', '.join(TESTS)}", field="test"
        )
    check_level(level)
    y, v = as_vector(yi, "yi"), as_vector(vi, "vi")
    k = same_length(yi=y, vi=v)
    check_variances(v)
    canonical = "EE" if method == "FE" else method
    if k < 1:
        raise EvidenceInputError("no studies to pool")
    if k < 2 and canonical != "EE":
        raise EvidenceInputError(f"k = {k}: a random-effects model needs at least 2 studies")
    return y, v, canonical


def fit_model(
    d: Design, method: str, test: str, level: float, control: Control | None = None
) -> ModelFit:
    """Fit the model in ``d`` (no input checks: callers validate).

    With ``k = 1`` (first step of a cumulative analysis) τ² = 0 and, as in metafor, the normal
    reference is used whatever ``test`` says.
    """
    if d.k == 1:
        test = "z"
    if d.p == 1 and bool((d.X == 1).all()):
        return fit_intercept(d.y, d.v, method, test, level, control)
    return _fit_matrix(d, method, test, level, control)


def _fit_matrix(
    d: Design, method: str, test: str, level: float, control: Control | None
) -> ModelFit:
    """The general path: weighted least squares with k×k residual projectors."""
    est = estimate_tau2(method, d, control or Control())
    w = 1 / (d.v + est.tau2)
    wx = d.X * w[:, None]
    vb = np.asarray(np.linalg.inv(d.X.T @ wx), dtype=np.float64)
    beta = vb @ (wx.T @ d.y)
    if test == "knha":
        rss = float(np.sum(w * (d.y - d.X @ beta) ** 2))
        vb = np.asarray(vb * (0.0 if rss <= EPS else rss / (d.k - d.p)), dtype=np.float64)
    q, q_p, i2, h2 = _heterogeneity(d, method, est.tau2)
    return ModelFit(
        k=d.k, p=d.p, method=method, test=test, level=level, beta=beta, vb=vb, tau2=est.tau2,
        se_tau2=est.se, q=q, q_pvalue=q_p, i2=i2, h2=h2, weights=100 * w / w.sum(),
        warnings=fit_warnings(d.v, method, test),
    )  # fmt: skip


def fit_intercept(
    y: FloatArray, v: FloatArray, method: str, test: str, level: float, control: Control | None
) -> ModelFit:
    """:func:`fit_model` for the intercept-only model through closed forms (same numbers)."""
    k = len(y)
    if k == 1:
        test = "z"
    ratio = variance_ratio(v)
    if ratio >= VARIANCE_RATIO_LIMIT:
        # Weights seven orders of magnitude apart: sums of w², w³ cancel (tr PP ≈ 0), while
        # the projector's entries, squared after subtracting, keep their precision.
        return _fit_matrix(Design(y, v, np.ones((k, 1))), method, test, level, control)
    d = Prepared(y, v)
    m0 = Moments(v, d.cols)
    est, m = estimate_tau2_intercept(method, d, m0, control or Control())
    var = 1 / m.s1
    if test == "knha":
        var *= 0.0 if m.rss <= EPS else m.rss / (k - 1)
    q, q_p, i2, h2 = heterogeneity_intercept(k, m0, method, est.tau2)
    return ModelFit(
        k=k, p=1, method=method, test=test, level=level, beta=np.array([m.mu + d.ybar]),
        vb=np.array([[var]]), tau2=est.tau2, se_tau2=est.se, q=q, q_pvalue=q_p, i2=i2, h2=h2,
        weights=m.w * (100 / m.s1), warnings=fit_warnings(v, method, test, ratio),
    )  # fmt: skip


def i2_h2_common(q: float, df: int) -> tuple[float, float]:
    """I² and H² of a common-effect model from Q (metafor: I² = 0 when Q = 0)."""
    return (max(0.0, 100 * (q - df) / q) if q > 0 else 0.0), q / df


def heterogeneity_intercept(
    k: int, m0: Moments, method: str, tau2: float
) -> tuple[float, float, float, float]:
    """Q, its p-value, I² and H² of the intercept-only model from the common-effect sums."""
    df = k - 1
    if df <= 0:
        return 0.0, 1.0, 0.0, 1.0
    q = max(0.0, m0.rss)
    q_p = float(special.chdtrc(df, q))
    if method == "EE":
        i2, h2 = i2_h2_common(q, df)
        return q, q_p, i2, h2
    typical_v = df / m0.tr_p
    return q, q_p, 100 * tau2 / (typical_v + tau2), tau2 / typical_v + 1


def _heterogeneity(d: Design, method: str, tau2: float) -> tuple[float, float, float, float]:
    """Q, its p-value, I² and H² (metafor's "typical within-study variance" definition)."""
    df = d.k - d.p
    if df <= 0:
        return 0.0, 1.0, 0.0, 1.0
    P = residual_maker(1 / d.v, d.X)
    q = max(0.0, float(d.yc @ P @ d.yc))
    q_p = float(chi2_sf(q, df))
    if method == "EE":
        i2, h2 = i2_h2_common(q, df)
        return q, q_p, i2, h2
    typical_v = df / float(np.trace(P))
    return q, q_p, 100 * tau2 / (typical_v + tau2), tau2 / typical_v + 1


def meta_analyze(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    control: Control | None = None,
) -> MetaResult:
    """Pool effect sizes with a common-effect or random-effects model (metafor ``rma``).

    Parameters
    ----------
    yi, vi
        Effect sizes and their sampling variances (e.g. from :func:`effect_size`).
    method
        ``"EE"`` (alias ``"FE"``), ``"DL"``, ``"REML"``, ``"PM"``, ``"ML"``, ``"HE"``, ``"SJ"``.
    test
        ``"z"`` (normal) or ``"knha"`` (Hartung & Knapp 2001, t with k-1 df).
    level
        Confidence level of the CI and the prediction interval.
    control
        Convergence settings; the default reproduces metafor's defaults.

    Raises
    ------
    ValueError
        Lengths differ, NaN/inf anywhere, a variance ≤ 0, k < 2 for a random-effects model,
        unknown method or test, or level outside (0, 1).
    """
    y, v, canonical = validate(yi, vi, method, test, level)
    fit = fit_intercept(y, v, canonical, test, level, control)
    label_warnings = None if method == canonical else fit_warnings(v, method, test)
    return result_from_fit(fit, y, v, label_warnings)


def result_from_fit(
    fit: ModelFit, y: FloatArray, v: FloatArray, warnings: tuple[str, ...] | None = None
) -> MetaResult:
    """Summarise an intercept-only :class:`ModelFit` the way ``summary``/``predict`` do.

    ``warnings`` overrides the fit's own (metafor names the method as the caller spelled it).
    """
    est, se, crit = float(fit.beta[0]), math.sqrt(float(fit.vb[0, 0])), fit.crit()
    with np.errstate(divide="ignore", invalid="ignore"):  # se = 0 (knha, equal yi): inf/NaN
        zval = float(np.float64(est) / np.float64(se))
    df = fit.df
    if df is None:
        pvalue = 2 * float(special.ndtr(-abs(zval)))
    else:
        pvalue = 2 * float(special.stdtr(df, -abs(zval))) if df > 0 else float("nan")
    pi_half = crit * math.sqrt(se**2 + fit.tau2)
    return MetaResult(
        k=fit.k, method=fit.method, test=fit.test, level=fit.level, estimate=est, se=se,
        zval=zval, df=df, pvalue=pvalue, ci_low=est - crit * se,
        ci_high=est + crit * se, tau2=fit.tau2, se_tau2=fit.se_tau2, i2=fit.i2, h2=fit.h2,
        q=fit.q, q_df=max(fit.k - 1, 0), q_pvalue=fit.q_pvalue, pi_low=float(est - pi_half),
        pi_high=float(est + pi_half), weights=_frozen(fit.weights), yi=_frozen(y),
        vi=_frozen(v), warnings=fit.warnings if warnings is None else warnings,
    )  # fmt: skip
