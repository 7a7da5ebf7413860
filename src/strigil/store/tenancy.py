"""Clinic isolation in PostgreSQL: the restricted role and the per-transaction clinic setting.

Why: the services already filter every query on the actor's clinic, but one forgotten filter
would leak another clinic's health records. Row-level security makes the database refuse
such a query too. Requests run as the ``strigil_app`` role (which cannot bypass RLS and may
not delete clinical rows) with ``strigil.clinic_id`` set for this transaction only.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

APP_ROLE = "strigil_app"
CLINIC_SETTING = "strigil.clinic_id"
_SCOPED = "strigil_tenant_scoped"

POLICY_EXPRESSION = f"clinic_id = NULLIF(current_setting('{CLINIC_SETTING}', true), '')::int"


def is_postgres(session: Session) -> bool:
    """Whether the session talks to PostgreSQL (SQLite has no roles and no RLS)."""
    return session.get_bind().dialect.name == "postgresql"


def enter_clinic(session: Session, clinic_id: int) -> None:
    """Drop to the app role and scope this transaction to one clinic (PostgreSQL only)."""
    if not is_postgres(session):
        return
    # One round trip: set_config('role', …, true) is SET LOCAL ROLE.
    params = {"role": APP_ROLE, "name": CLINIC_SETTING, "cid": str(clinic_id)}
    session.execute(
        text("SELECT set_config('role', :role, true), set_config(:name, :cid, true)"), params
    )
    session.info[_SCOPED] = True


def leave_clinic(session: Session) -> None:
    """Undo :func:`enter_clinic` before commit, so a shared connection is not left restricted.

    Pending changes are flushed first so they are written under the restricted role.
    """
    if not session.info.pop(_SCOPED, False):
        return
    if not session.connection().in_nested_transaction():
        return  # SET LOCAL ends with this transaction; only a shared outer one needs undoing
    session.flush()
    session.execute(
        text("SELECT set_config('role', 'none', true), set_config(:name, '', true)"),
        {"name": CLINIC_SETTING},
    )
