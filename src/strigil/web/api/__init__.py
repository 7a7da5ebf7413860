"""The JSON API under /api/v1: one router module per domain."""

from fastapi import APIRouter

from strigil.web.api import catalog, episodes, patients, sessions

router = APIRouter()
for module in (sessions, patients, episodes, catalog):
    router.include_router(module.router)
