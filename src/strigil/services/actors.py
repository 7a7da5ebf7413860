"""Who is acting, and what their role lets them do.

Roles are enforced here, in the services, so every adapter (pages, API, CLI) gets the same
answer. The permission table is the one place that says which role may do what.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from strigil.errors import NotPermitted


class Role(StrEnum):
    ADMIN = "admin"
    THERAPIST = "therapist"
    ASSISTANT = "assistant"
    RESEARCHER = "researcher"


class Permission(StrEnum):
    READ_CLINICAL = "read_clinical"
    WRITE_PATIENT = "write_patient"
    SCREEN = "screen"
    CONSENT = "consent"
    TREAT = "treat"
    RECORD_READINGS = "record_readings"
    SIGN = "sign"
    DOCUMENT = "document"  # author-sign one's own documentation (an assistant's needs co-sign)
    MANAGE_USERS = "manage_users"
    MANAGE_INSTRUMENTS = "manage_instruments"
    READ_AUDIT = "read_audit"
    ANALYTICS = "analytics"
    MERGE_CHARTS = "merge_charts"  # fold one person's duplicate chart into their other chart
    BOOK = "book"  # book, move and cancel appointments in the day book


_CLINICAL = {
    Permission.READ_CLINICAL,
    Permission.WRITE_PATIENT,
    Permission.SCREEN,
    Permission.CONSENT,
    Permission.TREAT,
    Permission.RECORD_READINGS,
    Permission.SIGN,
    Permission.DOCUMENT,
    Permission.ANALYTICS,
    Permission.MERGE_CHARTS,
    Permission.BOOK,
}

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(
        {
            Permission.MANAGE_USERS,
            Permission.MANAGE_INSTRUMENTS,
            Permission.READ_AUDIT,
            Permission.ANALYTICS,
        }
    ),
    Role.THERAPIST: frozenset(_CLINICAL),
    Role.ASSISTANT: frozenset(
        {
            Permission.READ_CLINICAL,
            Permission.RECORD_READINGS,
            Permission.WRITE_PATIENT,
            Permission.DOCUMENT,
            Permission.BOOK,
        }
    ),
    Role.RESEARCHER: frozenset({Permission.ANALYTICS}),
}


@dataclass(frozen=True, slots=True)
class Actor:
    """The signed-in user as the services see them."""

    user_id: int
    user_external_id: uuid.UUID
    clinic_id: int
    role: Role
    display_name: str
    client_ip: str | None = None
    route: str | None = None

    def can(self, permission: Permission) -> bool:
        return permission in PERMISSIONS[self.role]

    @property
    def permissions(self) -> frozenset[Permission]:
        """Everything the role may do (pages show only these actions)."""
        return PERMISSIONS[self.role]


def require(actor: Actor, permission: Permission) -> None:
    """Raise NotPermitted unless the actor's role grants ``permission``."""
    if not actor.can(permission):
        raise NotPermitted(
            f"the {actor.role.value} role may not {permission.value.replace('_', ' ')}",
            code="role_not_permitted",
        )
