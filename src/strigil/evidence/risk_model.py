"""Risk-adjusted outcomes: each episode's change against the change predicted from its intake.

The method follows the published description of FOTO's benchmarking and of Gozalo et al. 2016
(Health Serv Res 51:768-789): an outcome's change from intake to the last score is predicted
from the intake factors (intake score, age, sex, chronicity, body region, condition group,
surgery, comorbidity count, payer, precautions at screening); the residual *actual - predicted*
is the part of the change the case mix does not explain, and its mean per therapist and per
clinic is what is compared. Unlike FOTO's, the coefficients here are fitted on the clinic's own
data and published with the result.

Model (one per outcome measure, because scales differ)::

    change ~ intake factors     random intercepts: therapists (and clinics above them)

a linear mixed model fitted by REML with statsmodels' ``MixedLM``. With one clinic the
therapist is the grouping; with several, the clinic is the group and therapists are a variance
component nested in it (``vc_formula``). The therapist and clinic effects are the best linear
unbiased predictions (BLUPs) of those intercepts with intervals from their conditional
variances: shrunk towards zero in proportion to how little data each has, so a therapist with
three patients is not ranked on luck.

Dropouts (ADR 0019): an episode that ended without a discharge score keeps its last score (the
intake score when nothing followed, i.e. no change) and is flagged. It stays in the model and in
its therapist's figures, so that losing the patients who were not improving cannot make a
therapist look better; the flag and the counts are published beside every figure.

The share of patients reaching the MCID is adjusted by logistic regression on the same factors
(indirect standardisation: observed - expected, added to the overall share).

Pure numerics: pandas, numpy and statsmodels; no database, no framework.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

MIN_EPISODES = 20
"""Default least number of episodes before a model is fitted (configurable per call)."""
EPISODES_PER_TERM = 10
"""A factor enters the model only while there are at least this many episodes per estimated
coefficient (the usual rule of thumb against over-fitting; Harrell, Regression Modeling
Strategies, 2nd ed., 4.4)."""
Z95 = 1.959963984540054

# The intake factors in the order they enter: the strongest predictors of change first (intake
# score dominates in FOTO's and Gozalo's models), so with little data the model keeps those.
NUMERIC = ("intake", "age", "comorbidity_count", "precautions")
CATEGORICAL = ("chronicity", "sex", "surgery", "body_region", "condition_group", "payer")
ORDER = (
    "intake",
    "age",
    "comorbidity_count",
    "chronicity",
    "sex",
    "surgery",
    "precautions",
    "body_region",
    "condition_group",
    "payer",
)
NOT_RECORDED = "not recorded"


class NotEnoughData(ValueError):
    """Too few episodes (or groups) for the figure asked for; the message says how many."""

    def __init__(self, n: int, needed: int, what: str = "episodes") -> None:
        super().__init__(f"not enough data: n = {n}, at least {needed} needed")
        self.n, self.needed, self.what = n, needed, what


@dataclass(frozen=True, slots=True)
class EpisodeOutcome:
    """One episode's outcome on a measure and its intake factors (opaque integer keys).

    ``change`` is signed so that positive means the patient improved; ``dropout`` marks an
    episode whose last score was carried because it ended without a discharge score.
    """

    episode: int
    patient: int
    therapist: int
    clinic: int
    intake: float
    change: float
    dropout: bool = False
    reached_mcid: bool | None = None
    age: float | None = None
    sex: str | None = None
    chronicity: str | None = None
    body_region: str | None = None
    condition_group: str | None = None
    surgery: bool | None = None
    comorbidity_count: int | None = None
    payer: str | None = None
    precautions: int = 0


@dataclass(frozen=True, slots=True)
class Coefficient:
    term: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    pvalue: float


@dataclass(frozen=True, slots=True)
class UnitEffect:
    """A therapist's or clinic's adjusted effect: mean residual and the shrunk estimate."""

    unit: int
    n: int
    n_dropouts: int
    mean_residual: float
    effect: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True, slots=True)
class EpisodeResidual:
    episode: int
    patient: int
    therapist: int
    clinic: int
    actual: float
    predicted: float
    residual: float
    dropout: bool


@dataclass(frozen=True, slots=True)
class McidShare:
    """Observed and expected share reaching the MCID; ``adjusted`` = overall + O - E."""

    unit: int
    n: int
    reached: int
    observed: float
    expected: float
    adjusted: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True, slots=True)
class McidFit:
    n: int
    overall: float
    coefficients: tuple[Coefficient, ...] = ()
    therapists: tuple[McidShare, ...] = ()
    clinics: tuple[McidShare, ...] = ()
    message: str | None = None


@dataclass(frozen=True, slots=True)
class RiskModelFit:
    """Everything the model says, with its size and how it was fitted."""

    n: int
    n_patients: int
    n_therapists: int
    n_clinics: int
    n_dropouts: int
    formula: str
    method: str
    coefficients: tuple[Coefficient, ...]
    left_out: tuple[str, ...]
    therapist_variance: float
    clinic_variance: float | None
    residual_variance: float
    provider_share: float
    r2_marginal: float
    log_likelihood: float | None
    converged: bool
    residuals: tuple[EpisodeResidual, ...]
    therapists: tuple[UnitEffect, ...]
    clinics: tuple[UnitEffect, ...]
    mcid: McidFit | None
    notes: tuple[str, ...] = field(default=())


def frame(rows: Sequence[EpisodeOutcome]) -> pd.DataFrame:
    """The episodes as a table; a missing category becomes "not recorded" (its own level, so an
    episode is never dropped for an unanswered optional question) and a missing number is
    replaced by the median with a ``<name>_missing`` indicator when any is missing."""
    import pandas as pd

    data = pd.DataFrame([_row(r) for r in rows])
    for name in ("age", "comorbidity_count"):
        missing = data[name].isna()
        if missing.any():
            median = data[name].median()
            data[name] = data[name].fillna(0.0 if math.isnan(median) else median)
            data[f"{name}_missing"] = missing.astype(float)
    return data


def _row(r: EpisodeOutcome) -> dict[str, Any]:
    surgery = NOT_RECORDED if r.surgery is None else ("yes" if r.surgery else "no")
    return {
        "episode": r.episode,
        "patient": r.patient,
        "therapist": r.therapist,
        "clinic": r.clinic,
        "change": float(r.change),
        "intake": float(r.intake),
        "dropout": bool(r.dropout),
        "reached": r.reached_mcid,
        "age": np.nan if r.age is None else float(r.age),
        "comorbidity_count": np.nan if r.comorbidity_count is None else float(r.comorbidity_count),
        "precautions": float(r.precautions),
        "sex": r.sex or NOT_RECORDED,
        "chronicity": r.chronicity or NOT_RECORDED,
        "body_region": r.body_region or NOT_RECORDED,
        "condition_group": r.condition_group or NOT_RECORDED,
        "surgery": surgery,
        "payer": r.payer or NOT_RECORDED,
    }


def choose_terms(
    data: pd.DataFrame, per_term: int = EPISODES_PER_TERM
) -> tuple[list[str], list[str]]:
    """Formula terms in :data:`ORDER` while the coefficients stay within ``n / per_term``; a
    factor with one value (nothing to estimate) or that would exceed the budget is left out,
    and named, so the page can say which."""
    budget = max(1, len(data) // per_term)
    used, terms, left_out = 0, [], []
    for name in ORDER:
        cost = _cost(data, name)
        if cost == 0:
            continue
        if used + cost > budget:
            left_out.append(name)
            continue
        used += cost
        terms.append(f"C({name})" if name in CATEGORICAL else name)
        if f"{name}_missing" in data and data[f"{name}_missing"].nunique() > 1:
            terms.append(f"{name}_missing")
    return terms, left_out


def _drop_aliased(data: pd.DataFrame, terms: list[str]) -> list[str]:
    """Drop the last-entered terms (in place) until the design has full rank: two factors that
    always go together cannot be told apart, and a coefficient that is not unique is not shown."""
    from patsy import dmatrix

    dropped = []
    while terms:
        design = np.asarray(dmatrix(" + ".join(terms), data))
        if np.linalg.matrix_rank(design) == design.shape[1]:
            break
        dropped.append(terms.pop().removeprefix("C(").removesuffix(")"))
    return dropped


def _cost(data: pd.DataFrame, name: str) -> int:
    levels = int(data[name].nunique())
    if name in CATEGORICAL:
        return levels - 1
    return 1 if levels > 1 else 0


def fit(
    rows: Sequence[EpisodeOutcome], *, min_episodes: int = MIN_EPISODES, level: float = 0.95
) -> RiskModelFit:
    """Fit the risk-adjustment model and derive residuals, effects and MCID shares.

    Raises:
        NotEnoughData: fewer than ``min_episodes`` episodes.
    """
    if len(rows) < min_episodes:
        raise NotEnoughData(len(rows), min_episodes)
    data = frame(rows)
    terms, left_out = choose_terms(data)
    left_out += _drop_aliased(data, terms)
    formula = "change ~ " + (" + ".join(terms) if terms else "1")
    z = _z(level)
    core = _fit_linear(data, formula, z)
    data["predicted"] = core.predicted
    data["residual"] = data["change"] - data["predicted"]
    residuals = tuple(
        EpisodeResidual(
            int(r.episode),
            int(r.patient),
            int(r.therapist),
            int(r.clinic),
            float(r.change),
            float(r.predicted),
            float(r.residual),
            bool(r.dropout),
        )  # fmt: skip
        for r in data.itertuples()
    )
    return RiskModelFit(
        n=len(data),
        n_patients=int(data["patient"].nunique()),
        n_therapists=int(data["therapist"].nunique()),
        n_clinics=int(data["clinic"].nunique()),
        n_dropouts=int(data["dropout"].sum()),
        formula=formula,
        method=core.method,
        coefficients=core.coefficients,
        left_out=tuple(left_out),
        therapist_variance=core.therapist_var,
        clinic_variance=core.clinic_var,
        residual_variance=core.residual_var,
        provider_share=_share(core),
        r2_marginal=_r2(core),
        log_likelihood=core.llf,
        converged=core.converged,
        residuals=residuals,
        therapists=_units(
            data, "therapist", _usable(core.therapist_blups, core.therapist_var, core), z
        ),
        clinics=_units(data, "clinic", _usable(core.clinic_blups, core.clinic_var, core), z),
        mcid=fit_mcid(data, terms, z),
        notes=core.notes + _boundary_notes(core),
    )


def _z(level: float) -> float:
    from scipy import stats

    if not 0.5 <= level < 1:
        raise ValueError("level must be between 0.5 and 1")
    return Z95 if level == 0.95 else float(stats.norm.ppf(0.5 + level / 2))


@dataclass(slots=True)
class _Core:
    """What the linear fit leaves for the rest: predictions, effects and their variances."""

    method: str
    predicted: np.ndarray[Any, np.dtype[np.float64]]
    coefficients: tuple[Coefficient, ...]
    therapist_var: float
    clinic_var: float | None
    residual_var: float
    llf: float | None
    converged: bool
    therapist_blups: dict[int, tuple[float, float]]
    clinic_blups: dict[int, tuple[float, float]]
    notes: tuple[str, ...] = ()


def _fit_linear(data: pd.DataFrame, formula: str, z: float) -> _Core:
    """The mixed model when there are groups to estimate, else least squares (said so)."""
    notes: list[str] = []
    if data["therapist"].nunique() >= 2:
        for method in ("lbfgs", "powell"):
            try:
                return _mixed(data, formula, z, method)
            except (np.linalg.LinAlgError, ValueError) as exc:
                notes.append(f"mixed model ({method}) could not be fitted: {exc}")
    else:
        notes.append("one therapist only: no therapist variance can be estimated")
    return _ols(data, formula, z, notes)


def _mixed(data: pd.DataFrame, formula: str, z: float, method: str) -> _Core:
    import statsmodels.formula.api as smf

    several = data["clinic"].nunique() >= 2
    vc: dict[str, str] = {}
    if several:
        vc["therapist"] = "0 + C(therapist)"
    group = data["clinic"] if several else data["therapist"]
    # With a variance component the group's own intercept must be asked for (re_formula).
    model = smf.mixedlm(
        formula, data, groups=group, re_formula="1" if several else None, vc_formula=vc or None
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = model.fit(reml=True, method=method)
        finite = bool(np.all(np.isfinite(result.bse_fe)))  # NaN when a variance sits at zero
    if not result.converged:
        raise ValueError("did not converge")
    if not finite:
        raise ValueError("the fit's standard errors are not finite (a variance on the boundary)")
    fe = result.fe_params
    predicted = np.asarray(model.exog @ fe.to_numpy(), dtype=float)
    names = list(fe.index)
    ci = result.conf_int(alpha=2 * (1 - _phi(z)))
    coefficients = tuple(
        Coefficient(
            name,
            float(fe[name]),
            float(result.bse_fe[name]),
            float(ci.loc[name, 0]),
            float(ci.loc[name, 1]),
            float(result.pvalues[name]),
        )  # fmt: skip
        for name in names
    )
    group_var = float(result.cov_re.iloc[0, 0])
    therapist_blups, clinic_blups = _blups(result, several)
    if several:
        therapist_var = float(result.vcomp[0])
        desc = (
            "linear mixed model (REML): clinics as groups, therapists nested (variance component)"
        )
    else:
        therapist_var = group_var
        desc = "linear mixed model (REML): random intercept for the therapist"
    return _Core(
        method=desc,
        predicted=predicted,
        coefficients=coefficients,
        therapist_var=therapist_var,
        clinic_var=group_var if several else None,
        residual_var=float(result.scale),
        llf=float(result.llf),
        converged=True,
        therapist_blups=therapist_blups,
        clinic_blups=clinic_blups,
    )


def _phi(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def _blups(result: Any, several: bool) -> tuple[dict[int, tuple[float, float]], ...]:
    """(estimate, conditional SD) of every therapist's and clinic's random intercept."""
    therapists: dict[int, tuple[float, float]] = {}
    clinics: dict[int, tuple[float, float]] = {}
    effects, covs = result.random_effects, result.random_effects_cov
    for group, values in effects.items():
        cov = covs[group]
        for i, name in enumerate(values.index):
            estimate, sd = float(values.iloc[i]), math.sqrt(max(float(cov.iloc[i, i]), 0.0))
            if name == "Group":
                (clinics if several else therapists)[int(group)] = (estimate, sd)
            else:  # "therapist[C(therapist)[12]]"
                therapists[int(str(name).rsplit("[", 1)[1].rstrip("]"))] = (estimate, sd)
    return therapists, clinics


def _coefficients(result: Any, z: float) -> tuple[Coefficient, ...]:
    """Each term of a fitted statsmodels result with its SE, interval at ``z`` and p-value."""
    ci = result.conf_int(alpha=2 * (1 - _phi(z)))
    return tuple(
        Coefficient(
            str(name),
            float(result.params[name]),
            float(result.bse[name]),
            float(ci.loc[name, 0]),
            float(ci.loc[name, 1]),
            float(result.pvalues[name]),
        )  # fmt: skip
        for name in result.params.index
    )


def _ols(data: pd.DataFrame, formula: str, z: float, notes: list[str]) -> _Core:
    import statsmodels.formula.api as smf

    result = smf.ols(formula, data).fit()
    coefficients = _coefficients(result, z)
    return _Core(
        method="ordinary least squares (no grouping): effects are mean residuals ± t·SE",
        predicted=np.asarray(result.fittedvalues, dtype=float),
        coefficients=coefficients,
        therapist_var=0.0,
        clinic_var=None,
        residual_var=float(result.scale),
        llf=float(result.llf),
        converged=True,
        therapist_blups={},
        clinic_blups={},
        notes=tuple(notes),
    )


BOUNDARY = 1e-6
"""A variance below this share of the residual variance was estimated at zero (the boundary)."""


def _at_boundary(variance: float | None, core: _Core) -> bool:
    return variance is not None and variance <= BOUNDARY * max(core.residual_var, 1e-12)


def _usable(
    blups: dict[int, tuple[float, float]], variance: float | None, core: _Core
) -> dict[int, tuple[float, float]]:
    """BLUPs of a variance estimated at zero are all zero with zero-width intervals: a
    misleading "no difference, for certain". Then the mean residual ± t·SE is shown instead."""
    return {} if _at_boundary(variance, core) else blups


def _boundary_notes(core: _Core) -> tuple[str, ...]:
    notes = []
    if core.therapist_blups and _at_boundary(core.therapist_var, core):
        notes.append(
            "The variance between therapists was estimated at zero (too few patients per "
            "therapist to tell them apart); therapist effects are shown as mean residuals "
            "± t·SE instead of shrunk estimates."
        )
    if core.clinic_blups and _at_boundary(core.clinic_var, core):
        notes.append("The variance between clinics was estimated at zero; clinic effects are "
                     "shown as mean residuals ± t·SE.")  # fmt: skip
    return tuple(notes)


def _units(
    data: pd.DataFrame, key: str, blups: dict[int, tuple[float, float]], z: float
) -> tuple[UnitEffect, ...]:
    """Per therapist or clinic: n, dropouts, mean residual, and the effect with its interval
    (the BLUP where the model has one, else the mean residual ± t·SE)."""
    from scipy import stats

    out = []
    for unit, part in data.groupby(key, sort=True):
        n = len(part)
        mean = float(part["residual"].mean())
        if int(unit) in blups:
            estimate, sd = blups[int(unit)]
            lo, hi = estimate - z * sd, estimate + z * sd
        else:
            estimate = mean
            if n >= 2:
                half = float(stats.t.ppf(_phi(z), n - 1)) * float(part["residual"].std(ddof=1))
                lo, hi = mean - half / math.sqrt(n), mean + half / math.sqrt(n)
            else:
                lo, hi = -math.inf, math.inf
        out.append(UnitEffect(int(unit), n, int(part["dropout"].sum()), mean, estimate, lo, hi))
    return tuple(out)


def _share(core: _Core) -> float:
    """Share of the outcome variance between therapists and clinics (Gozalo: 11.6 %)."""
    between = core.therapist_var + (core.clinic_var or 0.0)
    total = between + core.residual_var
    return between / total if total > 0 else 0.0


def _r2(core: _Core) -> float:
    """Variance explained by the intake factors alone (Nakagawa & Schielzeth's marginal R²)."""
    fixed = float(np.var(core.predicted))
    total = fixed + core.therapist_var + (core.clinic_var or 0.0) + core.residual_var
    return fixed / total if total > 0 else 0.0


def fit_mcid(data: pd.DataFrame, terms: list[str], z: float) -> McidFit | None:
    """The MCID share adjusted by logistic regression, per therapist and clinic, or None when
    the measure has no MCID; a message instead of numbers when it cannot be estimated."""
    known = data[data["reached"].notna()].copy()
    if known.empty:
        return None
    known["reached"] = known["reached"].astype(float)
    n, overall = len(known), float(known["reached"].mean())
    if overall in (0.0, 1.0):
        why = "nobody" if overall == 0 else "everybody"
        return McidFit(n, overall, message=f"{why} reached the MCID: no adjustment is possible")
    try:
        coefficients, expected = _logistic(known, terms, z)
    except (np.linalg.LinAlgError, ValueError) as exc:
        return McidFit(n, overall, message=f"the logistic model could not be fitted ({exc})")
    known["expected"] = expected
    return McidFit(
        n,
        overall,
        coefficients,
        therapists=_shares(known, "therapist", overall, z),
        clinics=_shares(known, "clinic", overall, z),
    )


def _logistic(
    known: pd.DataFrame, terms: list[str], z: float
) -> tuple[tuple[Coefficient, ...], np.ndarray[Any, np.dtype[np.float64]]]:
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    kept, _ = choose_terms(known)
    formula = "reached ~ " + (" + ".join(t for t in terms if t in kept) or "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = smf.glm(formula, known, family=sm.families.Binomial()).fit()
    if not np.all(np.isfinite(result.bse)):
        raise ValueError("separation: some factor predicts the outcome perfectly")
    coefficients = _coefficients(result, z)
    return coefficients, np.asarray(result.fittedvalues, dtype=float)


def _shares(known: pd.DataFrame, key: str, overall: float, z: float) -> tuple[McidShare, ...]:
    out = []
    for unit, part in known.groupby(key, sort=True):
        n, reached = len(part), int(part["reached"].sum())
        observed, expected = reached / n, float(part["expected"].mean())
        lo, hi = wilson(reached, n, z)
        shift = overall - expected
        out.append(
            McidShare(
                int(unit),
                n,
                reached,
                observed,
                expected,
                _clip(observed + shift),
                _clip(lo + shift),
                _clip(hi + shift),
            )  # fmt: skip
        )
    return tuple(out)


def _clip(p: float) -> float:
    return min(1.0, max(0.0, p))


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n (Wilson 1927; Brown, Cai & DasGupta 2001)."""
    if n <= 0:
        raise NotEnoughData(n, 1)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def poisson_rate(events: int, exposure: float, per: float = 100.0) -> tuple[float, float, float]:
    """Rate per ``per`` units of exposure with the exact (Garwood 1936) 95 % interval."""
    from scipy import stats

    if exposure <= 0:
        raise NotEnoughData(0, 1, "visits")
    lo = 0.0 if events == 0 else float(stats.chi2.ppf(0.025, 2 * events)) / 2
    hi = float(stats.chi2.ppf(0.975, 2 * events + 2)) / 2
    scale = per / exposure
    return events * scale, lo * scale, hi * scale
