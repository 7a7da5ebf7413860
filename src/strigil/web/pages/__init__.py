"""HTML pages for people: one router module per domain."""

from fastapi import APIRouter, Depends

from strigil.web import hostile
from strigil.web.pages import (
    account,
    admin,
    aftercare,
    daybook,
    episodes,
    follow_up,
    home,
    insight,
    login,
    merges,
    outcomes,
    patient_links,
    patients,
    safety,
    sensors,
    visits,
)
from strigil.web.pages import evidence as evidence_pages

router = APIRouter(include_in_schema=False, dependencies=[Depends(hostile.refuse_nul)])
router.include_router(admin.router)
PAGES = (
    login,
    account,
    home,
    daybook,
    patients,
    merges,
    episodes,
    safety,
    visits,
    follow_up,
    outcomes,
    aftercare,
    patient_links,
    sensors,
    insight,
)
for module in PAGES:
    router.include_router(module.router)
router.include_router(evidence_pages.router)
