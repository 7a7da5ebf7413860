"""indexes for the dashboard's lists: a clinic's visits newest first, all or of one status

Revision ID: d9f1b3c5e7a2
Revises: b7e3a1f05c42
Create Date: 2026-12-03 19:20:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "d9f1b3c5e7a2"
down_revision: str | None = "b7e3a1f05c42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.create_index("ix_visit_clinic_started", ["clinic_id", "started_at"])
        batch_op.create_index(
            "ix_visit_clinic_status_started", ["clinic_id", "status", "started_at"]
        )


def downgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_clinic_status_started")
        batch_op.drop_index("ix_visit_clinic_started")
