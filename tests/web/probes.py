"""A test-only route shared by the lifecycle tests: it writes, then ends as told."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from strigil.store.clinics import Clinic
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
