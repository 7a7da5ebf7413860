"""least privilege: row-level security on clinics, sessions and tokens; a sign-in directory

PostgreSQL only; a no-op on SQLite.

Why: the application connects as a login role that is a member of ``strigil_app``, never as
the owner, so no statement it runs can turn row-level security off or touch the audit
trigger. Rows that reach across clinics before the clinic is known (which clinic an email,
a login cookie or an API token belongs to) are answered by three SECURITY DEFINER functions
owned by ``strigil_directory``, a role that may read only those key columns and returns only
a clinic number: the sign-in then continues inside that clinic's scope like any request.

Revision ID: 4f2a9c1d7e30
Revises: 7c1d2e3f4a5b
Create Date: 2026-12-01 00:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "4f2a9c1d7e30"
down_revision: str | None = "7c1d2e3f4a5b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP = "strigil_app"
DIRECTORY = "strigil_directory"
CLINIC = "NULLIF(current_setting('strigil.clinic_id', true), '')::int"
# A login session or token is visible when its user is (app_user is itself clinic-scoped).
BY_USER = "EXISTS (SELECT 1 FROM app_user u WHERE u.id = user_id)"

LOOKUPS = {
    "strigil_clinic_of_email": "SELECT clinic_id FROM app_user WHERE email = lookup_key",
    "strigil_clinic_of_login": (
        "SELECT u.clinic_id FROM login_session s JOIN app_user u ON u.id = s.user_id "
        "WHERE s.token_hash = lookup_key"
    ),
    "strigil_clinic_of_token": (
        "SELECT u.clinic_id FROM api_token t JOIN app_user u ON u.id = t.user_id "
        "WHERE t.token_hash = lookup_key"
    ),
}


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _secure(table: str, using: str) -> None:
    op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
    op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
    op.execute(f'CREATE POLICY clinic_isolation ON "{table}" USING ({using}) WITH CHECK ({using})')


def _directory() -> None:
    op.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{DIRECTORY}') "
        f"THEN CREATE ROLE {DIRECTORY} NOLOGIN; END IF; END $$"
    )
    op.execute(
        f"DO $$ BEGIN IF NOT pg_has_role(current_user, '{DIRECTORY}', 'MEMBER') "
        f"THEN EXECUTE format('GRANT {DIRECTORY} TO %I', current_user); END IF; END $$"
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {DIRECTORY}")
    op.execute(f"GRANT SELECT (id, clinic_id, email) ON app_user TO {DIRECTORY}")
    for table in ("login_session", "api_token"):
        op.execute(f"GRANT SELECT (user_id, token_hash) ON {table} TO {DIRECTORY}")
    for table in ("app_user", "login_session", "api_token"):
        op.execute(
            f"CREATE POLICY directory_lookup ON {table} FOR SELECT TO {DIRECTORY} USING (true)"
        )
    for name, query in LOOKUPS.items():
        op.execute(
            f"CREATE FUNCTION {name}(lookup_key text) RETURNS integer LANGUAGE sql STABLE "
            f"SECURITY DEFINER SET search_path = public, pg_temp AS $$ {query} $$"
        )
        op.execute(f"ALTER FUNCTION {name}(text) OWNER TO {DIRECTORY}")
        op.execute(f"REVOKE ALL ON FUNCTION {name}(text) FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {name}(text) TO {APP}")


def upgrade() -> None:
    if not _is_postgres():
        return
    _secure("clinic", f"id = {CLINIC}")
    _secure("login_session", BY_USER)
    _secure("api_token", BY_USER)
    # The audit trail is append-only for the application: no UPDATE, DELETE or TRUNCATE.
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM {APP}")
    op.execute(f"REVOKE DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public FROM {APP}")
    _directory()


def downgrade() -> None:
    if not _is_postgres():
        return
    for name in LOOKUPS:
        op.execute(f"DROP FUNCTION IF EXISTS {name}(text)")
    for table in ("app_user", "login_session", "api_token"):
        op.execute(f"DROP POLICY IF EXISTS directory_lookup ON {table}")
    op.execute(f"REVOKE ALL ON app_user, login_session, api_token FROM {DIRECTORY}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {DIRECTORY}")
    for table in ("clinic", "login_session", "api_token"):
        op.execute(f'DROP POLICY IF EXISTS clinic_isolation ON "{table}"')
        op.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
        op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
