"""A hundred requests at once against a real server: every one completes, none is a 5xx.

Asserts completion, not timing: speed is measured by `make bench` (benchmarks/bench_load.py).
The server runs as it does in production: on PostgreSQL as the application's own login role.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text
from tests.fault.conftest import server_env, start_server
from tests.liveserver import Server, in_own_loop

from strigil.store.engine import make_engine

CONCURRENT = 100
DEMO_EMAIL = "therapist1@northside.example"
DEMO_PASSWORD = "strigil-demo-2026"  # noqa: S105 - synthetic demo accounts only


def _load_demo(url: str, data_dir: Path) -> str:
    """A small demo clinic; returns one of therapist 1's visit ids."""
    env = server_env(url, data_dir)
    subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-m", "strigil", "demo", "load", "--patients", "6"],
        env=env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            visit = conn.scalar(
                text(
                    "SELECT v.external_id FROM visit v JOIN app_user u ON u.clinic_id = v.clinic_id"
                    " WHERE u.email = :e ORDER BY v.id LIMIT 1"
                ),
                {"e": DEMO_EMAIL},
            )
    finally:
        engine.dispose()
    assert visit is not None
    return str(uuid.UUID(str(visit)))


async def _fire(base_url: str, cookie_client: httpx.Client, token: str, visit: str) -> list[int]:
    limits = httpx.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
        page = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookie_client.cookies.items())}
        api = {"Authorization": f"Bearer {token}"}
        calls = [
            client.get(f"/visits/{visit}", headers=page)
            if i % 2
            else client.get(f"/api/v1/visits/{visit}", headers=api)
            for i in range(CONCURRENT)
        ]
        responses = await asyncio.gather(*calls)
    return [r.status_code for r in responses]


def test_a_hundred_concurrent_requests_all_complete(
    fault_db_url: str, tmp_path: Path, server_factory: list[Server]
) -> None:
    visit = _load_demo(fault_db_url, tmp_path)
    server = start_server(fault_db_url, tmp_path)
    server_factory.append(server)
    with httpx.Client(base_url=server.base_url, timeout=30) as signed_in:
        login = signed_in.post(
            "/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
        )
        assert login.status_code == 200, login.text
        signed_in.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        issued = signed_in.post("/api/v1/auth/tokens", json={"name": "capacity"})
        assert issued.status_code == 201, issued.text
        statuses = in_own_loop(_fire(server.base_url, signed_in, issued.json()["token"], visit))
        assert signed_in.get("/healthz").status_code == 200
    assert sorted(set(statuses)) == [200], {s: statuses.count(s) for s in set(statuses)}
    assert len(statuses) == CONCURRENT
