"""Imports every table module so ``Base.metadata`` is complete (Alembic and tests need it)."""

from strigil.store import (
    adverse_events,
    appointments,
    audit,
    clinics,
    drafts,
    episodes,
    merges,
    outbox,
    outcomes,
    patient_links,
    patients,
    revisions,
    sensors,
    signin,
    visit_templates,
    visits,
)
from strigil.store.base import Base

__all__ = [
    "Base",
    "adverse_events",
    "appointments",
    "audit",
    "clinics",
    "drafts",
    "episodes",
    "merges",
    "outbox",
    "outcomes",
    "patient_links",
    "patients",
    "revisions",
    "sensors",
    "signin",
    "visit_templates",
    "visits",
]
