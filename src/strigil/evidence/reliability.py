"""Inter-therapist reliability of palpation findings.

Whether "restricted" soft tissue can be identified reproducibly is an open question for IASTM;
before a finding drives treatment, two or more therapists should agree on it beyond chance.

* :func:`cohen_kappa`: two raters, presence/absence (or any categories) per body cell
  (Cohen 1960), computed with ``statsmodels.stats.inter_rater.cohens_kappa``.
* :func:`fleiss_kappa`: any fixed number of raters per cell (Fleiss 1971), via statsmodels.
* :func:`icc`: severity scores; two-way random-effects, absolute-agreement ICC(2,1) for a single
  therapist and ICC(2,k) for the mean of k therapists (Shrout & Fleiss 1979, case 2; McGraw &
  Wong 1996 "ICC(A,1)"/"ICC(A,k)"). statsmodels has no ICC, so it is computed here from the
  two-way ANOVA mean squares.

Kappa values are usually read with Landis & Koch's (1977) bands (see :func:`agreement_label`),
which are conventions, not evidence thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from statsmodels.stats import inter_rater

from strigil.evidence.inputs import EvidenceInputError, FloatArray


def _codes(values: ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        raise EvidenceInputError(f"{name} is empty", field=name)
    if np.isnan(arr).any():
        raise EvidenceInputError(f"{name} contains NaN", field=name)
    return arr


def cohen_kappa(rater_a: ArrayLike, rater_b: ArrayLike) -> float:
    """Cohen's kappa for two raters who each classified the same cells.

    ``κ = (p_o - p_e) / (1 - p_e)`` with observed agreement ``p_o`` and chance agreement ``p_e``
    from the raters' marginal rates (Cohen 1960). Codes may be booleans or category labels.
    """
    a, b = _codes(rater_a, "rater_a"), _codes(rater_b, "rater_b")
    if a.shape != b.shape or a.ndim != 1:
        raise EvidenceInputError(f"lengths differ: rater_a={a.size}, rater_b={b.size}")
    cats = np.unique(np.concatenate([a, b]))
    if len(cats) < 2:
        raise EvidenceInputError("kappa is undefined when every rating is the same category")
    table = np.zeros((len(cats), len(cats)))
    np.add.at(table, (np.searchsorted(cats, a), np.searchsorted(cats, b)), 1)
    return float(inter_rater.cohens_kappa(table, return_results=False))


def fleiss_kappa(ratings: ArrayLike) -> float:
    """Fleiss' kappa; ``ratings`` is cells × raters, each entry a category code (Fleiss 1971)."""
    arr = _codes(ratings, "ratings")
    if arr.ndim != 2 or arr.shape[1] < 2 or arr.shape[0] < 2:
        raise EvidenceInputError("ratings must be a cells x raters table with >= 2 of each")
    counts, _ = inter_rater.aggregate_raters(arr)
    if counts.shape[1] < 2:
        raise EvidenceInputError("kappa is undefined when every rating is the same category")
    return float(inter_rater.fleiss_kappa(counts, method="fleiss"))


def fleiss_kappa_from_counts(counts: ArrayLike) -> float:
    """Fleiss' kappa from a cells × categories table of how many raters chose each category."""
    arr = _codes(counts, "counts")
    totals = arr.sum(axis=1)
    if arr.ndim != 2 or not np.all(totals == totals[0]):
        raise EvidenceInputError("every cell must be rated by the same number of raters")
    return float(inter_rater.fleiss_kappa(arr, method="fleiss"))


@dataclass(frozen=True)
class ICCResult:
    """Two-way random, absolute-agreement ICCs and the ANOVA mean squares behind them."""

    icc_single: float
    icc_average: float
    n_subjects: int
    n_raters: int
    ms_rows: float
    ms_cols: float
    ms_error: float


def icc(ratings: ArrayLike) -> ICCResult:
    """ICC(2,1) and ICC(2,k) of Shrout & Fleiss (1979) for a subjects × raters table.

    With mean squares for subjects (``BMS``), raters (``JMS``) and residual (``EMS``), n subjects
    and k raters: ``ICC(2,1) = (BMS - EMS) / (BMS + (k-1) EMS + k (JMS - EMS)/n)`` and
    ``ICC(2,k) = (BMS - EMS) / (BMS + (JMS - EMS)/n)``. Rater bias counts as disagreement,
    which is what matters when a different therapist may see the patient next time.
    """
    x = _codes(ratings, "ratings")
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise EvidenceInputError("ratings must be a subjects x raters table with >= 2 of each")
    n, k = x.shape
    grand = x.mean()
    ss_rows = k * float(np.sum((x.mean(axis=1) - grand) ** 2))
    ss_cols = n * float(np.sum((x.mean(axis=0) - grand) ** 2))
    ss_err = float(np.sum((x - grand) ** 2)) - ss_rows - ss_cols
    bms, jms, ems = ss_rows / (n - 1), ss_cols / (k - 1), ss_err / ((n - 1) * (k - 1))
    denominator_single = bms + (k - 1) * ems + k * (jms - ems) / n
    denominator_average = bms + (jms - ems) / n
    if denominator_single <= 0 or denominator_average <= 0:
        # Every rating equal (or no between-subject spread): the ICC is 0/0, not a number.
        raise EvidenceInputError("ratings do not vary, so the ICC is undefined")
    single = (bms - ems) / denominator_single
    average = (bms - ems) / denominator_average
    return ICCResult(float(single), float(average), n, k, bms, jms, ems)


def agreement_label(kappa: float) -> str:
    """Landis & Koch (1977) descriptive band for a kappa value."""
    if kappa < 0:
        return "poor"
    for upper, name in ((0.2, "slight"), (0.4, "fair"), (0.6, "moderate"), (0.8, "substantial")):
        if kappa <= upper:
            return name
    return "almost perfect"
