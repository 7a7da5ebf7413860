"""the phase of a sensor recording: an exploring pass or the treating dose

Only the treating phase is compared with an area's intended dose. Recordings stored before
this revision were all compared with it, so they are treating.

Revision ID: 8b3d5f7a9c2e
Revises: 5c2e8a4f7b19
Create Date: 2026-12-04 01:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8b3d5f7a9c2e"
down_revision: str | None = "5c2e8a4f7b19"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sensor_recording", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("phase", sa.String(length=10), server_default="treating", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("sensor_recording", schema=None) as batch_op:
        batch_op.drop_column("phase")
