"""Clinics and their users."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from strigil.errors import Conflict, InvalidInput
from strigil.services import audit
from strigil.services.actors import Actor, Permission, Role, require
from strigil.services.auth import hash_password
from strigil.store import clinics as store
from strigil.store.clinics import Clinic as Clinic
from strigil.store.clinics import User as User


def create_clinic(*, session: Session, name: str) -> Clinic:
    """Create a clinic (a tenant). Used by set-up commands, not by signed-in users."""
    if not name.strip():
        raise InvalidInput("a clinic needs a name", field="name", code="required")
    clinic = Clinic(name=name.strip())
    session.add(clinic)
    session.flush()
    return clinic


def find_clinic_by_name(*, session: Session, name: str) -> Clinic | None:
    """The clinic called ``name``, if any. Used by set-up commands, not by signed-in users."""
    return store.find_clinic_by_name(session, name)


def add_user(
    *,
    session: Session,
    clinic: Clinic,
    email: str,
    display_name: str,
    role: str,
    password: str,
    actor: Actor | None = None,
    password_hash: str | None = None,
) -> User:
    """Add a user to a clinic; an admin actor is required unless run from set-up commands.

    Raises:
        InvalidInput: bad email, role or password.  Conflict: the email is taken.
    """
    if actor is not None:
        require(actor, Permission.MANAGE_USERS)
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise InvalidInput("email must look like name@example.org", field="email", code="email")
    if role not in {r.value for r in Role}:
        raise InvalidInput(
            f"role must be one of {', '.join(r.value for r in Role)}", field="role", code="role"
        )
    if not display_name.strip():
        raise InvalidInput("a user needs a display name", field="display_name", code="required")
    if store.email_taken(session, email):
        raise Conflict(
            f"a user with email {email} already exists", field="email", code="email_taken"
        )
    user = User(
        clinic_id=clinic.id,
        email=email,
        display_name=display_name.strip(),
        role=role,
        password_hash=password_hash or hash_password(password),
    )
    session.add(user)
    session.flush()
    if actor is not None:
        audit.record(
            session=session,
            actor=actor,
            action="create",
            entity_type="user",
            entity_id=user.external_id,
        )
    return user


def list_users(*, session: Session, actor: Actor) -> Sequence[User]:
    """The clinic's users (admins only)."""
    require(actor, Permission.MANAGE_USERS)
    return store.list_users(session, actor.clinic_id)
