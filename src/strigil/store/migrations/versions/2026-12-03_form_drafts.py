"""form drafts: an assistant's filled-in screening kept for a therapist to check and save

On PostgreSQL the new clinic-owned table gets row-level security like every other one.

Revision ID: c4a8e2f6b9d1
Revises: b7e3c9d1a4f2
Create Date: 2026-12-03 19:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strigil.store.base

revision: str = "c4a8e2f6b9d1"
down_revision: str | None = "b7e3c9d1a4f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "strigil_app"
USING = "clinic_id = NULLIF(current_setting('strigil.clinic_id', true), '')::int"
UTC = strigil.store.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "form_draft",
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("closed_at", UTC, nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["app_user.id"], name=op.f("fk_form_draft_author_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_form_draft_clinic_id_clinic")
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["app_user.id"], name=op.f("fk_form_draft_closed_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"], ["episode.id"], name=op.f("fk_form_draft_episode_id_episode")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_draft")),
        sa.UniqueConstraint("external_id", name=op.f("uq_form_draft_external_id")),
    )
    with op.batch_alter_table("form_draft", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_form_draft_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_form_draft_episode_id"), ["episode_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE "form_draft" ENABLE ROW LEVEL SECURITY')
        op.execute('ALTER TABLE "form_draft" FORCE ROW LEVEL SECURITY')
        op.execute(
            f'CREATE POLICY clinic_isolation ON "form_draft" USING ({USING}) WITH CHECK ({USING})'
        )
        op.execute(f'GRANT SELECT, INSERT, UPDATE ON "form_draft" TO {ROLE}')
        op.execute(f'GRANT USAGE, SELECT ON SEQUENCE "form_draft_id_seq" TO {ROLE}')


def downgrade() -> None:
    with op.batch_alter_table("form_draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_draft_episode_id"))
        batch_op.drop_index(batch_op.f("ix_form_draft_clinic_id"))
    op.drop_table("form_draft")
