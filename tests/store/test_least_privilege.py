"""The application's own PostgreSQL login cannot become the owner or rewrite the audit trail,
and sessions, tokens and clinics are clinic-scoped like every other row."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from tests.factories import make_clinic, make_user

from strigil.services import auth
from strigil.store import tenancy

pytestmark = pytest.mark.postgres

LOGIN = "strigil_test_web"


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres: bool) -> None:
    assert is_postgres, "least-privilege tests must run against PostgreSQL"


@pytest.fixture(scope="module")
def app_login(engine: Engine, db_url: str) -> Iterator[Engine]:
    """An engine connected as a login role made the way `strigil db app-login` makes it."""
    with engine.begin() as conn:
        tenancy.create_login_role(conn, LOGIN)
    login_engine = create_engine(make_url(db_url).set(username=LOGIN))
    yield login_engine
    login_engine.dispose()


def _refused(conn: Connection, sql: str) -> str:
    nested = conn.begin_nested()
    with pytest.raises(DBAPIError) as caught:
        conn.execute(text(sql))
    nested.rollback()
    return str(caught.value.orig)


def test_the_app_login_cannot_become_the_owner(app_login: Engine, engine: Engine) -> None:
    with engine.connect() as conn:
        owner = conn.scalar(text("SELECT tableowner FROM pg_tables WHERE tablename = 'patient'"))
    with app_login.connect() as conn, conn.begin():
        conn.execute(text("RESET ROLE"))
        assert conn.scalar(text("SELECT current_user")) == LOGIN
        assert conn.scalar(text("SELECT rolsuper OR rolbypassrls FROM pg_roles "
                                "WHERE rolname = current_user")) is False  # fmt: skip
        assert "permission denied" in _refused(conn, f'SET ROLE "{owner}"')
        assert "permission denied" in _refused(conn, "SET ROLE strigil_directory")


def test_the_app_login_cannot_touch_the_audit_trail_or_the_policies(app_login: Engine) -> None:
    with app_login.connect() as conn, conn.begin():
        assert "permission denied" in _refused(conn, "DELETE FROM audit_event")
        assert "permission denied" in _refused(conn, "UPDATE audit_event SET action = 'x'")
        assert "permission denied" in _refused(conn, "TRUNCATE audit_event")
        assert "must be owner" in _refused(conn, "ALTER TABLE audit_event DISABLE TRIGGER ALL")
        assert "must be owner" in _refused(conn, "ALTER TABLE patient NO FORCE ROW LEVEL SECURITY")
        assert "must be owner" in _refused(conn, "DROP POLICY clinic_isolation ON patient")


def test_sessions_tokens_and_clinics_are_clinic_scoped(
    session: Session, connection: Connection
) -> None:
    a, b = make_clinic(session), make_clinic(session)
    user_a, user_b = make_user(session, a), make_user(session, b)
    for user in (user_a, user_b):
        auth.issue_token(session=session, actor=auth.actor_for(user), name="integration")
        auth.login(
            session=session,
            email=user.email,
            password="synthetic-pass-123",  # noqa: S106 - synthetic account
            client_ip=None,
            policy=auth.Policy(),
        )
    session.flush()
    nested = connection.begin_nested()
    connection.execute(text(f"SET LOCAL ROLE {tenancy.APP_ROLE}"))
    connection.execute(text("SELECT set_config('strigil.clinic_id', :c, true)"), {"c": str(a.id)})
    assert connection.scalar(text("SELECT array_agg(id) FROM clinic")) == [a.id]
    for table in ("login_session", "api_token"):
        owners = connection.scalars(text(f"SELECT user_id FROM {table}")).all()
        assert set(owners) == {user_a.id}, table
    # The sign-in directory answers which clinic a key belongs to, and nothing else.
    found = connection.scalar(text("SELECT strigil_clinic_of_email(:e)"), {"e": user_b.email})
    assert found == b.id
    assert (
        connection.scalar(
            text("SELECT count(*) FROM app_user WHERE email = :e"), {"e": user_b.email}
        )
        == 0
    )
    nested.rollback()


def test_the_owner_is_named_as_excess_and_the_app_login_is_not(
    app_login: Engine, engine: Engine
) -> None:
    with engine.connect() as conn:
        assert tenancy.excess_privileges(conn)  # the test suite connects as a superuser
    with app_login.connect() as conn:
        assert tenancy.excess_privileges(conn) == []
