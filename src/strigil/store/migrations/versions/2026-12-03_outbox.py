"""outbox for patient-link emails, and the language a patient link opens in

On PostgreSQL the outbox gets row-level security like every other clinic table; the sender
runs as the operator (``strigil outbox send``) and so reaches every clinic's queue.

Revision ID: b6e2a8d4f0c3
Revises: f2b8d4a6c0e1
Create Date: 2026-12-03 21:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strigil.store.base

revision: str = "b6e2a8d4f0c3"
down_revision: str | None = "f2b8d4a6c0e1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "strigil_app"
USING = "clinic_id = NULLIF(current_setting('strigil.clinic_id', true), '')::int"
UTC = strigil.store.base.UTCDateTime(timezone=True)
INDEXED = ("clinic_id", "link_id", "status")


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("link_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC, nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("sent_at", UTC, nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_outbox_clinic_id_clinic")
        ),
        sa.ForeignKeyConstraint(
            ["link_id"], ["patient_link.id"], name=op.f("fk_outbox_link_id_patient_link")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("external_id", name=op.f("uq_outbox_external_id")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        for column in INDEXED:
            batch_op.create_index(batch_op.f(f"ix_outbox_{column}"), [column], unique=False)
    with op.batch_alter_table("patient_link", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE "outbox" ENABLE ROW LEVEL SECURITY')
        op.execute('ALTER TABLE "outbox" FORCE ROW LEVEL SECURITY')
        op.execute(
            f'CREATE POLICY clinic_isolation ON "outbox" USING ({USING}) WITH CHECK ({USING})'
        )
        op.execute(f'GRANT SELECT, INSERT, UPDATE ON "outbox" TO {ROLE}')
        op.execute(f'GRANT USAGE, SELECT ON SEQUENCE "outbox_id_seq" TO {ROLE}')


def downgrade() -> None:
    with op.batch_alter_table("patient_link", schema=None) as batch_op:
        batch_op.drop_column("language")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        for column in reversed(INDEXED):
            batch_op.drop_index(batch_op.f(f"ix_outbox_{column}"))
    op.drop_table("outbox")
