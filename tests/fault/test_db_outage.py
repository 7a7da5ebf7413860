"""A lost database answers 503 with a clear body, and service resumes when it returns.

The app talks to PostgreSQL through a loopback TCP proxy this test owns; cutting the proxy
drops every open connection and refuses new ones, which is what a crashed or partitioned
database server looks like to the app. Runs in the SQLite pass too: the PostgreSQL server
is always there (in CI a missing server fails the test instead of skipping it).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from strigil.config import Settings
from strigil.store import migrate
from strigil.web.app import create_app

from .conftest import EMAIL, PASSWORD, recreate_pg, require_pg, scratch_pg_url, seed_clinic

LOOPBACK = "127.0.0.1"
RECOVERY_SECONDS = 20.0
MAX_POLLS = 200


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to a loopback upstream until cut; restore lets it resume."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        assert upstream[0] == LOOPBACK, "the proxy only forwards to loopback"
        self.upstream = upstream
        self.listener = socket.create_server((LOOPBACK, 0))
        self.listener.settimeout(0.2)
        self.port = int(self.listener.getsockname()[1])
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._cut = threading.Event()
        self._closed = threading.Event()
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            if self._cut.is_set():
                client.close()  # the database is "down": connections die at once
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, server))
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            src.settimeout(None)
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        self._drop(src, dst)

    def _drop(self, *socks: socket.socket) -> None:
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            with self._lock:
                self._open.discard(sock)

    def cut(self) -> None:
        """Kill every forwarded connection and refuse new ones."""
        self._cut.set()
        with self._lock:
            victims = list(self._open)
        self._drop(*victims)

    def restore(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self.cut()
        self._closed.set()
        self._acceptor.join(2)
        self.listener.close()


@pytest.fixture
def pg_scratch() -> str:
    url = scratch_pg_url()
    require_pg(url)
    recreate_pg(url)
    migrate.upgrade(url, "head")
    seed_clinic(url)
    return url


@pytest.fixture
def proxy(pg_scratch: str) -> Iterator[CuttableProxy]:
    parsed = make_url(pg_scratch)
    p = CuttableProxy((parsed.host or LOOPBACK, parsed.port or 5432))
    yield p
    p.close()


@pytest.fixture
def proxied_client(pg_scratch: str, proxy: CuttableProxy, tmp_path: Path) -> Iterator[TestClient]:
    """The app pointed at PostgreSQL through the proxy, signed in with a bearer token."""
    url = make_url(pg_scratch).set(port=proxy.port).render_as_string(hide_password=False)
    settings = Settings(database_url=url, data_dir=tmp_path)
    app = create_app(settings)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        login = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
        assert login.status_code == 200, login.text
        client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        issued = client.post("/api/v1/auth/tokens", json={"name": "outage"})
        assert issued.status_code == 201, issued.text
        client.cookies.clear()
        del client.headers["X-CSRF-Token"]
        client.headers["Authorization"] = f"Bearer {issued.json()['token']}"
        yield client
    app.state.engine.dispose()


def _assert_unavailable(client: TestClient, method: str, path: str, **kw: object) -> None:
    response = client.request(method, path, **kw)  # type: ignore[arg-type]
    assert response.status_code == 503, f"{method} {path}: {response.status_code} {response.text}"
    body = response.json()
    assert isinstance(body.get("detail"), str) and body["detail"]
    assert body.get("code") == "database_unavailable", body


def _wait_for(client: TestClient, path: str) -> int:
    """Poll until 200 (bounded by count and time); the number of polls it took."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    for n in range(1, MAX_POLLS + 1):
        if client.get(path).status_code == 200:
            return n
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    pytest.fail(f"{path} did not recover within {RECOVERY_SECONDS} s")


@pytest.mark.postgres
def test_database_outage_gives_503_and_recovers(
    proxied_client: TestClient, proxy: CuttableProxy
) -> None:
    client = proxied_client
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/patients").status_code == 200

    proxy.cut()
    _assert_unavailable(client, "GET", "/healthz")
    _assert_unavailable(client, "GET", "/api/v1/patients")
    patient = {
        "given_name": "Ana",
        "family_name": "Down",
        "birth_date": "1990-01-01",
        "sex": "female",
    }
    _assert_unavailable(client, "POST", "/api/v1/patients", json=patient)
    _assert_unavailable(client, "GET", "/healthz")  # still down, still a clean answer

    proxy.restore()
    _wait_for(client, "/healthz")
    _wait_for(client, "/api/v1/patients")
    created = client.post("/api/v1/patients", json=patient)
    assert created.status_code == 201, created.text
