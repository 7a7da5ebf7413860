"""Queries over API tokens and login sessions (the credentials a user holds)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from strigil.store.clinics import ApiToken, LoginSession, User


def tokens_of_user(*, session: Session, user_id: int) -> Sequence[ApiToken]:
    """A user's tokens, live first, newest first."""
    return session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id)
    ).all()


def tokens_of_clinic(*, session: Session, clinic_id: int) -> Sequence[ApiToken]:
    """Every token held by a clinic's users, live first, newest first."""
    return session.scalars(
        select(ApiToken)
        .join(User, User.id == ApiToken.user_id)
        .where(User.clinic_id == clinic_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id)
    ).all()


def find_token(
    *, session: Session, external_id: uuid.UUID, user_id: int | None = None, clinic_id: int
) -> ApiToken | None:
    """One token of the clinic (and of ``user_id`` when given), or None."""
    query = (
        select(ApiToken)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.external_id == external_id, User.clinic_id == clinic_id)
    )
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return session.scalar(query)


def revoke_all_tokens(*, session: Session, user_id: int, at: datetime) -> int:
    """Revoke every live token of a user; returns how many were live."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def end_all_sessions(*, session: Session, user_id: int, at: datetime) -> int:
    """End every open login session of a user; returns how many were open."""
    result = session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def end_session(*, session: Session, token_hash: str, at: datetime) -> int:
    """End the open login session with this token hash; returns how many were open (0 or 1)."""
    result = session.execute(
        update(LoginSession)
        .where(LoginSession.token_hash == token_hash, LoginSession.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return int(getattr(result, "rowcount", 0) or 0)
