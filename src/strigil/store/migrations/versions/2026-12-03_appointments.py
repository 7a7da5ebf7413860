"""appointments: the day book of each therapist

Why: the visit starts from the day's list, so each booked slot is a row of its own (patient,
therapist, start and end, status, recurring series, and the visit once started). Appointments
are clinic data: row-level security scopes them to the clinic like every other such table,
and the application role may read, add and update them but never delete (they are cancelled).
The (clinic, therapist, start) index serves the day and week views and the overlap check;
(clinic, start) serves the dashboard's list of today.

Revision ID: b7e3a1f05c42
Revises: 3b8e5f1c9d42
Create Date: 2026-12-03 18:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from strigil.store.base import UTCDateTime

revision: str = "b7e3a1f05c42"
down_revision: str | None = "3b8e5f1c9d42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "strigil_app"
POLICY = "clinic_isolation"
USING = "clinic_id = NULLIF(current_setting('strigil.clinic_id', true), '')::int"


def upgrade() -> None:
    op.create_table(
        "appointment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("therapist_id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("series_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_appointment_ends_after_start")),
        sa.CheckConstraint(
            "status IN ('booked', 'arrived', 'no_show', 'cancelled')",
            name=op.f("ck_appointment_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_appointment_clinic_id_clinic")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_appointment_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"], ["app_user.id"], name=op.f("fk_appointment_therapist_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"], ["episode.id"], name=op.f("fk_appointment_episode_id_episode")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visit.id"], name=op.f("fk_appointment_visit_id_visit")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["app_user.id"], name=op.f("fk_appointment_created_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment")),
        sa.UniqueConstraint("external_id", name=op.f("uq_appointment_external_id")),
    )
    op.create_index(op.f("ix_appointment_clinic_id"), "appointment", ["clinic_id"])
    op.create_index(op.f("ix_appointment_patient_id"), "appointment", ["patient_id"])
    op.create_index(op.f("ix_appointment_series_id"), "appointment", ["series_id"])
    op.create_index(
        "ix_appointment_clinic_therapist_starts",
        "appointment",
        ["clinic_id", "therapist_id", "starts_at"],
    )
    op.create_index("ix_appointment_clinic_starts", "appointment", ["clinic_id", "starts_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE appointment ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE appointment FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON appointment USING ({USING}) WITH CHECK ({USING})")
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON appointment TO {ROLE}")
        op.execute(f"REVOKE DELETE, TRUNCATE ON appointment FROM {ROLE}")
        op.execute(f"GRANT USAGE, SELECT ON SEQUENCE appointment_id_seq TO {ROLE}")


def downgrade() -> None:
    op.drop_table("appointment")
