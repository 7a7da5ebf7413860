"""episode risk factors: payer, surgery and its type, and the number of comorbidities

The risk-adjusted outcome model (ADR 0019) predicts each episode's change from its intake
factors; these four are the ones Strigil did not yet record. All are optional: episodes opened
before they were asked keep them empty. The episode table already has row-level security.

Revision ID: 7f2c4e8a1d63
Revises: a4c8e2f6b0d3
Create Date: 2026-12-03 21:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7f2c4e8a1d63"
down_revision: str | None = "a4c8e2f6b0d3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("episode", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payer", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("surgery", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("post_surgical_type", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("comorbidity_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("episode", schema=None) as batch_op:
        batch_op.drop_column("comorbidity_count")
        batch_op.drop_column("post_surgical_type")
        batch_op.drop_column("surgery")
        batch_op.drop_column("payer")
