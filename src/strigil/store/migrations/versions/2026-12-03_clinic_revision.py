"""a per-clinic revision number, moved on by every transaction that changes clinical data

Why: pages rendered from a clinic's data can be reused while the revision they were rendered
at is still the current one, in every worker and on every host, with one indexed read.
The row is clinic data like any other: row-level security scopes it to the clinic.

Revision ID: 9c4d1e7a2b60
Revises: 5e9a1c7d3b20
Create Date: 2026-12-03 15:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9c4d1e7a2b60"
down_revision: str | None = "5e9a1c7d3b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "strigil_app"
POLICY = "clinic_isolation"
USING = "clinic_id = NULLIF(current_setting('strigil.clinic_id', true), '')::int"


def upgrade() -> None:
    op.create_table(
        "clinic_revision",
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_clinic_revision_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("clinic_id", name=op.f("pk_clinic_revision")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE clinic_revision ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE clinic_revision FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {POLICY} ON clinic_revision USING ({USING}) WITH CHECK ({USING})"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON clinic_revision TO {ROLE}")


def downgrade() -> None:
    op.drop_table("clinic_revision")
