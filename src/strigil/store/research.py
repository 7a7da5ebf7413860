"""Streaming reads for the research export: one clinic's live clinical rows, table by table.

Each query selects plain columns (no ORM objects, so nothing piles up in the session's identity
map) and is read with ``yield_per``, which streams from a server-side cursor on PostgreSQL:
memory stays flat however large the clinic. Rows entered in error, and rows under a parent
entered in error, are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Select, String, func, select, type_coerce
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session, aliased

from strigil.store.adverse_events import AdverseEvent
from strigil.store.clinics import Clinic, User
from strigil.store.episodes import Episode
from strigil.store.outcomes import OutcomeMeasurement
from strigil.store.patients import Patient
from strigil.store.visits import DiscomfortReading, RestrictionFinding, TreatedArea, Visit

__all__ = ["STATEMENTS", "count_rows", "list_clinics", "stream_rows"]


def list_clinics(session: Session) -> list[tuple[int, str]]:
    """Every clinic's row id and name (the operator picks one by name)."""
    return [(int(i), str(n)) for i, n in session.execute(select(Clinic.id, Clinic.name))]


def _uuid(column: Any, name: str) -> Any:
    """A public id as the driver gives it (text on SQLite), skipping the per-row conversion to
    ``uuid.UUID``: the export only hashes it, and that conversion was most of its CPU time."""
    return type_coerce(column, String).label(name)


def _live_patient_episode(stmt: Select, clinic_id: int) -> Select:
    return stmt.where(
        Patient.clinic_id == clinic_id,
        Patient.entered_in_error_at.is_(None),
        Episode.entered_in_error_at.is_(None),
    )


def _episodes(clinic_id: int) -> Select:
    stmt = (
        select(
            _uuid(Patient.external_id, "patient"),
            Patient.birth_date,
            Patient.sex,
            _uuid(Episode.external_id, "episode"),
            _uuid(User.external_id, "therapist"),
            Episode.condition_code,
            Episode.condition_title,
            Episode.condition_group,
            Episode.body_region,
            Episode.side,
            Episode.chronicity,
            Episode.primary_measure,
            Episode.approach,
            Episode.status,
            Episode.started_on,
            Episode.ended_on,
            Episode.onset_on,
        )
        .join(Patient, Patient.id == Episode.patient_id)
        .join(User, User.id == Episode.therapist_id)
        .order_by(Patient.id, Episode.id)
    )
    return _live_patient_episode(stmt, clinic_id)


def _visit_base(*columns: Any) -> Select:
    return (
        select(
            _uuid(Patient.external_id, "patient"),
            _uuid(Episode.external_id, "episode"),
            Episode.started_on,
            _uuid(Visit.external_id, "visit"),
            *columns,
        )
        .join(Episode, Episode.id == Visit.episode_id)
        .join(Patient, Patient.id == Visit.patient_id)
        .where(Visit.entered_in_error_at.is_(None))
    )


def _visits(clinic_id: int) -> Select:
    stmt = _visit_base(
        _uuid(User.external_id, "therapist"),
        Visit.number,
        Visit.started_at,
        Visit.ended_at,
        Visit.status,
        Visit.tolerance_limit,
        Visit.techniques,
        Visit.reliability_check,
    ).join(User, User.id == Visit.therapist_id)
    return _live_patient_episode(stmt.order_by(Patient.id, Visit.id), clinic_id)


def _area_base(*columns: Any) -> Select:
    return _visit_base(_uuid(TreatedArea.external_id, "area"), *columns).where(
        TreatedArea.entered_in_error_at.is_(None)
    )


def _areas(clinic_id: int) -> Select:
    stmt = _area_base(
        TreatedArea.body_site,
        TreatedArea.body_region,
        TreatedArea.side,
        TreatedArea.instrument_type,
        TreatedArea.strokes,
        TreatedArea.angle_deg,
        TreatedArea.intensity,
        TreatedArea.seconds,
        TreatedArea.status,
        TreatedArea.stop_reason,
        TreatedArea.warnings,
    ).join(TreatedArea, TreatedArea.visit_id == Visit.id)
    return _live_patient_episode(stmt.order_by(Patient.id, TreatedArea.id), clinic_id)


