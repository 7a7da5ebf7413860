"""Every clinical table carries the clinic tenant key, a UUID public id and UTC timestamps."""

from __future__ import annotations

from strigil.store.models import Base

NOT_CLINICAL = {
    "clinic",
    "app_user",
    "login_session",
    "api_token",
    "audit_event",
    "alembic_version",
    "signin_throttle",
}
# No public id: the audit trail is shown by its own sequence number, the sign-in counters
# are keyed by a digest, and a clinic's revision by the clinic; none is shown on its own.
NEVER_SHOWN = {"audit_event", "signin_throttle", "clinic_revision", "patient_revision"}


def test_every_clinical_table_has_a_clinic_id() -> None:
    clinical = [t for t in Base.metadata.sorted_tables if t.name not in NOT_CLINICAL]
    assert len(clinical) >= 14
    for table in clinical:
        assert "clinic_id" in table.c, table.name
        assert not table.c.clinic_id.nullable, table.name
        assert table.c.clinic_id.index or table.c.clinic_id.primary_key, table.name


def test_every_row_has_a_uuid_public_id() -> None:
    for table in Base.metadata.sorted_tables:
        if table.name in NEVER_SHOWN:
            continue
        assert "external_id" in table.c and table.c.external_id.unique, table.name


def test_clinical_rows_are_never_deleted_but_marked_in_error() -> None:
    for name in (
        "patient",
        "episode",
        "visit",
        "treated_area",
        "restriction_finding",
        "skin_response",
        "adverse_event",
        "exercise_prescription",
        "outcome_measurement",
        "screening",
        "consent",
    ):
        assert "entered_in_error_at" in Base.metadata.tables[name].c, name


def test_foreign_keys_are_indexed_on_hot_tables() -> None:
    for name, column in (
        ("visit", "episode_id"),
        ("treated_area", "visit_id"),
        ("discomfort_reading", "treated_area_id"),
        ("episode", "patient_id"),
        ("restriction_finding", "visit_id"),
        ("visit", "started_at"),
    ):
        assert Base.metadata.tables[name].c[column].index, f"{name}.{column}"
