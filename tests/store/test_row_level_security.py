"""PostgreSQL row-level security, checked AROUND the services with raw SQL.

The services filter on the actor's clinic; these tests prove the database refuses the same
queries on its own when the app role forgets (or a bug drops) that filter.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from tests.factories import make_clinic, make_patient, make_user

from strigil.store import tenancy
from strigil.store.models import Base

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres: bool) -> None:
    """SQLite has no roles or RLS: the SQLite pass deselects these (tests/conftest.py), so
    reaching here on SQLite is a wiring mistake and fails."""
    assert is_postgres, "row-level security tests must run against PostgreSQL"


@pytest.fixture
def two_clinics(session: Session) -> tuple[int, int]:
    a, b = make_clinic(session), make_clinic(session)
    for clinic, n in ((a, 2), (b, 3)):
        user = make_user(session, clinic)
        for _ in range(n):
            make_patient(session, user)
    session.flush()
    return a.id, b.id


@pytest.fixture
def as_app(connection: Connection) -> Iterator[Connection]:
    """The raw connection as the app role, inside a savepoint undone afterwards."""
    nested = connection.begin_nested()
    connection.execute(text(f"SET LOCAL ROLE {tenancy.APP_ROLE}"))
    yield connection
    if nested.is_active:
        nested.rollback()


def _scope(conn: Connection, clinic_id: int | str) -> None:
    conn.execute(
        text("SELECT set_config(:n, :v, true)"), {"n": tenancy.CLINIC_SETTING, "v": str(clinic_id)}
    )


def _refused(conn: Connection, sql: str, params: dict[str, object] | None = None) -> str:
    """Run ``sql`` in a savepoint and return the database's refusal message."""
    nested = conn.begin_nested()
    with pytest.raises(DBAPIError) as caught:
        conn.execute(text(sql), params or {})
    nested.rollback()
    return str(caught.value.orig)


def test_app_role_sees_only_its_clinics_patients(
    two_clinics: tuple[int, int], as_app: Connection
) -> None:
    a, b = two_clinics
    _scope(as_app, a)
    rows = as_app.execute(text("SELECT clinic_id FROM patient")).all()
    assert [r.clinic_id for r in rows] == [a, a]
    _scope(as_app, b)
    assert as_app.scalar(text("SELECT count(*) FROM patient")) == 3


def test_nothing_is_visible_without_a_clinic(
    two_clinics: tuple[int, int], as_app: Connection
) -> None:
    del two_clinics
    assert as_app.scalar(text("SELECT count(*) FROM patient")) == 0
    _scope(as_app, "")
    assert as_app.scalar(text("SELECT count(*) FROM patient")) == 0
    assert as_app.scalar(text("SELECT count(*) FROM audit_event")) == 0


def test_insert_for_another_clinic_is_refused(
    two_clinics: tuple[int, int], as_app: Connection
) -> None:
    a, b = two_clinics
    _scope(as_app, a)
    message = _refused(
        as_app,
        "INSERT INTO patient (clinic_id, external_id, created_at, version, updated_at, "
        "record_number, given_name, family_name, birth_date, sex) "
        "SELECT :b, gen_random_uuid(), now(), 1, now(), 'X-1', 'Syn', 'Thetic', "
        "'1990-01-01', 'female'",
        {"b": b},
    )
    assert "row-level security" in message


def test_update_cannot_move_a_row_to_another_clinic(
    two_clinics: tuple[int, int], as_app: Connection
) -> None:
    a, b = two_clinics
    _scope(as_app, a)
    message = _refused(as_app, "UPDATE patient SET clinic_id = :b", {"b": b})
    assert "row-level security" in message
    _scope(as_app, b)
    assert as_app.scalar(text("SELECT count(*) FROM patient")) == 3


def test_app_role_may_not_delete_clinical_rows(
    two_clinics: tuple[int, int], as_app: Connection
) -> None:
    a, _ = two_clinics
    _scope(as_app, a)
    assert "permission denied" in _refused(as_app, "DELETE FROM patient")


