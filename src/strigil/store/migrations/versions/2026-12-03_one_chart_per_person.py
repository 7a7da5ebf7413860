"""one chart per person: match keys on patients, chart merges, indexed search

Adds normalised match keys to ``patient`` (name folded for case and accents, phone digits,
email lower-case) with indexes for the duplicate check and for search by birth date and
phone; ``merged_into_id`` pointing a merged chart at the chart it went into; and
``patient_merge``, recording which rows each merge moved so it can be undone exactly.

On PostgreSQL the new table gets the clinic isolation policy and the application's grants,
and the signed-note trigger lets a signed visit's ``patient_id`` change only between the two
charts of a recorded merge (its content stays locked).

Revision ID: 3b8e5f1c9d42
Revises: c4a8e2f6b9d1
Create Date: 2026-12-03 18:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strigil.store.base
from strigil.core import identity

revision: str = "3b8e5f1c9d42"
down_revision: str | None = "c4a8e2f6b9d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "strigil_app"
POLICY = "clinic_isolation"
USING = "clinic_id = NULLIF(current_setting('strigil.clinic_id', true), '')::int"
INDEXES = {
    "ix_patient_clinic_name_key_birth_date": ["clinic_id", "name_key", "birth_date"],
    "ix_patient_clinic_birth_date": ["clinic_id", "birth_date"],
    "ix_patient_clinic_phone_digits": ["clinic_id", "phone_digits"],
    "ix_patient_clinic_email_key": ["clinic_id", "email_key"],
}
FROZEN = (
    "subjective",
    "objective",
    "assessment",
    "plan",
    "status",
    "signed_at",
    "signed_by_id",
    "signer_name",
    "signer_credentials",
    "signer_licence",
    "note_digest",
    "number",
    "started_at",
    "episode_id",
)
MERGE_PAIR = (
    "EXISTS (SELECT 1 FROM patient_merge m WHERE "
    "(m.source_patient_id = OLD.patient_id AND m.target_patient_id = NEW.patient_id) OR "
    "(m.source_patient_id = NEW.patient_id AND m.target_patient_id = OLD.patient_id))"
)


def _frozen_function(columns: Sequence[str], patient_clause: str) -> str:
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in columns)
    return (
        "CREATE OR REPLACE FUNCTION strigil_signed_note_frozen() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"IF OLD.status = 'signed' AND OLD.note_digest IS NOT NULL AND ({changed}{patient_clause}) "
        "THEN RAISE EXCEPTION 'visit %: the signed note is locked; add an addendum', "
        "OLD.external_id USING ERRCODE = 'integrity_constraint_violation'; END IF; "
        "RETURN NEW; END $$"
    )


def _patient_columns() -> None:
    with op.batch_alter_table("patient") as batch:
        batch.add_column(sa.Column("name_key", sa.String(210), nullable=False, server_default=""))
        batch.add_column(sa.Column("phone_digits", sa.String(40), nullable=True))
        batch.add_column(sa.Column("email_key", sa.String(254), nullable=True))
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_patient_merged_into_id_patient", "patient", ["merged_into_id"], ["id"]
        )
        for name, columns in INDEXES.items():
            batch.create_index(name, columns, unique=False)


def _backfill() -> None:
    """Fill the keys of existing patients with the same rules the application uses."""
    patient = sa.table(
        "patient",
        sa.column("id", sa.Integer()),
        sa.column("given_name", sa.String()),
        sa.column("family_name", sa.String()),
        sa.column("phone", sa.String()),
        sa.column("email", sa.String()),
        sa.column("name_key", sa.String()),
        sa.column("phone_digits", sa.String()),
        sa.column("email_key", sa.String()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            patient.c.id,
            patient.c.given_name,
            patient.c.family_name,
            patient.c.phone,
            patient.c.email,
        )
    ).all()
    for row in rows:
        bind.execute(
            patient.update()
            .where(patient.c.id == row.id)
            .values(
                name_key=identity.name_key(row.given_name or "", row.family_name or ""),
                phone_digits=identity.phone_digits(row.phone),
                email_key=identity.email_key(row.email),
            )
        )


def _merge_table() -> None:
    op.create_table(
        "patient_merge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", strigil.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("source_patient_id", sa.Integer(), nullable=False),
        sa.Column("target_patient_id", sa.Integer(), nullable=False),
        sa.Column("merged_by_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("moved_rows", sa.JSON(), nullable=False),
        sa.Column(
            "entered_in_error_at", strigil.store.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("entered_in_error_reason", sa.Text(), nullable=True),
        sa.Column("entered_in_error_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name="fk_patient_merge_clinic_id_clinic"
        ),
        sa.ForeignKeyConstraint(
            ["source_patient_id"],
            ["patient.id"],
            name="fk_patient_merge_source_patient_id_patient",
        ),
        sa.ForeignKeyConstraint(
            ["target_patient_id"],
            ["patient.id"],
            name="fk_patient_merge_target_patient_id_patient",
        ),
        sa.ForeignKeyConstraint(
            ["merged_by_id"], ["app_user.id"], name="fk_patient_merge_merged_by_id_app_user"
        ),
        sa.ForeignKeyConstraint(
            ["entered_in_error_by_id"],
            ["app_user.id"],
            name="fk_patient_merge_entered_in_error_by_id_app_user",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_patient_merge"),
        sa.UniqueConstraint("external_id", name="uq_patient_merge_external_id"),
    )
    for column in ("clinic_id", "source_patient_id", "target_patient_id"):
        op.create_index(f"ix_patient_merge_{column}", "patient_merge", [column], unique=False)


def _postgres_guards() -> None:
    op.execute('ALTER TABLE "patient_merge" ENABLE ROW LEVEL SECURITY')
    op.execute('ALTER TABLE "patient_merge" FORCE ROW LEVEL SECURITY')
    op.execute(f'CREATE POLICY {POLICY} ON "patient_merge" USING ({USING}) WITH CHECK ({USING})')
    op.execute(f'GRANT SELECT, INSERT, UPDATE ON "patient_merge" TO {ROLE}')
    op.execute(f'GRANT USAGE, SELECT ON SEQUENCE "patient_merge_id_seq" TO {ROLE}')
    clause = f" OR (NEW.patient_id IS DISTINCT FROM OLD.patient_id AND NOT {MERGE_PAIR})"
    op.execute(_frozen_function(FROZEN, clause))


def upgrade() -> None:
    _patient_columns()
    _backfill()
    _merge_table()
    if op.get_bind().dialect.name == "postgresql":
        _postgres_guards()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_frozen_function((*FROZEN, "patient_id"), ""))
    op.drop_table("patient_merge")
    with op.batch_alter_table("patient") as batch:
        for name in INDEXES:
            batch.drop_index(name)
        batch.drop_constraint("fk_patient_merged_into_id_patient", type_="foreignkey")
        batch.drop_column("merged_into_id")
        batch.drop_column("email_key")
        batch.drop_column("phone_digits")
        batch.drop_column("name_key")
