"""The JSON API under /api/v1: one router module per domain."""

from fastapi import APIRouter

from strigil.web.api import admin, care, catalog, episodes, patients, sessions, visits

router = APIRouter()
for module in (sessions, patients, episodes, care, visits, catalog, admin):
    router.include_router(module.router)
