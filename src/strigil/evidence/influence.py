"""Case-deletion diagnostics of the intercept-only model (Viechtbauer & Cheung 2010).

The columns and definitions are those of metafor's ``influence()`` (``inf$inf``) for an
unweighted-by-the-user intercept-only ``rma.uni`` fit, in closed form. With ``wᵢ = 1/(vᵢ + τ̂²)``
of the full fit and, for the fit without study i, ``μ̂₍ᵢ₎``, ``τ̂²₍ᵢ₎``, ``Var(μ̂₍ᵢ₎)`` and the
Knapp-Hartung factor ``s²₍ᵢ₎`` (1 for the z test):

* ``rstudent``: ``(yᵢ - μ̂₍ᵢ₎) / √(s²₍ᵢ₎ (vᵢ + τ̂²₍ᵢ₎) + Var(μ̂₍ᵢ₎))``;
* ``hat``: ``wᵢ / Σw``; ``weight``: 100 × hat;
* ``dffits``: ``(μ̂ - μ̂₍ᵢ₎) / √(s²₍ᵢ₎ hatᵢ (τ̂²₍ᵢ₎ + vᵢ))``;
* ``dfbetas``: ``(μ̂ - μ̂₍ᵢ₎) / √(s²₍ᵢ₎ / Σⱼ 1/(vⱼ + τ̂²₍ᵢ₎))`` (all k studies, deleted τ²);
* ``cook_d``: ``(μ̂ - μ̂₍ᵢ₎)² / Var(μ̂)``; ``cov_r``: ``Var(μ̂₍ᵢ₎) / Var(μ̂)``;
* ``tau2_del``, ``q_del``: τ² and Cochran's Q without study i.

A study is flagged influential (metafor's rule) when ``|dffits| > 3 √(1/(k-1))``, or
``P(χ²₁ ≤ cook_d) > 0.5``, or ``hat > 3/k``, or ``|dfbetas| > 1``. The k deletion fits come from
the batched leave-one-out refits, so k = 200 costs milliseconds, not 200 model fits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from strigil.evidence.heterogeneity import EPS, Control
from strigil.evidence.inputs import EvidenceInputError, FloatArray
from strigil.evidence.meta import meta_analyze, validate
from strigil.evidence.sensitivity import leave_one_out


@dataclass(frozen=True, eq=False)
class InfluenceResult:
    """One entry per study, named after metafor's ``inf$inf`` columns."""

    rstudent: FloatArray
    dffits: FloatArray
    cook_d: FloatArray
    cov_r: FloatArray
    tau2_del: FloatArray
    q_del: FloatArray
    hat: FloatArray
    weight: FloatArray
    dfbetas: FloatArray
    influential: NDArray[np.bool_]


def influence(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    method: str = "REML",
    test: str = "z",
    control: Control | None = None,
) -> InfluenceResult:
    """Influence diagnostics of each study on the intercept-only model (metafor ``influence``)."""
    y, v, canonical = validate(yi, vi, method, test, 0.95)
    k = len(y)
    if k < 3:
        raise EvidenceInputError(f"k = {k}: influence diagnostics need at least 3 studies")
    full = meta_analyze(y, v, method=canonical, test=test, control=control)
    rows = leave_one_out(y, v, method=canonical, test=test, control=control)
    mu_del = np.array([r.estimate for r in rows])
    var_del = np.array([r.se for r in rows]) ** 2
    tau2_del = np.array([r.tau2 for r in rows])
    s2w = _knha_factors(v, tau2_del, var_del) if test == "knha" else np.ones(k)
    hat = full.weights / 100
    diff = full.estimate - mu_del
    resid = y - mu_del
    resid[np.abs(resid) < 100 * EPS] = 0.0
    var_full = full.se**2
    with np.errstate(divide="ignore", invalid="ignore"):
        rstudent = resid / np.sqrt(v * s2w + var_del + tau2_del * s2w)
        dffits = diff / np.sqrt(s2w * hat * (tau2_del + v))
        vb_del = 1 / (1 / (v[None, :] + tau2_del[:, None])).sum(axis=1)
        dfbetas = diff / np.sqrt(s2w * vb_del)
        cook_d = diff**2 / var_full
        cov_r = var_del / var_full
    flagged = (
        (np.abs(dffits) > 3 * np.sqrt(1 / (k - 1)))
        | (special.chdtr(1, cook_d) > 0.5)
        | (hat > 3 / k)
        | (np.abs(dfbetas) > 1)
    )
    return InfluenceResult(
        rstudent=rstudent, dffits=dffits, cook_d=cook_d, cov_r=cov_r, tau2_del=tau2_del,
        q_del=np.array([r.q for r in rows]), hat=hat, weight=full.weights.copy(),
        dfbetas=dfbetas, influential=np.asarray(flagged),
    )  # fmt: skip


def _knha_factors(v: FloatArray, tau2_del: FloatArray, var_del: FloatArray) -> FloatArray:
    """``s²₍ᵢ₎`` recovered from ``Var(μ̂₍ᵢ₎) = s²₍ᵢ₎ / Σ_{j≠i} 1/(vⱼ + τ̂²₍ᵢ₎)``."""
    k = len(v)
    w = 1 / (v[None, :] + tau2_del[:, None])
    w[np.arange(k), np.arange(k)] = 0.0
    return np.asarray(var_del * w.sum(axis=1), dtype=np.float64)
