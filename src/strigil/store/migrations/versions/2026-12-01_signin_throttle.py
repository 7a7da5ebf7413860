"""sign-in throttle in the database; the per-account hard lockout is gone

Why: a counter kept in one process's memory let several workers or hosts each grant the full
allowance, and a hard lock after five failures let anyone who knew a colleague's email lock
them out, and answered differently for real and unknown accounts. The throttle rows are keyed
by a keyed hash of the email, the client address, or both; they carry no clinic because
sign-in runs before the clinic is known, and they are pure counters, so the app role may
delete them (a successful sign-in clears its own).

Revision ID: 5e9a1c7d3b20
Revises: b3e1d2c4a5f6
Create Date: 2026-12-01 23:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strigil.store.base

revision: str = "5e9a1c7d3b20"
down_revision: str | None = "b3e1d2c4a5f6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "strigil_app"


def upgrade() -> None:
    op.create_table(
        "signin_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", strigil.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", strigil.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_signin_throttle")),
    )
    with op.batch_alter_table("signin_throttle", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signin_throttle_last_failure_at"), ["last_failure_at"], unique=False
        )
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch copy of app_user would have to
    # drop a table that sessions, tokens and records point at.
    op.execute("ALTER TABLE app_user DROP COLUMN failed_logins")
    op.execute("ALTER TABLE app_user DROP COLUMN locked_until")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON signin_throttle TO {ROLE}")


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("locked_until", strigil.store.base.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("signin_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signin_throttle_last_failure_at"))
    op.drop_table("signin_throttle")
