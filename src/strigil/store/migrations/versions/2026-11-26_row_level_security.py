"""row-level security: the strigil_app role, clinic policies, append-only audit trail

PostgreSQL only; a no-op on SQLite (which has neither roles nor row-level security).

Why: the services filter on the actor's clinic, and the database enforces the same rule, so a
missed filter cannot leak another clinic's records. The app role may not DELETE clinical rows
(they are marked entered-in-error) and may only SELECT and INSERT audit rows; a trigger keeps
the audit trail append-only even for the table owner.

Revision ID: 7c1d2e3f4a5b
Revises: 30434dcddf6b
Create Date: 2026-11-26 14:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c1d2e3f4a5b"
down_revision: str | None = "30434dcddf6b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "strigil_app"
POLICY = "clinic_isolation"
USING = "clinic_id = NULLIF(current_setting('strigil.clinic_id', true), '')::int"


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _tenant_tables() -> list[str]:
    """Every table of this schema that carries the clinic key (read live, not from models)."""
    rows = op.get_bind().execute(
        sa.text(
            "SELECT c.table_name FROM information_schema.columns c "
            "JOIN information_schema.tables t "
            "  ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
            "WHERE c.table_schema = current_schema() AND c.column_name = 'clinic_id' "
            "  AND t.table_type = 'BASE TABLE' ORDER BY c.table_name"
        )
    )
    return [r[0] for r in rows]


def upgrade() -> None:
    if not _is_postgres():
        return
    op.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') "
        f"THEN CREATE ROLE {ROLE} NOLOGIN; END IF; END $$"
    )
    # The connecting role must be able to SET ROLE to the app role for each request.
    op.execute(
        f"DO $$ BEGIN IF NOT pg_has_role(current_user, '{ROLE}', 'MEMBER') "
        f"THEN EXECUTE format('GRANT {ROLE} TO %I', current_user); END IF; END $$"
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {ROLE}")
    op.execute(f"REVOKE ALL ON alembic_version FROM {ROLE}")
    op.execute(f"REVOKE UPDATE ON audit_event FROM {ROLE}")
    op.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE ON TABLES TO {ROLE}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {ROLE}"
    )
    for table in _tenant_tables():
        op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
        op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
        op.execute(f'CREATE POLICY {POLICY} ON "{table}" USING ({USING}) WITH CHECK ({USING})')
    op.execute(
        "CREATE OR REPLACE FUNCTION strigil_audit_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP "
        "USING ERRCODE = 'insufficient_privilege'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION strigil_audit_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
        "FOR EACH STATEMENT EXECUTE FUNCTION strigil_audit_append_only()"
    )


def downgrade() -> None:
    """Remove policies, trigger and grants; the role itself is cluster-wide and is kept."""
    if not _is_postgres():
        return
    op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
    op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
    op.execute("DROP FUNCTION IF EXISTS strigil_audit_append_only()")
    for table in _tenant_tables():
        op.execute(f'DROP POLICY IF EXISTS {POLICY} ON "{table}"')
        op.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
        op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE ON TABLES "
        f"FROM {ROLE}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM {ROLE}"
    )
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {ROLE}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {ROLE}")
