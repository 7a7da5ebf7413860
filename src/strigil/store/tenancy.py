"""Clinic isolation in PostgreSQL: the restricted role and the clinic setting of a transaction.

Why: the services already filter every query on the actor's clinic, but one forgotten filter
would leak another clinic's health records. Row-level security makes the database refuse
such a query too. A unit of work marks its session as *scoped*; from then on every
transaction the session begins (the first, one after a rollback, one after a commit) runs as
the ``strigil_app`` role with ``strigil.clinic_id`` set for that transaction only. The scope
is applied by a SQLAlchemy ``after_begin`` event, so no code path can begin a transaction
without it, and it is set outside any savepoint, so rolling back a savepoint cannot drop it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, TextClause, event, text
from sqlalchemy.orm import Session, SessionTransaction

APP_ROLE = "strigil_app"
CLINIC_SETTING = "strigil.clinic_id"
_SCOPE = "strigil_scope"

POLICY_EXPRESSION = f"clinic_id = NULLIF(current_setting('{CLINIC_SETTING}', true), '')::int"

_APPLY = text("SELECT set_config('role', :role, true), set_config(:name, :cid, true)")
_CLEAR = text("SELECT set_config('role', 'none', true), set_config(:name, '', true)")


@dataclass
class Scope:
    """What every transaction of a scoped session runs under: the app role, and the actor's
    clinic once it is known (sign-in looks the clinic up before it knows it)."""

    clinic_id: int | None = None
    # The clinic the current root transaction was last scoped to (None: not yet, or unknown),
    # so scoping it again to the same clinic costs no round trip.
    applied: int | None = None


def is_postgres(session: Session) -> bool:
    """Whether the session talks to PostgreSQL (SQLite has no roles and no RLS)."""
    return session.get_bind().dialect.name == "postgresql"


def restrict(session: Session) -> None:
    """Mark ``session`` as scoped: every transaction it begins runs as the app role."""
    session.info[_SCOPE] = Scope()
    if session.in_transaction():
        _apply(session, session.connection())


def enter_clinic(session: Session, clinic_id: int) -> None:
    """Scope ``session`` to one clinic, now and for every later transaction it begins."""
    scope = session.info.get(_SCOPE)
    if scope is None:
        scope = session.info[_SCOPE] = Scope()
    scope.clinic_id = clinic_id
    if session.in_transaction():
        connection = session.connection()
        if scope.applied == clinic_id and not connection.in_nested_transaction():
            return
        _apply(session, connection)


def enter_clinic_found(session: Session, lookup: TextClause, key: str) -> int | None:
    """Scope ``session`` to the clinic that ``lookup`` finds for ``key``, in one round trip.

    ``lookup`` selects the clinic id (or NULL) as ``clinic_id`` and sets the clinic setting of
    the transaction in the same statement; when nothing is found the scope is left as it was.
    """
    clinic_id: int | None = (
        session.connection()
        .execute(lookup, {"k": key, "name": CLINIC_SETTING})
        .scalar_one_or_none()
    )
    if clinic_id is not None:
        scope = session.info.get(_SCOPE)
        if scope is None:
            scope = session.info[_SCOPE] = Scope()
        scope.clinic_id = clinic_id
        _mark_applied(session, scope, clinic_id)
    return clinic_id


def is_restricted(session: Session) -> bool:
    """Whether the session's transactions run as the application role."""
    return session.info.get(_SCOPE) is not None


def scoped_clinic(session: Session) -> int | None:
    """The clinic the session is scoped to, if any."""
    scope = session.info.get(_SCOPE)
    return scope.clinic_id if scope is not None else None


def _apply(session: Session, connection: Connection) -> None:
    scope: Scope | None = session.info.get(_SCOPE)
    if scope is None or connection.dialect.name != "postgresql":
        return
    cid = "" if scope.clinic_id is None else str(scope.clinic_id)
    connection.execute(_APPLY, {"role": APP_ROLE, "name": CLINIC_SETTING, "cid": cid})
    _mark_applied(session, scope, scope.clinic_id, connection)


