"""patient-reported outcomes: questionnaire and progress links, and a source on every score

A patient link may now name an episode and the measures it asks; an outcome score records who
reported it ("staff" or "patient") and, for a patient's score, the link it came through. Both
tables already have row-level security on PostgreSQL; new columns inherit it.

Revision ID: a4c6e8f0b2d7
Revises: b6e2a8d4f0c3
Create Date: 2026-12-03 21:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a4c6e8f0b2d7"
down_revision: str | None = "b6e2a8d4f0c3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("patient_link", schema=None) as batch_op:
        batch_op.add_column(sa.Column("episode_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("measures", sa.JSON(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_patient_link_episode_id_episode"), "episode", ["episode_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_patient_link_episode_id"), ["episode_id"])
    with op.batch_alter_table("outcome_measurement", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=10), nullable=False, server_default="staff")
        )
        batch_op.add_column(sa.Column("patient_link_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_outcome_measurement_patient_link_id_patient_link"),
            "patient_link",
            ["patient_link_id"],
            ["id"],
        )
        batch_op.create_index(
            batch_op.f("ix_outcome_measurement_patient_link_id"), ["patient_link_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("outcome_measurement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcome_measurement_patient_link_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_outcome_measurement_patient_link_id_patient_link"), type_="foreignkey"
        )
        batch_op.drop_column("patient_link_id")
        batch_op.drop_column("source")
    with op.batch_alter_table("patient_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_link_episode_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_patient_link_episode_id_episode"), type_="foreignkey"
        )
        batch_op.drop_column("measures")
        batch_op.drop_column("episode_id")
