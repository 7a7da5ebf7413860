"""The FastAPI application factory: JSON API under /api/v1, pages for people, /healthz."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from importlib.resources import files
from typing import Any

from anyio import CapacityLimiter, to_thread
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment
from markupsafe import Markup
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from strigil import __version__
from strigil.config import Settings, get_settings
from strigil.core import exercise_figures, i18n, icd10
from strigil.errors import InvalidInput
from strigil.services import instrument_translations
from strigil.services.auth import Policy
from strigil.services.database import (
    excess_privileges,
    is_sqlite,
    make_engine,
    make_sessionmaker,
)
from strigil.services.patient_links import Throttle as LinkThrottle
from strigil.web import fhir, logmask, problems, routing
from strigil.web.api import router as api_router
from strigil.web.headers import ResponseHeaders
from strigil.web.lifecycle import Capacity, RequestLifecycle
from strigil.web.page_cache import PageCache
from strigil.web.pages import router as pages_router
from strigil.web.pages.home import OverviewCache

log = logging.getLogger("strigil.web")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()
    installed = _instrument_translations(settings)  # before any connection is opened
    app = FastAPI(
        lifespan=_lifespan,
        title="Strigil",
        version=__version__,
        description="Clinical workbench for instrument-assisted soft tissue mobilization.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    capacity = _capacity(settings)
    url = settings.resolved_database_url
    engine = make_engine(url, **_pool(url, capacity))
    app.state.settings = settings
    app.state.capacity = capacity
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.health = _Health(url)
    app.state.policy = Policy(
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(hours=settings.session_absolute_hours),
        max_failures=settings.login_max_failures,
        lockout=timedelta(minutes=settings.login_lockout_minutes),
    )
    app.state.link_throttle = LinkThrottle(max_failures=settings.patient_link_max_failures)
    app.state.instrument_translations = installed
    app.state.templates = _templates()
    app.state.page_cache = PageCache()
    app.state.overview_cache = OverviewCache()
    problems.install(app)
    logmask.install()
    app.add_middleware(RequestLifecycle, capacity=capacity)
    app.add_middleware(ResponseHeaders)
    app.mount("/static", StaticFiles(directory=str(files("strigil.web") / "static")), "static")
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(fhir.router, prefix="/fhir/R4")
    app.include_router(pages_router)
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["operations"])
    routing.guard_routers(app)
    return app


def _instrument_translations(settings: Settings) -> instrument_translations.Translations:
    """The clinic's checked questionnaire translations; a pack that fails its check stops the
    start with its file name and the rule, rather than patients silently seeing English."""
    try:
        installed = instrument_translations.load_folder(settings.instrument_translations)
    except InvalidInput as error:
        log.error("%s (%s) [%s]", error.detail, error.field, error.code)
        raise
    for pack in installed.all():
        log.info("instrument translation: %s %s (%s)", pack.measure, pack.language, pack.citation)
    return installed


def _capacity(settings: Settings) -> Capacity:
    """Requests at once: one per process on SQLite, four on PostgreSQL.

    Why one on SQLite: every request writes (the audit trail does) and so holds the
    database's single write lock from its first statement to its commit; a second running
    request could only wait for that lock, while the two threads and the event loop took
    turns at the interpreter lock. A cached visit page cost 0.79 ms of CPU at two and 0.63 ms
    at one (ADR 0026). Why four on PostgreSQL: a process runs Python on one core at a time,
    so requests beyond the few whose database round trips overlap only share that core and
    each takes longer. With 500 patients sending questionnaires, the p95 of a final send fell
    from 110 ms at eight to 50–75 ms at four (benchmarks/bench_patient_forms.py); more
    throughput comes from more workers. Sizing (docs/deployment.md): running requests stay
    well below the worker thread pool (40 threads) and below the connection pool, so a
    running request never waits for a thread or a connection.
    """
    default = 1 if is_sqlite(settings.resolved_database_url) else 4
    return Capacity(
        running=settings.max_running_requests or default,
        queued=settings.max_queued_requests,
        wait_seconds=settings.queue_wait_seconds,
    )


def _pool(url: str, capacity: Capacity) -> dict[str, Any]:
    """A connection per running request plus two spare; waiting for one fails fast."""
    del url  # the same sizing suits both databases
    return {"pool_size": capacity.running + 2, "max_overflow": 0, "pool_timeout": 5}


class _Health:
    """The health check's own connection and threads, so a busy server still answers it."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url, pool_size=1, max_overflow=1, pool_timeout=2)
        self.threads = CapacityLimiter(2)

    def ping(self) -> None:
        """A round trip outside any transaction, so a busy writer cannot make it look down."""
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchall()
            cursor.close()
        finally:
            raw.close()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Check the database role, and load the ICD-10-CM code set in the background so the
    first search is not slow."""
    await to_thread.run_sync(_check_role, app)
    app.state.warm = threading.Event()
    warm_up = (app.state.warm, app.state.engine, app.state.templates.env, app.state.capacity)
    threading.Thread(target=_warm_up, args=warm_up, name="warm-up", daemon=True).start()
    yield
    app.state.engine.dispose()
    app.state.health.engine.dispose()


def _warm_up(
    done: threading.Event, engine: Engine, templates: Environment, capacity: Capacity
) -> None:
    """Get ready for the clinic's first requests, then move everything alive at start-up out
    of the cyclic garbage collector's reach. Its full passes otherwise walk the code set and
    the compiled templates (about 270,000 objects, 60–200 ms) and stall every request in
    flight while they run; frozen objects are never scanned again."""
    if is_sqlite(str(engine.url)):
        _analyze(engine)
    _open_connections(engine, capacity.running)
    _compile_templates(templates)
    icd10.warm()
    gc.collect()
    gc.freeze()
    done.set()


def _analyze(engine: Engine) -> None:
    """SQLite has no autovacuum to keep the planner's statistics fresh: a sampled ANALYZE
    (milliseconds) at each start does."""
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            conn.exec_driver_sql("ANALYZE")
    except OperationalError:  # busy: the statistics are refreshed at the next start
        log.info("start-up ANALYZE skipped: the database is busy")


def _open_connections(engine: Engine, count: int) -> None:
    """Fill the pool with the connections running requests will use: opening one costs
    PostgreSQL a new backend (milliseconds each), which the first visits after a restart
    would otherwise wait for all at once."""
    opened = []
    try:
        for _ in range(count):
            opened.append(engine.connect())
    except OperationalError as error:  # the health check reports an unreachable database
        log.warning("start-up: could not open the pool's connections (%s)", type(error).__name__)
    finally:
        for conn in opened:
            conn.close()


def _compile_templates(templates: Environment) -> None:
    """Compile every page template once (about a second in all). Compiled lazily, the first
    visit page after a restart took most of a second, and every request that arrived
    meanwhile compiled the same templates again under the same interpreter lock."""
    for name in templates.list_templates(filter_func=lambda n: n.endswith(".html")):
        templates.get_template(name)


class OwnerLoginRefused(RuntimeError):
    """The server was asked to connect with more privilege than the application needs."""


def _check_role(app: FastAPI) -> None:
    """Warn (or refuse, with STRIGIL_REFUSE_OWNER_LOGIN) when connected with more privilege
    than the application's role: least privilege must not rest on a per-transaction SET ROLE.
    """
    settings: Settings = app.state.settings
    try:
        with app.state.engine.connect() as connection:
            excess = excess_privileges(connection)
    except Exception as exc:  # noqa: BLE001 - an unreachable database is /healthz's to report
        log.warning("could not check the database role (%s)", type(exc).__name__)
        return
    if not excess:
        return
    message = (
        "the database URL connects as a role that is " + " and ".join(excess) + "; "
        "connect as a login role made by `strigil db app-login` and keep the owner's URL in "
        "STRIGIL_ADMIN_DATABASE_URL (docs/deployment.md)"
    )
    if settings.refuse_owner_login:
        raise OwnerLoginRefused(message)
    log.warning("%s", message)


def _templates() -> Jinja2Templates:
    """The page templates; ``_()`` in them translates into the language of the request being
    rendered (``core.i18n.using``), so one environment serves every language at once."""
    templates = Jinja2Templates(directory=str(files("strigil.web") / "templates"))
    templates.env.add_extension("jinja2.ext.i18n")
    templates.env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext,
        ngettext=i18n.ngettext,
        pgettext=i18n.pgettext,
        npgettext=i18n.npgettext,
        newstyle=True,
    )
    templates.env.globals["version"] = __version__
    templates.env.globals["language"] = i18n.current
    templates.env.globals["languages"] = i18n.LANGUAGES
    templates.env.globals["exercise_figure"] = _exercise_figure
    return templates


async def healthz(request: Request) -> Response:
    """Liveness and readiness: answers ok only when the database answers.

    It bypasses the request queue and uses its own connection and threads, so it stays fast
    while the server is saturated.
    """
    health: _Health = request.app.state.health
    body: dict[str, Any] = {"status": "ok", "version": __version__}
    warm: threading.Event | None = getattr(request.app.state, "warm", None)
    ready = warm.is_set() if warm is not None else icd10.index_ready()
    body["search_index"] = "ready" if ready else "building"  # warm-up at start
    try:
        await to_thread.run_sync(health.ping, limiter=health.threads)
        body["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        log.warning("health check: database unreachable (%s)", type(exc).__name__)
        return JSONResponse(
            {
                "status": "unavailable",
                "database": "unreachable",
                "detail": "the database is not reachable",
                "code": "database_unavailable",
            },
            status_code=503,
            headers={"Retry-After": "1"},
        )
    return JSONResponse(body)


def _exercise_figure(code: str, alt: str) -> Markup:
    """The exercise's picture as inline SVG; it is drawn from the code alone, so it can say
    nothing about the patient, and ``alt`` (the translated name) labels it for screen readers."""
    return Markup(exercise_figures.svg(code, alt))  # noqa: S704 - built from numbers and an escaped label
