"""A real server on a free port, against a fresh migrated SQLite file, and a real Chromium.

Without Chromium or Playwright these tests skip locally but FAIL in CI (``CI=true``): a skip
is indistinguishable from a pass in a job log.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from strigil.config import Settings
from strigil.services import clinics
from strigil.store import migrate
from strigil.store.engine import make_engine, make_sessionmaker
from strigil.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
EMAIL, PASSWORD = "therapist@walkthrough.test", "walkthrough-pass-123"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def _missing(reason: str) -> None:
    """A missing browser fails the test: `make test` installs Debian's Chromium."""
    pytest.fail(f"browser test cannot run: {reason}")


@dataclass(frozen=True)
class LiveServer:
    url: str
    email: str
    password: str
    database_url: str = ""  # for setting up records through the services, as the app would


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed(url: str) -> None:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        clinic = clinics.create_clinic(session=session, name="Walkthrough Clinic")
        clinics.add_user(
            session=session,
            clinic=clinic,
            email=EMAIL,
            display_name="Dana Therapist",
            role="therapist",
            password=PASSWORD,
        )
        session.commit()
    engine.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{data / 'walkthrough.db'}"
    migrate.upgrade(url, "head")
    _seed(url)
    settings = Settings(database_url=url, data_dir=data)
    port = _free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    _wait_until_up(base)
    yield LiveServer(base, EMAIL, PASSWORD, url)
    server.should_exit = True
    thread.join(timeout=10)


def _wait_until_up(base: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail("the live server did not start")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python is not installed")
    if not Path(CHROMIUM).exists():
        _missing(f"Chromium is not installed at {CHROMIUM}")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def shots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
