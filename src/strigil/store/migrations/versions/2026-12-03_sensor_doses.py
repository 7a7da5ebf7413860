"""measured and intended IASTM dose: recordings from an instrumented tool, per treated area

A recording's file stays beside the database (under the data folder) and the row keeps its
SHA-256 digest; rows are never deleted, only marked entered-in-error. On PostgreSQL both
clinic tables get row-level security like every other one.

Revision ID: a4c8e2f6b0d3
Revises: a4c6e8f0b2d7
Create Date: 2026-12-03 21:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strigil.store.base

revision: str = "a4c8e2f6b0d3"
down_revision: str | None = "a4c6e8f0b2d7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "strigil_app"
USING = "clinic_id = NULLIF(current_setting('strigil.clinic_id', true), '')::int"
UTC = strigil.store.base.UTCDateTime(timezone=True)
INDEXED = {
    "sensor_recording": ("clinic_id", "treated_area_id"),
    "intended_dose": ("clinic_id",),
}


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


def _error_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("entered_in_error_at", UTC, nullable=True),
        sa.Column("entered_in_error_reason", sa.Text(), nullable=True),
        sa.Column("entered_in_error_by_id", sa.Integer(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "sensor_recording",
        sa.Column("treated_area_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("file_digest", sa.String(length=64), nullable=False),
        sa.Column("stored_path", sa.String(length=300), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("tool", sa.String(length=200), nullable=True),
        sa.Column("threshold_n", sa.Float(), nullable=False),
        sa.Column("strokes", sa.Integer(), nullable=False),
        sa.Column("stroke_rate_hz", sa.Float(), nullable=False),
        sa.Column("time_under_load_s", sa.Float(), nullable=False),
        sa.Column("mean_force_n", sa.Float(), nullable=True),
        sa.Column("peak_force_n", sa.Float(), nullable=True),
        sa.Column("impulse_ns", sa.Float(), nullable=False),
        sa.Column("mean_angle_deg", sa.Float(), nullable=True),
        sa.Column("stroke_list", sa.JSON(), nullable=False),
        sa.Column("force_cap_n", sa.Float(), nullable=True),
        sa.Column("cap_reasons", sa.JSON(), nullable=False),
        sa.Column("cap_exceeded", sa.Boolean(), nullable=False),
        *_error_columns(),
        *_common(),
        _fk("sensor_recording", "clinic_id", "clinic"),
        _fk("sensor_recording", "treated_area_id", "treated_area"),
        _fk("sensor_recording", "recorded_by_id", "app_user"),
        _fk("sensor_recording", "entered_in_error_by_id", "app_user"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensor_recording")),
        sa.UniqueConstraint("external_id", name=op.f("uq_sensor_recording_external_id")),
    )
    op.create_table(
        "intended_dose",
        sa.Column("treated_area_id", sa.Integer(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=False),
        sa.Column("force_min_n", sa.Float(), nullable=True),
        sa.Column("force_max_n", sa.Float(), nullable=True),
        sa.Column("strokes", sa.Integer(), nullable=True),
        sa.Column("time_under_load_s", sa.Float(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        *_common(),
        _fk("intended_dose", "clinic_id", "clinic"),
        _fk("intended_dose", "treated_area_id", "treated_area"),
        _fk("intended_dose", "set_by_id", "app_user"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intended_dose")),
        sa.UniqueConstraint("external_id", name=op.f("uq_intended_dose_external_id")),
        sa.UniqueConstraint("treated_area_id", name=op.f("uq_intended_dose_treated_area_id")),
    )
    for table, columns in INDEXED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for table in INDEXED:
            _secure(table)


def _secure(table: str) -> None:
    op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
    op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
    op.execute(f'CREATE POLICY clinic_isolation ON "{table}" USING ({USING}) WITH CHECK ({USING})')
    op.execute(f'GRANT SELECT, INSERT, UPDATE ON "{table}" TO {ROLE}')
    op.execute(f'GRANT USAGE, SELECT ON SEQUENCE "{table}_id_seq" TO {ROLE}')


def downgrade() -> None:
    for table in reversed(list(INDEXED)):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in reversed(INDEXED[table]):
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
        op.drop_table(table)