def test_audit_trail_is_append_only_for_the_app_role(
    two_clinics: tuple[int, int], as_app: Connection
) -> None:
    a, _ = two_clinics
    _scope(as_app, a)
    assert as_app.scalar(text("SELECT count(*) FROM audit_event")) > 0
    as_app.execute(
        text(
            "INSERT INTO audit_event (at, clinic_id, action, entity_type, detail) "
            "VALUES (now(), :a, 'read', 'patient', '{}')"
        ),
        {"a": a},
    )
    assert "permission denied" in _refused(as_app, "UPDATE audit_event SET action = 'x'")
    assert "permission denied" in _refused(as_app, "DELETE FROM audit_event")


def test_audit_trail_is_append_only_even_for_the_owner(
    two_clinics: tuple[int, int], connection: Connection
) -> None:
    del two_clinics
    assert "append-only" in _refused(connection, "UPDATE audit_event SET action = 'x'")
    assert "append-only" in _refused(connection, "DELETE FROM audit_event")
    assert "append-only" in _refused(connection, "TRUNCATE audit_event")


def test_every_tenant_table_has_forced_rls_and_no_delete_grant(connection: Connection) -> None:
    """A new table with clinic_id must get a policy in its migration, or this fails."""
    tenant = sorted(t.name for t in Base.metadata.sorted_tables if "clinic_id" in t.c)
    assert "audit_event" in tenant and "patient" in tenant
    rows = connection.execute(
        text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "  (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies, "
            "  has_table_privilege(:role, c.oid, 'DELETE') AS can_delete "
            "FROM pg_class c WHERE c.relname = ANY(:names) AND c.relkind = 'r'"
        ),
        {"role": tenancy.APP_ROLE, "names": tenant},
    ).all()
    assert sorted(r.relname for r in rows) == tenant
    for row in rows:
        assert row.relrowsecurity and row.relforcerowsecurity, row.relname
        assert row.policies >= 1, row.relname
        assert not row.can_delete, row.relname


def test_requests_run_as_the_app_role_and_leave_the_connection_clean(
    session: Session, connection: Connection
) -> None:
    """enter/leave as the web layer uses them: restricted inside, back to normal after."""
    clinic = make_clinic(session)
    tenancy.enter_clinic(session, clinic.id)
    assert session.scalar(text("SELECT current_user")) == tenancy.APP_ROLE
    tenancy.leave_clinic(session)
    assert session.scalar(text("SELECT current_user")) != tenancy.APP_ROLE
    setting = connection.scalar(text(f"SELECT current_setting('{tenancy.CLINIC_SETTING}', true)"))
    assert setting in (None, "")


def test_a_transaction_is_scoped_once_per_clinic_and_again_after_a_savepoint(
    engine: Engine,
) -> None:
    """Scoping the same clinic twice costs no round trip; a scope set inside a savepoint that
    is rolled back is set again, because the rollback undid it in the database."""
    statements: list[str] = []

    def note(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        statements.append(sql)

    event.listen(engine, "before_cursor_execute", note)
    setting = text(f"SELECT current_setting('{tenancy.CLINIC_SETTING}', true)")
    try:
        with Session(engine) as session:
            tenancy.restrict(session)
            tenancy.enter_clinic(session, 9001)
            assert session.scalar(setting) == "9001"
            before = len(statements)
            tenancy.enter_clinic(session, 9001)
            assert len(statements) == before, "the same clinic was set twice"
            savepoint = session.begin_nested()
            tenancy.enter_clinic(session, 9002)
            assert session.scalar(setting) == "9002"
            savepoint.rollback()
            assert session.scalar(setting) == "9001"
            tenancy.enter_clinic(session, 9002)
            assert session.scalar(setting) == "9002"
            assert session.scalar(text("SELECT current_user")) == tenancy.APP_ROLE
            session.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", note)
