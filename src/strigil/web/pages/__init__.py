"""HTML pages for people: one router module per domain."""

from fastapi import APIRouter

from strigil.web.pages import home, login

router = APIRouter(include_in_schema=False)
for module in (login, home):
    router.include_router(module.router)
