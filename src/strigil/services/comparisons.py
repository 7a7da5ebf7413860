"""Practice-based comparison: IASTM against the clinic's other approaches, on its own data.

For completed (discharged) episodes of one condition group whose primary measure is the chosen
measure, the outcome is the change from the first to the last measurement, signed so that
positive means the patient improved (:func:`strigil.core.response.change`). Episodes treated
with IASTM (``approach == "iastm"``) are compared with episodes treated otherwise
(``manual_therapy`` or ``exercise_only``, pooled as "other approaches").

Model (one per condition group and measure, because scales differ)::

    change ~ iastm + baseline      random intercept for the treating therapist

fitted by REML with ``statsmodels`` ``mixedlm``. Adjusting for the baseline score is the usual
ANCOVA approach to change scores (Vickers & Altman 2001, BMJ 323:1123); the therapist intercept
absorbs therapist-level differences in skill and case mix. Episodes are also nested in patients:
when some patient contributes more than one episode a patient variance component is added
within therapist (``vc_formula``); with one episode per patient, a patient effect cannot be told
apart from the residual and is left out. With a single therapist, or when the mixed model cannot
be fitted, ordinary least squares is used instead and the result says so.

This is observational data: therapists choose IASTM for particular patients (confounding by
indication), so the adjusted difference is a prompt for questions, never proof — see
:data:`CAVEAT`. Only aggregates leave this module: no names, no record numbers.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy.orm import Session

from strigil.core import catalog, measures, response

if TYPE_CHECKING:  # statsmodels and pandas load only when a comparison is computed
    import pandas as pd
from strigil.errors import InvalidInput
from strigil.services import audit, computations
from strigil.services.actors import Actor, Permission, require
from strigil.store import episodes as episode_store
from strigil.store import outcomes as outcome_store
from strigil.store.outcomes import EpisodeScore

MIN_PER_ARM = 5
MIN_TOTAL = 12
IASTM = "iastm"
CAVEAT = (
    "This comes from this clinic's own records, not from a trial. Patients were not randomly "
    "assigned: therapists chose IASTM for some patients and other approaches for others, and "
    "those patients may differ in ways the model cannot adjust for (confounding by indication). "
    "Read the difference as a question worth asking, not as proof that one approach works better."
)


@dataclass(frozen=True, slots=True)
class EpisodeChange:
    """One completed episode's first and last score on the measure."""

    episode_id: int
    patient_id: int
    therapist_id: int
    approach: str
    baseline: float
    change: float


@dataclass(frozen=True, slots=True)
class Option:
    condition_group: str
    measure: str
    n_episodes: int


@dataclass(frozen=True, slots=True)
class Arm:
    """Unadjusted description of one arm: how many episodes and their mean change."""

    label: str
    n: int
    mean_change: float | None
    approaches: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class ComparisonResult:
    """The adjusted IASTM − other difference in change (positive favours IASTM), or why not."""

    condition_group: str
    measure: str
    measure_name: str
    unit: str
    mcid: float | None
    arms: tuple[Arm, ...]
    n_therapists: int
    n_patients: int
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    pvalue: float | None = None
    model: str | None = None
    message: str | None = None
    caveat: str = CAVEAT
    pending: bool = False

    @property
    def fitted(self) -> bool:
        return self.estimate is not None


def options(*, session: Session, actor: Actor) -> list[Option]:
    """Condition group × primary measure pairs with completed episodes in the actor's clinic."""
    require(actor, Permission.ANALYTICS)
    rows = episode_store.count_discharged_by_group(session, actor.clinic_id)
    return [Option(g, m, n) for g, m, n in rows]


def _check(condition_group: str, measure: str) -> measures.Measure:
    groups = {i.condition_group for i in catalog.indications()}
    if condition_group not in groups:
        raise InvalidInput(
            f"unknown condition group {condition_group!r}",
            field="condition_group",
            code="unknown_condition_group",
        )
    m = measures.get_measure(measure)
    if m.change_score:
        raise InvalidInput(
            f"{m.code} already rates change; compare a measure with a baseline instead",
            field="measure",
            code="change_score_measure",
        )
    return m


def changes(
    *, session: Session, actor: Actor, condition_group: str, m: measures.Measure
) -> list[EpisodeChange]:
    """First-to-last change of every completed episode of the clinic (≥ 2 measurements)."""
    require(actor, Permission.ANALYTICS)
    rows = outcome_store.list_completed_episode_scores(
        session, actor.clinic_id, condition_group, m.code
    )
    return _first_last(m, rows)


def _first_last(m: measures.Measure, rows: Sequence[EpisodeScore]) -> list[EpisodeChange]:
    series: dict[int, list[EpisodeScore]] = {}
    for row in rows:
        series.setdefault(row[0], []).append(row)
    out = []
    for episode_id, points in series.items():
        if len(points) < 2:
            continue
        _, patient, therapist, approach, first = points[0]
        change = response.change(m, first, points[-1][4])
        out.append(EpisodeChange(episode_id, patient, therapist, approach, first, change))
    return out


