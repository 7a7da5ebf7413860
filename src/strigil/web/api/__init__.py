"""The JSON API under /api/v1: one router module per domain."""

from fastapi import Depends

from strigil.web import handler_thread, hostile
from strigil.web.api import (
    admin,
    appointments,
    care,
    catalog,
    episodes,
    follow_up,
    insight,
    patient_links,
    patients,
    sensors,
    sessions,
    visits,
)
from strigil.web.api import evidence as evidence_api

router = handler_thread.router(dependencies=[Depends(hostile.refuse_nul)])
for module in (sessions, patients, episodes, care, visits, follow_up, appointments, catalog, admin):
    router.include_router(module.router)
router.include_router(patient_links.router)
router.include_router(patients.merge_router)
router.include_router(evidence_api.router)
router.include_router(sensors.router)
router.include_router(insight.router)