def _findings(clinic_id: int) -> Select:
    area = aliased(TreatedArea)
    stmt = (
        _visit_base(
            _uuid(area.external_id, "area"),
            RestrictionFinding.chart_view,
            RestrictionFinding.x,
            RestrictionFinding.y,
            RestrictionFinding.body_site,
            RestrictionFinding.side,
            RestrictionFinding.texture,
            RestrictionFinding.severity,
        )
        .join(RestrictionFinding, RestrictionFinding.visit_id == Visit.id)
        .outerjoin(
            area,
            (area.id == RestrictionFinding.treated_area_id) & area.entered_in_error_at.is_(None),
        )
        .where(RestrictionFinding.entered_in_error_at.is_(None))
    )
    return _live_patient_episode(stmt.order_by(Patient.id, RestrictionFinding.id), clinic_id)


def _readings(clinic_id: int) -> Select:
    stmt = (
        _area_base(DiscomfortReading.value, DiscomfortReading.patient_asked_to_stop)
        .join(TreatedArea, TreatedArea.visit_id == Visit.id)
        .join(DiscomfortReading, DiscomfortReading.treated_area_id == TreatedArea.id)
        .where(DiscomfortReading.entered_in_error_at.is_(None))
    )
    order = (Patient.id, TreatedArea.id, DiscomfortReading.created_at, DiscomfortReading.id)
    return _live_patient_episode(stmt.order_by(*order), clinic_id)


def _outcomes(clinic_id: int) -> Select:
    visit = aliased(Visit)
    stmt = (
        select(
            _uuid(Patient.external_id, "patient"),
            _uuid(Episode.external_id, "episode"),
            Episode.started_on,
            _uuid(visit.external_id, "visit"),
            visit.number.label("visit_number"),
            OutcomeMeasurement.measure,
            OutcomeMeasurement.registry_version,
            OutcomeMeasurement.score,
            OutcomeMeasurement.measured_at,
        )
        .join(Episode, Episode.id == OutcomeMeasurement.episode_id)
        .join(Patient, Patient.id == OutcomeMeasurement.patient_id)
        .outerjoin(
            visit, (visit.id == OutcomeMeasurement.visit_id) & visit.entered_in_error_at.is_(None)
        )
        .where(OutcomeMeasurement.entered_in_error_at.is_(None))
        .order_by(Patient.id, OutcomeMeasurement.id)
    )
    return _live_patient_episode(stmt, clinic_id)


def _adverse_events(clinic_id: int) -> Select:
    visit, episode, area = aliased(Visit), aliased(Episode), aliased(TreatedArea)
    return (
        select(
            _uuid(Patient.external_id, "patient"),
            _uuid(episode.external_id, "episode"),
            _uuid(visit.external_id, "visit"),
            _uuid(area.external_id, "area"),
            AdverseEvent.category,
            AdverseEvent.severity,
            AdverseEvent.referral_made,
            AdverseEvent.status,
            AdverseEvent.onset_at,
            AdverseEvent.resolved_at,
        )
        .join(Patient, Patient.id == AdverseEvent.patient_id)
        .outerjoin(
            area,
            (area.id == AdverseEvent.treated_area_id) & area.entered_in_error_at.is_(None),
        )
        .outerjoin(
            visit,
            (visit.id == func.coalesce(AdverseEvent.visit_id, area.visit_id))
            & visit.entered_in_error_at.is_(None),
        )
        .outerjoin(episode, episode.id == visit.episode_id)
        .where(
            Patient.clinic_id == clinic_id,
            Patient.entered_in_error_at.is_(None),
            AdverseEvent.entered_in_error_at.is_(None),
        )
        .order_by(Patient.id, AdverseEvent.id)
    )


STATEMENTS: dict[str, Callable[[int], Select]] = {
    "episodes": _episodes,
    "visits": _visits,
    "areas": _areas,
    "findings": _findings,
    "readings": _readings,
    "outcomes": _outcomes,
    "adverse_events": _adverse_events,
}


def count_rows(session: Session, clinic_id: int) -> dict[str, int]:
    """How many rows each table will have (for the progress bar)."""
    out = {}
    for name, build in STATEMENTS.items():
        stmt = build(clinic_id).order_by(None).subquery()
        out[name] = int(session.scalar(select(func.count()).select_from(stmt)) or 0)
    return out


def stream_rows(
    session: Session, table: str, clinic_id: int, *, batch: int = 2000
) -> Iterator[RowMapping]:
    """The rows of one export table, streamed ``batch`` at a time."""
    result = session.execute(STATEMENTS[table](clinic_id).execution_options(yield_per=batch))
    yield from result.mappings()
