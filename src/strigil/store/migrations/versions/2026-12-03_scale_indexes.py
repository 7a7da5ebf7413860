"""indexes for a large network: a clinic's open episodes in id order (the dashboard's flags)

Revision ID: 5c2e8a4f7b19
Revises: 7f2c4e8a1d63
Create Date: 2026-12-03 21:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c2e8a4f7b19"
down_revision: str | None = "7f2c4e8a1d63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("status = 'active' AND entered_in_error_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("episode", schema=None) as batch_op:
        batch_op.create_index(
            "ix_episode_clinic_active",
            ["clinic_id", "id"],
            postgresql_where=ACTIVE,
            sqlite_where=ACTIVE,
        )


def downgrade() -> None:
    with op.batch_alter_table("episode", schema=None) as batch_op:
        batch_op.drop_index("ix_episode_clinic_active")