def _arms(data: list[EpisodeChange]) -> tuple[Arm, ...]:
    def arm(label: str, rows: list[EpisodeChange]) -> Arm:
        mean = float(np.mean([r.change for r in rows])) if rows else None
        counts = tuple(sorted(Counter(r.approach for r in rows).items()))
        return Arm(label, len(rows), mean, counts)

    return (
        arm("IASTM", [r for r in data if r.approach == IASTM]),
        arm("Other approaches", [r for r in data if r.approach != IASTM]),
    )


def _too_small(arms: tuple[Arm, ...]) -> str | None:
    if min(a.n for a in arms) >= MIN_PER_ARM and sum(a.n for a in arms) >= MIN_TOTAL:
        return None
    return (
        f"Too few completed episodes to compare: {arms[0].n} with IASTM and {arms[1].n} with "
        f"other approaches have a first and a last measurement. At least {MIN_PER_ARM} in each "
        f"group and {MIN_TOTAL} in all are needed before a model is fitted."
    )


def _frame(data: list[EpisodeChange]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            "change": [r.change for r in data],
            "baseline": [r.baseline for r in data],
            "iastm": [1.0 if r.approach == IASTM else 0.0 for r in data],
            "therapist": [r.therapist_id for r in data],
            "patient": [r.patient_id for r in data],
        }
    )


def fit(data: list[EpisodeChange]) -> tuple[float, float, float, float, str]:
    """Estimate, 95 % CI, p-value and a description of the model actually used."""
    frame = _frame(data)
    repeat_patients = frame["patient"].duplicated().any()
    if frame["therapist"].nunique() >= 2:
        try:
            return _mixed(frame, bool(repeat_patients))
        except (np.linalg.LinAlgError, ValueError) as exc:
            why = f"the mixed model could not be fitted ({exc}); "
    else:
        why = "only one therapist treated these episodes, so no therapist effect is estimable; "
    return _ols(frame, why + "ordinary least squares, change ~ IASTM + baseline")


def _mixed(frame: pd.DataFrame, repeat_patients: bool) -> tuple[float, float, float, float, str]:
    vc = {"patient": "0 + C(patient)"} if repeat_patients else None
    import statsmodels.formula.api as smf

    model = smf.mixedlm(
        "change ~ iastm + baseline", frame, groups=frame["therapist"], vc_formula=vc
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = model.fit(reml=True)
    if not result.converged:
        raise ValueError("did not converge")
    lo, hi = result.conf_int().loc["iastm"]
    desc = "linear mixed model (REML): change ~ IASTM + baseline, random intercept for therapist"
    desc += "; patient variance component" if repeat_patients else " (one episode per patient)"
    return float(result.params["iastm"]), float(lo), float(hi), float(result.pvalues["iastm"]), desc


def _ols(frame: pd.DataFrame, desc: str) -> tuple[float, float, float, float, str]:
    import statsmodels.formula.api as smf

    result = smf.ols("change ~ iastm + baseline", frame).fit()
    lo, hi = result.conf_int().loc["iastm"]
    return float(result.params["iastm"]), float(lo), float(hi), float(result.pvalues["iastm"]), desc


def compare(
    *, session: Session, actor: Actor, condition_group: str, measure: str
) -> ComparisonResult:
    """The clinic's adjusted IASTM-vs-other difference for one condition group and measure.

    Raises:
        NotPermitted: the role has no analytics permission.
        InvalidInput: unknown condition group or measure, or a change-score measure.
    """
    require(actor, Permission.ANALYTICS)
    m = _check(condition_group, measure)
    data = changes(session=session, actor=actor, condition_group=condition_group, m=m)
    audit.record(
        session=session, actor=actor, action="read", entity_type="clinic_comparison",
        detail={"condition_group": condition_group, "measure": m.code, "episodes": len(data)},
    )  # fmt: skip
    arms = _arms(data)
    mcid = m.default_mcid.value if m.default_mcid else None
    base = ComparisonResult(
        condition_group, m.code, m.name, m.unit, mcid, arms,
        n_therapists=len({r.therapist_id for r in data}),
        n_patients=len({r.patient_id for r in data}),
    )  # fmt: skip
    message = _too_small(arms)
    if message:
        return replace(base, message=message)
    key = computations.digest("clinic_comparison", actor.clinic_id, condition_group, m.code, data)
    fitted = computations.cache_of("comparison-fits").get(key, lambda: fit(data))
    if fitted is None:
        return replace(base, pending=True, message=PENDING)
    estimate, lo, hi, p, desc = fitted
    return replace(base, estimate=estimate, ci_low=lo, ci_high=hi, pvalue=p, model=desc)


PENDING = "The model is being fitted on the clinic's data; this takes a few seconds."
