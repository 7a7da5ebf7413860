"""per-patient revisions, and the clinic's count of changes that belong to no one patient

Why: a visit page is reused while the data it was drawn from is unchanged. Keyed on the
whole clinic's revision, every reading any therapist records invalidates every open visit
page in the clinic; keyed on the patient's revision and the clinic's shared rows, it stays
current until something on that chart (or shared by all charts) changes. Both tables are
clinic data: row-level security scopes them like every other.

Revision ID: f2b8d4a6c0e1
Revises: e3a7c5d9b1f4
Create Date: 2026-12-03 21:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f2b8d4a6c0e1"
down_revision: str | None = "e3a7c5d9b1f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "strigil_app"
POLICY = "clinic_isolation"
USING = "clinic_id = NULLIF(current_setting('strigil.clinic_id', true), '')::int"


def upgrade() -> None:
    with op.batch_alter_table("clinic_revision") as batch:
        batch.add_column(sa.Column("shared", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_table(
        "patient_revision",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_patient_revision_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_revision")),
    )
    op.create_index(
        op.f("ix_patient_revision_clinic_id"), "patient_revision", ["clinic_id"], unique=False
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE patient_revision ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE patient_revision FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {POLICY} ON patient_revision USING ({USING}) WITH CHECK ({USING})"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON patient_revision TO {ROLE}")


def downgrade() -> None:
    op.drop_table("patient_revision")
    with op.batch_alter_table("clinic_revision") as batch:
        batch.drop_column("shared")
