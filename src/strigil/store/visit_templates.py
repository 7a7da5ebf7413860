"""Visit templates: a clinic's standard areas, home programme and tests for a condition.

Why: a first visit has no last visit to copy from. A clinic that treats lateral elbow pain the
same way most of the time keeps that plan as a template, offered when an episode's diagnosis
code starts with the template's code prefix. Templates are retired, never deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from strigil.store.base import Base, IdMixin, TenantMixin, VersionedMixin


class VisitTemplate(IdMixin, TenantMixin, VersionedMixin, Base):
    """Areas, exercises and pre/post tests to offer at a visit, for diagnoses by code prefix."""

    __tablename__ = "visit_template"

    name: Mapped[str] = mapped_column(String(120))
    condition_prefix: Mapped[str] = mapped_column(String(10))
    areas: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    exercises: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    tests: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    retired_at: Mapped[datetime | None] = mapped_column(default=None)


def list_templates(
    session: Session, clinic_id: int, *, include_retired: bool = False
) -> Sequence[VisitTemplate]:
    """The clinic's templates, by code prefix then name."""
    query = select(VisitTemplate).where(VisitTemplate.clinic_id == clinic_id)
    if not include_retired:
        query = query.where(VisitTemplate.retired_at.is_(None))
    return session.scalars(query.order_by(VisitTemplate.condition_prefix, VisitTemplate.name)).all()
