"""A real ``strigil serve`` subprocess on a free loopback port, for fault tests and benchmarks.

Only loopback addresses are used. The server runs in its own process group, so a kill reaches
uvicorn and any worker it forked.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

LOOPBACK = "127.0.0.1"
T = TypeVar("T")


def in_own_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a fresh event loop in its own thread (a browser test may have left
    one running on the test's thread)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=300)


APP_LOGIN = "strigil_web"


def app_login_url(url: str) -> str:
    """On PostgreSQL, the URL of the application's own login role (made as `strigil db
    app-login` makes it); the owner's URL stays for migrations and admin commands."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from strigil.store import tenancy

    if not url.startswith("postgresql"):
        return url
    admin = create_engine(url)
    try:
        with admin.begin() as conn:
            tenancy.create_login_role(conn, APP_LOGIN)
    finally:
        admin.dispose()
    return make_url(url).set(username=APP_LOGIN).render_as_string(hide_password=False)


def free_port() -> int:
    """A currently free loopback TCP port."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running ``python -m strigil serve`` subprocess."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 15.0) -> None:
        """Signal the whole process group and reap it (SIGKILL if it outlives ``timeout``)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout)


def start_server(
    env: dict[str, str], data_dir: Path, *, workers: int = 1, timeout: float = 30.0
) -> Server:
    """Start the server with ``env`` on a free loopback port; return once /healthz says 200."""
    port = free_port()
    log_path = data_dir / f"server-{port}.log"
    argv = [sys.executable, "-m", "strigil", "serve", "--host", LOOPBACK, "--port", str(port),
            "--workers", str(workers)]  # fmt: skip
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(process, port, log_path)
    try:
        wait_healthy(server, timeout)
    except BaseException:
        server.kill()
        raise
    return server


def wait_healthy(server: Server, timeout: float) -> None:
    """Poll /healthz until 200, the process dies, or the deadline passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"server not healthy in {timeout} s:\n{server.log_path.read_text()[-3000:]}")
