"""Chart merges: one person's duplicate chart folded into their other chart, reversibly.

Why a table: undoing a merge must move back exactly the rows the merge moved (not rows added
to the surviving chart since), so the merge records them by table and row id. A merge undone
is marked entered-in-error like any clinical row; it is never deleted.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, ForeignKey, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from strigil.store.adverse_events import AdverseEvent
from strigil.store.base import Base, EnteredInErrorMixin, IdMixin, TenantMixin
from strigil.store.episodes import Consent, Episode, Screening, ScreeningClearance
from strigil.store.outcomes import OutcomeMeasurement
from strigil.store.patients import Patient
from strigil.store.visits import Visit

# Every table whose rows point at a patient: a merge moves all of them.
REFERENCING: tuple[type[Any], ...] = (
    Episode,
    Screening,
    ScreeningClearance,
    Consent,
    Visit,
    OutcomeMeasurement,
    AdverseEvent,
)
MOVED = dict[str, list[int]]


class PatientMerge(IdMixin, TenantMixin, EnteredInErrorMixin, Base):
    """Chart ``source`` merged into chart ``target``, and which rows moved."""

    __tablename__ = "patient_merge"

    source_patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    target_patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    merged_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    reason: Mapped[str] = mapped_column(Text)
    moved_rows: Mapped[dict[str, list[int]]] = mapped_column(JSON, default=dict)


def lock_charts(session: Session, clinic_id: int, ids: Collection[int]) -> None:
    """Lock both charts' rows (PostgreSQL; SQLite writes one at a time anyway): a row being
    added to either chart holds a key-share lock until it commits, so the merge waits for it
    and moves it too, instead of leaving it behind on the chart folded away."""
    session.execute(
        select(Patient.id)
        .where(Patient.clinic_id == clinic_id, Patient.id.in_(sorted(ids)))
        .order_by(Patient.id)
        .with_for_update()
    )


def move_all(session: Session, clinic_id: int, source_id: int, target_id: int) -> MOVED:
    """Point every row of chart ``source_id`` at ``target_id``; the ids moved, by table."""
    moved: MOVED = {}
    for model in REFERENCING:
        rows = session.scalars(
            select(model)
            .where(model.clinic_id == clinic_id, model.patient_id == source_id)
            .order_by(model.id)
        ).all()
        for row in rows:
            row.patient_id = target_id
        moved[model.__tablename__] = [row.id for row in rows]
    session.flush()
    return moved


def move_back(session: Session, clinic_id: int, merge: PatientMerge) -> tuple[MOVED, MOVED]:
    """Return a merge's moved rows to the source chart, with the rows added since to the
    episodes and visits that go back (they belong with them). Returns (recorded, followed)."""
    recorded = merge.moved_rows
    episodes = recorded.get(Episode.__tablename__, [])
    visits = recorded.get(Visit.__tablename__, [])
    back: MOVED = {}
    followed: MOVED = {}
    for model in REFERENCING:
        ids = recorded.get(model.__tablename__, [])
        rows = session.scalars(
            select(model)
            .where(
                model.clinic_id == clinic_id,
                model.patient_id == merge.target_patient_id,
                or_(*_belongs(model, ids, episodes, visits)),
            )
            .order_by(model.id)
        ).all()
        for row in rows:
            row.patient_id = merge.source_patient_id
        back[model.__tablename__] = [r.id for r in rows if r.id in set(ids)]
        followed[model.__tablename__] = [r.id for r in rows if r.id not in set(ids)]
    session.flush()
    return back, followed


def _belongs(
    model: type[Any], ids: Collection[int], episodes: Collection[int], visits: Collection[int]
) -> list[ColumnElement[bool]]:
    """The conditions under which a row of ``model`` goes back with the merge."""
    terms: list[ColumnElement[bool]] = [model.id.in_(list(ids))]
    if hasattr(model, "episode_id") and episodes:
        terms.append(model.episode_id.in_(list(episodes)))
    if hasattr(model, "visit_id") and visits:
        terms.append(model.visit_id.in_(list(visits)))
    return terms


def find_merge(session: Session, clinic_id: int, source_id: int) -> PatientMerge | None:
    """The live merge that folded chart ``source_id`` away, if any."""
    return session.scalars(
        select(PatientMerge).where(
            PatientMerge.clinic_id == clinic_id,
            PatientMerge.source_patient_id == source_id,
            PatientMerge.entered_in_error_at.is_(None),
        )
    ).first()


def merged_into(session: Session, clinic_id: int, target_id: int) -> Sequence[PatientMerge]:
    """The live merges into chart ``target_id`` (newest first), for the chart's history."""
    return session.scalars(
        select(PatientMerge)
        .where(
            PatientMerge.clinic_id == clinic_id,
            PatientMerge.target_patient_id == target_id,
            PatientMerge.entered_in_error_at.is_(None),
        )
        .order_by(PatientMerge.id.desc())
    ).all()


def patients_by_id(session: Session, clinic_id: int, ids: Collection[int]) -> Mapping[int, Patient]:
    """The clinic's patients with these row ids (in error or not), by id."""
    if not ids:
        return {}
    rows = session.scalars(
        select(Patient).where(Patient.clinic_id == clinic_id, Patient.id.in_(list(ids)))
    ).all()
    return {row.id: row for row in rows}
