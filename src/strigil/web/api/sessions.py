"""Sign-in for API clients that use a cookie, and API tokens for integrations."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta

from fastapi import Request, Response
from pydantic import Field

from strigil.config import Settings
from strigil.errors import NotAuthenticated
from strigil.services import auth
from strigil.web import handler_thread
from strigil.web.deps import SESSION_COOKIE, CurrentActor, DbSession, SettingsDep, keep_on_refusal
from strigil.web.schemas import Schema

router = handler_thread.router(prefix="/auth", tags=["auth"])


class LoginBody(Schema):
    email: str = Field(max_length=254)
    password: str = Field(max_length=200)


class Me(Schema):
    id: uuid.UUID
    display_name: str
    role: str
    csrf_token: str | None = None


class TokenCreate(Schema):
    name: str = Field(min_length=1, max_length=100)


class TokenIssued(Schema):
    id: uuid.UUID
    name: str
    token: str = Field(description="Shown once; only its hash is kept")


class TokenRead(Schema):
    """A token as its owner or an admin sees it: never the secret, only its first characters."""

    id: uuid.UUID
    name: str
    prefix: str
    owner_id: uuid.UUID
    owner: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: auth.ApiToken) -> TokenRead:
        return cls(
            id=row.external_id,
            name=row.name,
            prefix=row.prefix,
            owner_id=row.user.external_id,
            owner=row.user.display_name,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


class Ended(Schema):
    ended: int = Field(description="Login sessions ended")
    tokens_revoked: int = Field(description="API tokens revoked")


def signin_policy(request: Request) -> auth.Policy:
    """The app's session policy with the per-address sign-in allowance from settings."""
    settings: Settings = request.app.state.settings
    policy: auth.Policy = request.app.state.policy
    return dataclasses.replace(
        policy,
        address_max_failures=settings.login_rate_limit,
        address_delay=timedelta(seconds=settings.login_rate_window_seconds),
    )


def set_session_cookie(response: Response, token: str, settings: SettingsDep) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        max_age=settings.session_absolute_hours * 3600,
        path="/",
    )


@router.post("/login", response_model=Me)
def login(
    body: LoginBody, request: Request, response: Response, db: DbSession, settings: SettingsDep
) -> Me:
    """Sign in with email and password; sets the HttpOnly session cookie.

    Repeated failures for one account or from one address answer 429 with Retry-After, the
    same whether or not the account exists.
    """
    ip = request.client.host if request.client else None
    try:
        result = auth.login(
            session=db,
            email=body.email,
            password=body.password,
            client_ip=ip,
            policy=signin_policy(request),
        )
    except NotAuthenticated:
        keep_on_refusal(request)  # the failure counts drive the throttle
        raise
    set_session_cookie(response, result.token, settings)
    return Me(
        id=result.user.external_id,
        display_name=result.user.display_name,
        role=result.user.role,
        csrf_token=result.csrf_token,
    )


@router.get("/me", response_model=Me)
def me(actor: CurrentActor, request: Request) -> Me:
    """Who is signed in, and the CSRF token cookie clients must echo in X-CSRF-Token."""
    return Me(
        id=actor.user_external_id,
        display_name=actor.display_name,
        role=actor.role.value,
        csrf_token=getattr(request.state, "csrf_token", None),
    )


@router.post("/logout", status_code=204)
def logout(request: Request, response: Response, db: DbSession, actor: CurrentActor) -> None:
    """End this login session."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        auth.logout(session=db, token=cookie)
    response.delete_cookie(SESSION_COOKIE, path="/")
    del actor


@router.post("/logout-everywhere", response_model=Ended)
def logout_everywhere(db: DbSession, actor: CurrentActor) -> Ended:
    """End every login session of the signed-in user and revoke every API token they hold."""
    ended = auth.logout_everywhere(session=db, actor=actor)
    return Ended(ended=ended.sessions, tokens_revoked=ended.tokens)


@router.get("/tokens", response_model=list[TokenRead])
def list_tokens(db: DbSession, actor: CurrentActor) -> list[TokenRead]:
    """Your API tokens, live first (names and prefixes; the secrets are never shown again)."""
    return [TokenRead.of(row) for row in auth.list_tokens(session=db, actor=actor)]


@router.post("/tokens", response_model=TokenIssued, status_code=201)
def create_token(body: TokenCreate, db: DbSession, actor: CurrentActor) -> TokenIssued:
    """Issue an API token for an integration; the secret is shown once."""
    secret, row = auth.issue_token(session=db, actor=actor, name=body.name)
    return TokenIssued(id=row.external_id, name=row.name, token=secret)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: str, db: DbSession, actor: CurrentActor) -> None:
    """Revoke one of your API tokens; an admin may revoke any token of the clinic."""
    auth.revoke_token(session=db, actor=actor, token_id=token_id)