def _mark_applied(
    session: Session, scope: Scope, clinic_id: int | None, connection: Connection | None = None
) -> None:
    """Remember the clinic of the root transaction; a setting made inside a savepoint is not
    remembered, because rolling the savepoint back would undo it."""
    connection = connection or session.connection()
    scope.applied = None if connection.in_nested_transaction() else clinic_id


@event.listens_for(Session, "after_begin")
def _scope_new_transaction(
    session: Session,
    _transaction: SessionTransaction,
    connection: Connection,
) -> None:
    """Apply the scope at the start of every transaction of a scoped session."""
    scope: Scope | None = session.info.get(_SCOPE)
    if scope is not None:
        scope.applied = None
    _apply(session, connection)


@event.listens_for(Session, "before_commit")
def _unscope_shared_transaction(session: Session) -> None:
    """Undo the scope before a commit that only releases a savepoint of a shared outer
    transaction (tests bind sessions that way); elsewhere SET LOCAL ends with the commit.

    Pending changes are flushed first so they are written under the restricted role.
    """
    if session.info.get(_SCOPE) is None or not session.in_transaction():
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql" or not connection.in_nested_transaction():
        return
    session.flush()
    connection.execute(_CLEAR, {"name": CLINIC_SETTING})
    session.info[_SCOPE].applied = None


def leave_clinic(session: Session) -> None:
    """Stop scoping ``session``, including the transaction it is in (after a flush, so
    pending changes are written under the restricted role)."""
    if session.info.pop(_SCOPE, None) is None or not session.in_transaction():
        return
    if is_postgres(session):
        session.flush()
        session.connection().execute(_CLEAR, {"name": CLINIC_SETTING})


def create_login_role(connection: Connection, name: str, password: str | None = None) -> bool:
    """Create (or update) the login role the application connects as: a member of the app
    role and nothing else, so it can never become the owner. Returns whether it was new.

    Run as the owner (``strigil db app-login``); PostgreSQL only.
    """
    if not name.replace("_", "").isalnum() or not name[:1].isalpha():
        raise ValueError(
            "a role name has letters, digits and underscores, and starts with a letter"
        )
    exists = connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name})
    verb = "ALTER" if exists else "CREATE"
    secret = " PASSWORD " + _literal(connection, password) if password else ""
    connection.execute(text(f'{verb} ROLE "{name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE'
                            f" NOBYPASSRLS{secret}"))  # fmt: skip
    connection.execute(text(f'GRANT {APP_ROLE} TO "{name}"'))
    return not exists


_PRIVILEGES = text(
    "SELECT r.rolsuper, r.rolbypassrls,"
    " EXISTS (SELECT 1 FROM pg_tables t WHERE t.schemaname = current_schema()"
    "   AND pg_has_role(current_user, t.tableowner, 'USAGE')) AS owns_tables"
    " FROM pg_roles r WHERE r.rolname = current_user"
)


def excess_privileges(connection: Connection) -> list[str]:
    """What the connecting role can do beyond the application's role, worded for an operator.

    Empty on SQLite (no roles) and for a login role made by ``create_login_role``. An owner
    or superuser connection still drops to the app role each transaction, but one injected
    ``RESET ROLE`` would then escape row-level security and the append-only audit trail.
    """
    if connection.dialect.name != "postgresql":
        return []
    row = connection.execute(_PRIVILEGES).one()
    found = [
        ("a superuser", row.rolsuper),
        ("exempt from row-level security (BYPASSRLS)", row.rolbypassrls),
        ("the owner of the tables (or can become it)", row.owns_tables),
    ]
    return [what for what, held in found if held]


def _literal(connection: Connection, value: str) -> str:
    quoted = connection.scalar(text("SELECT quote_literal(:v)"), {"v": value})
    return str(quoted)
