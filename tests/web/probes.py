"""A test-only route shared by the lifecycle tests: it writes, then ends as told."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories import make_clinic, make_user

from strigil.store.clinics import Clinic, User
from strigil.web.deps import CurrentActor, DbSession


def rename_then(status: int, name: str, actor: CurrentActor, db: DbSession) -> JSONResponse:
    """Rename the actor's clinic, then answer ``status`` (599: raise after writing)."""
    db.get_one(Clinic, actor.clinic_id).name = name
    db.flush()
    if status == 599:
        raise RuntimeError("handler failed after writing")
    return JSONResponse({"status": status}, status_code=status)


def clinics_named(session: Session, name: str) -> int:
    """How many clinics bear ``name``, as committed."""
    session.expire_all()
    return int(session.scalar(select(func.count()).where(Clinic.name == name)) or 0)


def add_probe(
    app: FastAPI, session: Session, route_class: type[APIRoute] | None = None
) -> tuple[FastAPI, User]:
    """Add ``POST /_probe/write/{status}/{name}`` (made by ``route_class`` when given) and a
    user of a new clinic to call it as."""
    app.router.add_api_route(
        "/_probe/write/{status}/{name}", rename_then, methods=["POST"],
        route_class_override=route_class,
    )  # fmt: skip
    user = make_user(session, make_clinic(session))
    session.commit()
    return app, user
