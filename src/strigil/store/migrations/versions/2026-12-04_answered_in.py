"""what a patient-reported measurement was answered in: language and checked translation

A patient who answered through a link read either Strigil's own words in their language, a
published instrument's English items, or a clinic's checked translation; the score's meaning
rests on which. Measurements stored before this revision have no record (NULL).

Revision ID: 6d1f3b8e2a47
Revises: 3f9a1c7e5b2d
Create Date: 2026-12-04 04:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6d1f3b8e2a47"
down_revision: str | None = "3f9a1c7e5b2d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outcome_measurement", schema=None) as batch_op:
        batch_op.add_column(sa.Column("administration", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outcome_measurement", schema=None) as batch_op:
        batch_op.drop_column("administration")
