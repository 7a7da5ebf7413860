"""Risk-adjusted outcomes compared across the clinics of a network: the operator's view.

Why a separate view: each clinic's own insight pages run under row-level security and see only
that clinic, which is right for its staff. The network operator (the one who runs the
database, with its owner's connection, as for `strigil db` and `strigil demo load`) compares
the clinics themselves: one model over every clinic's episodes, clinics as groups and their
therapists nested in them (``evidence.risk_model``), and per clinic only the number of
episodes, the dropouts and the adjusted effect with its interval. No patient or therapist
leaves this function.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from strigil.evidence import risk_model
from strigil.evidence.risk_model import NotEnoughData, RiskModelFit, UnitEffect
from strigil.services import insight
from strigil.store import clinics as clinic_store


@dataclass(frozen=True, slots=True)
class ClinicEffect:
    """One clinic's adjusted outcome as the model gives it (positive: more change than its
    case mix predicts)."""

    clinic: str
    figures: UnitEffect


@dataclass(frozen=True, slots=True)
class NetworkOutcomes:
    measure: str
    since: date
    until: date
    clinics: tuple[ClinicEffect, ...]
    fit: RiskModelFit | None
    message: str | None = None


def compare_clinics(
    *, session: Session, measure: str, today: date, min_episodes: int = 20
) -> NetworkOutcomes:
    """Fit the risk model over every clinic's episodes of ``measure`` that ended in the 12
    months to ``today``; a clear message instead of figures when there are too few.

    Raises:
        InvalidInput: unknown or change-score measure, or a threshold below 5.
    """
    m = insight.measure_for_model(measure, min_episodes)
    names = clinic_store.clinic_names(session)
    rows = [
        row
        for clinic_id in sorted(names)
        for row in insight.prepared_outcomes(session, clinic_id, m, today)
    ]
    since = today - timedelta(days=insight.WINDOW_DAYS)
    try:
        fitted = risk_model.fit(rows, min_episodes=min_episodes)
    except NotEnoughData as exc:
        return NetworkOutcomes(m.code, since, today, (), None, f"{exc} (across the network)")
    if fitted.n_clinics < 2:
        message = f"only one clinic has episodes of {m.code}: nothing to compare"
        return NetworkOutcomes(m.code, since, today, (), fitted, message)
    clinics = tuple(ClinicEffect(names.get(u.unit, "Former clinic"), u) for u in fitted.clinics)
    return NetworkOutcomes(m.code, since, today, clinics, fitted)
