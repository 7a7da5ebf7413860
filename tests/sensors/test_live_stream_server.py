"""Several simulated tools stream 1 kHz samples at once to a real server: every sample is
stored, and finishing each stream stores it as its area's recording (short version of the
issue's 10 tools x 60 s, which benchmarks/bench_sensors.py runs)."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
from tests.fault.conftest import EMAIL, bearer_token, seed_clinic, start_server

from strigil.store import migrate

from .streaming import Tool, active_areas

TOOLS, SECONDS = 3, 5.0


def test_tools_stream_concurrently_and_every_sample_is_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'stream.db'}"
    migrate.upgrade(url, "head")
    seed_clinic(url)
    areas = active_areas(url, EMAIL, TOOLS)
    (tmp_path / "data").mkdir()
    server = start_server(url, tmp_path / "data")
    try:
        token = bearer_token(server.base_url)
        tools = [
            Tool(server.base_url, token, area, SECONDS, seed=i) for i, (_, area) in enumerate(areas)
        ]
        threads = [threading.Thread(target=tool.run) for tool in tools]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
            for tool in tools:
                assert tool.refused == []
                assert tool.sent == int(SECONDS * 1000)
                url_area = f"/api/v1/areas/{tool.area}/sensor-stream"
                live = client.get(url_area).json()
                assert live["samples"] == tool.sent
                done = client.post(f"{url_area}/finish")
                assert done.status_code == 201, done.text
                assert done.json()["samples"] == tool.sent
    finally:
        server.kill()
