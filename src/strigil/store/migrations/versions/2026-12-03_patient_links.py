"""patient links and the 48-hour check-in: single-purpose keys for patients without accounts

On PostgreSQL both clinic-owned tables get row-level security like every other one, and the
sign-in directory gains a function that tells which clinic a link's digest belongs to, so a
patient's request can run inside that clinic's scope.

Revision ID: e3a7c5d9b1f4
Revises: d9f1b3c5e7a2
Create Date: 2026-12-03 20:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strigil.store.base

revision: str = "e3a7c5d9b1f4"
down_revision: str | None = "d9f1b3c5e7a2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "strigil_app"
DIRECTORY = "strigil_directory"
FUNCTION = "strigil_clinic_of_patient_link"
USING = "clinic_id = NULLIF(current_setting('strigil.clinic_id', true), '')::int"
UTC = strigil.store.base.UTCDateTime(timezone=True)


def _common() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
    ]


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "patient_link",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("single_use", sa.Boolean(), nullable=False),
        sa.Column("used_at", UTC, nullable=True),
        sa.Column("revoked_at", UTC, nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        *_common(),
        _fk("patient_link", "clinic_id", "clinic"),
        _fk("patient_link", "patient_id", "patient"),
        _fk("patient_link", "visit_id", "visit"),
        _fk("patient_link", "issued_by_id", "app_user"),
        _fk("patient_link", "revoked_by_id", "app_user"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_link")),
        sa.UniqueConstraint("external_id", name=op.f("uq_patient_link_external_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_patient_link_token_hash")),
    )
    op.create_table(
        "checkin",
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("submitted_at", UTC, nullable=False),
        sa.Column("needs_attention", sa.Boolean(), nullable=False),
        sa.Column("adverse_event_id", sa.Integer(), nullable=True),
        *_common(),
        _fk("checkin", "clinic_id", "clinic"),
        _fk("checkin", "link_id", "patient_link"),
        _fk("checkin", "patient_id", "patient"),
        _fk("checkin", "visit_id", "visit"),
        _fk("checkin", "adverse_event_id", "adverse_event"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin")),
        sa.UniqueConstraint("external_id", name=op.f("uq_checkin_external_id")),
    )
    for table, columns in (
        ("patient_link", ("clinic_id", "patient_id", "visit_id")),
        ("checkin", ("clinic_id", "link_id", "patient_id", "visit_id")),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for table in ("patient_link", "checkin"):
            _secure(table)
        _directory()


def _secure(table: str) -> None:
    op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
    op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
    op.execute(f'CREATE POLICY clinic_isolation ON "{table}" USING ({USING}) WITH CHECK ({USING})')
    op.execute(f'GRANT SELECT, INSERT, UPDATE ON "{table}" TO {ROLE}')
    op.execute(f'GRANT USAGE, SELECT ON SEQUENCE "{table}_id_seq" TO {ROLE}')


def _directory() -> None:
    """The link's clinic, answered by the directory role that may read only these columns."""
    op.execute(f"GRANT SELECT (clinic_id, token_hash) ON patient_link TO {DIRECTORY}")
    op.execute(
        f"CREATE POLICY directory_lookup ON patient_link FOR SELECT TO {DIRECTORY} USING (true)"
    )
    op.execute(
        f"CREATE FUNCTION {FUNCTION}(lookup_key text) RETURNS integer LANGUAGE sql STABLE "
        "SECURITY DEFINER SET search_path = public, pg_temp AS "
        "$$ SELECT clinic_id FROM patient_link WHERE token_hash = lookup_key $$"
    )
    op.execute(f"ALTER FUNCTION {FUNCTION}(text) OWNER TO {DIRECTORY}")
    op.execute(f"REVOKE ALL ON FUNCTION {FUNCTION}(text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {FUNCTION}(text) TO {ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}(text)")
    for table, columns in (
        ("checkin", ("clinic_id", "link_id", "patient_id", "visit_id")),
        ("patient_link", ("clinic_id", "patient_id", "visit_id")),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in reversed(columns):
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
        op.drop_table(table)
