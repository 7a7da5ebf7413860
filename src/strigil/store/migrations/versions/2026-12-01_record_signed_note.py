"""signed note record: signer identity and digest, pre/post tests, billing lines, undo

Adds who signed (name and credentials as they were at signing) and the SHA-256 digest of the
signed note; user credentials; clinic address, phone and billing settings; pre/post test
measurements and per-code billing lines as data; entered-in-error on discomfort readings.
On PostgreSQL the new clinic-owned tables get the clinic isolation policy, and a trigger
refuses changes to a signed note's content once its digest is stored (signing stores the
digest in the same transaction, after the status).

Revision ID: b3e1d2c4a5f6
Revises: 8d2e4f6a1b3c
Create Date: 2026-12-01 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import strigil.store.base

revision: str = "b3e1d2c4a5f6"
down_revision: str | None = "8d2e4f6a1b3c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "strigil_app"
POLICY = "clinic_isolation"
USING = "clinic_id = NULLIF(current_setting('strigil.clinic_id', true), '')::int"
NEW_TABLES = ("visit_measurement", "billing_line")
# The columns of a signed note that no one may change once it is signed.
SIGNED_COLUMNS = (
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
    "patient_id",
    "episode_id",
)


def _ts(name: str) -> sa.Column[object]:
    return sa.Column(name, strigil.store.base.UTCDateTime(timezone=True), nullable=True)


def _common(table: str) -> list[sa.Column[object] | sa.Constraint]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", strigil.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        _ts("entered_in_error_at"),
        sa.Column("entered_in_error_reason", sa.Text(), nullable=True),
        sa.Column("entered_in_error_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=f"fk_{table}_clinic_id_clinic"),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"], name=f"fk_{table}_visit_id_visit"),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["app_user.id"], name=f"fk_{table}_recorded_by_id_app_user"
        ),
        sa.ForeignKeyConstraint(
            ["entered_in_error_by_id"],
            ["app_user.id"],
            name=f"fk_{table}_entered_in_error_by_id_app_user",
        ),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        sa.UniqueConstraint("external_id", name=f"uq_{table}_external_id"),
    ]


def _columns() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("credentials", sa.String(40), nullable=False, server_default=""))
        batch.add_column(sa.Column("licence_number", sa.String(40), nullable=True))
    with op.batch_alter_table("clinic") as batch:
        batch.add_column(sa.Column("address", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("phone", sa.String(40), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("billing_rule", sa.String(10), nullable=False, server_default="cms")
        )
        batch.add_column(
            sa.Column(
                "assistant_notes_need_cosign",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
    with op.batch_alter_table("visit") as batch:
        batch.add_column(sa.Column("signer_name", sa.String(200), nullable=True))
        batch.add_column(sa.Column("signer_credentials", sa.String(40), nullable=True))
        batch.add_column(sa.Column("signer_licence", sa.String(40), nullable=True))
        batch.add_column(sa.Column("signer_role", sa.String(20), nullable=True))
        batch.add_column(sa.Column("note_digest", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("cosign_required", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(_ts("cosigned_at"))
        batch.add_column(sa.Column("cosigned_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("cosigner_name", sa.String(200), nullable=True))
        batch.add_column(sa.Column("cosigner_credentials", sa.String(40), nullable=True))
        batch.create_foreign_key(
            "fk_visit_cosigned_by_id_app_user", "app_user", ["cosigned_by_id"], ["id"]
        )
    with op.batch_alter_table("note_addendum") as batch:
        batch.add_column(
            sa.Column("author_name", sa.String(200), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("author_credentials", sa.String(40), nullable=False, server_default="")
        )
    with op.batch_alter_table("restriction_finding") as batch:
        batch.add_column(sa.Column("side", sa.String(20), nullable=True))
    with op.batch_alter_table("discomfort_reading") as batch:
        batch.add_column(_ts("entered_in_error_at"))
        batch.add_column(sa.Column("entered_in_error_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("entered_in_error_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_discomfort_reading_entered_in_error_by_id_app_user",
            "app_user",
            ["entered_in_error_by_id"],
            ["id"],
        )


def _tables() -> None:
    op.create_table(
        "visit_measurement",
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("joint", sa.String(40), nullable=True),
        sa.Column("motion", sa.String(40), nullable=True),
        sa.Column("side", sa.String(20), nullable=True),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("higher_is_better", sa.Boolean(), nullable=True),
        sa.Column("pre_value", sa.Float(), nullable=True),
        sa.Column("post_value", sa.Float(), nullable=True),
        *_common("visit_measurement"),
    )
    op.create_table(
        "billing_line",
        sa.Column("code", sa.String(10), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=True),
        sa.CheckConstraint("seconds IS NULL OR seconds >= 0", name="ck_billing_line_seconds"),
        *_common("billing_line"),
    )
    for table in NEW_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.create_index(f"ix_{table}_clinic_id", ["clinic_id"], unique=False)
            batch.create_index(f"ix_{table}_visit_id", ["visit_id"], unique=False)


def _postgres_guards() -> None:
    for table in NEW_TABLES:
        op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
        op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
        op.execute(f'CREATE POLICY {POLICY} ON "{table}" USING ({USING}) WITH CHECK ({USING})')
        op.execute(f'GRANT SELECT, INSERT, UPDATE ON "{table}" TO {ROLE}')
        op.execute(f'GRANT USAGE, SELECT ON SEQUENCE "{table}_id_seq" TO {ROLE}')
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in SIGNED_COLUMNS)
    op.execute(
        "CREATE OR REPLACE FUNCTION strigil_signed_note_frozen() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"IF OLD.status = 'signed' AND OLD.note_digest IS NOT NULL AND ({changed}) THEN "
        "RAISE EXCEPTION 'visit %: the signed note is locked; add an addendum', OLD.external_id "
        "USING ERRCODE = 'integrity_constraint_violation'; END IF; RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER visit_signed_note_frozen BEFORE UPDATE ON visit "
        "FOR EACH ROW EXECUTE FUNCTION strigil_signed_note_frozen()"
    )
    # The billed time is part of the signed content: no new or changed line once signed.
    op.execute(
        "CREATE OR REPLACE FUNCTION strigil_signed_billing_frozen() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "IF EXISTS (SELECT 1 FROM visit v WHERE v.id = NEW.visit_id AND v.status = 'signed' "
        "AND v.note_digest IS NOT NULL) THEN "
        "RAISE EXCEPTION 'visit %: the signed note is locked; add an addendum', NEW.visit_id "
        "USING ERRCODE = 'integrity_constraint_violation'; END IF; RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER billing_line_signed_frozen BEFORE INSERT OR UPDATE ON billing_line "
        "FOR EACH ROW EXECUTE FUNCTION strigil_signed_billing_frozen()"
    )


def upgrade() -> None:
    _columns()
    _tables()
    if op.get_bind().dialect.name == "postgresql":
        _postgres_guards()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS billing_line_signed_frozen ON billing_line")
        op.execute("DROP FUNCTION IF EXISTS strigil_signed_billing_frozen()")
        op.execute("DROP TRIGGER IF EXISTS visit_signed_note_frozen ON visit")
        op.execute("DROP FUNCTION IF EXISTS strigil_signed_note_frozen()")
    for table in NEW_TABLES:
        op.drop_table(table)
    with op.batch_alter_table("discomfort_reading") as batch:
        batch.drop_constraint(
            "fk_discomfort_reading_entered_in_error_by_id_app_user", type_="foreignkey"
        )
        for name in ("entered_in_error_by_id", "entered_in_error_reason", "entered_in_error_at"):
            batch.drop_column(name)
    with op.batch_alter_table("restriction_finding") as batch:
        batch.drop_column("side")
    with op.batch_alter_table("note_addendum") as batch:
        batch.drop_column("author_credentials")
        batch.drop_column("author_name")
    with op.batch_alter_table("visit") as batch:
        batch.drop_constraint("fk_visit_cosigned_by_id_app_user", type_="foreignkey")
        for name in (
            "cosigner_credentials",
            "cosigner_name",
            "cosigned_by_id",
            "cosigned_at",
            "cosign_required",
            "note_digest",
            "signer_role",
            "signer_licence",
            "signer_credentials",
            "signer_name",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("clinic") as batch:
        for name in ("assistant_notes_need_cosign", "billing_rule", "phone", "address"):
            batch.drop_column(name)
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("licence_number")
        batch.drop_column("credentials")
