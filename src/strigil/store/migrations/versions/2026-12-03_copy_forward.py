"""copy forward: clinic visit templates, and the planned time of a treated area

On PostgreSQL the new clinic-owned table gets row-level security like every other one.

Revision ID: b7e3c9d1a4f2
Revises: 9c4d1e7a2b60
Create Date: 2026-12-03 18:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strigil.store.base

revision: str = "b7e3c9d1a4f2"
down_revision: str | None = "9c4d1e7a2b60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "strigil_app"
USING = "clinic_id = NULLIF(current_setting('strigil.clinic_id', true), '')::int"


def upgrade() -> None:
    op.create_table(
        "visit_template",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("condition_prefix", sa.String(length=10), nullable=False),
        sa.Column("areas", sa.JSON(), nullable=False),
        sa.Column("exercises", sa.JSON(), nullable=False),
        sa.Column("tests", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("retired_at", strigil.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", strigil.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", strigil.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_visit_template_clinic_id_clinic")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["app_user.id"],
            name=op.f("fk_visit_template_created_by_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_template")),
        sa.UniqueConstraint("external_id", name=op.f("uq_visit_template_external_id")),
    )
    with op.batch_alter_table("visit_template", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_visit_template_clinic_id"), ["clinic_id"], unique=False
        )
    with op.batch_alter_table("treated_area", schema=None) as batch_op:
        batch_op.add_column(sa.Column("planned_seconds", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE "visit_template" ENABLE ROW LEVEL SECURITY')
        op.execute('ALTER TABLE "visit_template" FORCE ROW LEVEL SECURITY')
        op.execute(
            f'CREATE POLICY clinic_isolation ON "visit_template"'
            f" USING ({USING}) WITH CHECK ({USING})"
        )
        op.execute(f'GRANT SELECT, INSERT, UPDATE ON "visit_template" TO {ROLE}')
        op.execute(f'GRANT USAGE, SELECT ON SEQUENCE "visit_template_id_seq" TO {ROLE}')


def downgrade() -> None:
    with op.batch_alter_table("treated_area", schema=None) as batch_op:
        batch_op.drop_column("planned_seconds")
    with op.batch_alter_table("visit_template", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_template_clinic_id"))
    op.drop_table("visit_template")
