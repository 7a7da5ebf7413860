"""HTML pages for people: one router module per domain."""

from fastapi import Depends

from strigil.web import handler_thread, hostile
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

router = handler_thread.router(include_in_schema=False, dependencies=[Depends(hostile.refuse_nul)])
# Routes are matched in order, one by one, on every request: the guided visit (its page and
# every reading, stop and grade during treatment) is the busiest path, so it is tried first.
# No visit route matches another router's path (tests/web/test_page_routes.py checks).
PAGES = (
    visits,
    login,
    account,
    home,
    daybook,
    patients,
    merges,
    episodes,
    safety,
    admin,
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
