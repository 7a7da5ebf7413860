"""HTML pages for people: one router module per domain."""

from fastapi import APIRouter, Depends

from strigil.web import hostile
from strigil.web.pages import (
    account,
    admin,
    aftercare,
    daybook,
    episodes,
    home,
    login,
    outcomes,
    patients,
    safety,
    visits,
)
from strigil.web.pages import evidence as evidence_pages

router = APIRouter(include_in_schema=False, dependencies=[Depends(hostile.refuse_nul)])
router.include_router(admin.router)
for module in (
    login,
    account,
    home,
    daybook,
    patients,
    episodes,
    safety,
    visits,
    outcomes,
    aftercare,
):
    router.include_router(module.router)
router.include_router(evidence_pages.router)
