"""kill -9 of the server in the middle of a burst of writes loses nothing it acknowledged.

A 2xx means "committed": after SIGKILL and a restart on the same database, every
acknowledged patient and discomfort reading must be there, and the database must pass its
integrity checks (SQLite: ``PRAGMA integrity_check`` and ``foreign_key_check``).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from tests.flow import recheck_clear

from strigil.core import catalog
from strigil.store.engine import is_sqlite, make_engine, make_sessionmaker
from strigil.store.patients import Patient
from strigil.store.visits import DiscomfortReading, TreatedArea

from .conftest import Server, bearer_token, start_server

pytestmark = pytest.mark.slow

THREADS = 4
AREAS = 4
ACKS_BEFORE_KILL = 60
BURST_SECONDS = 20.0
MAX_WRITES_PER_THREAD = 400
MAX_TRANSPORT_ERRORS = 3


@dataclass
class Acks:
    """What the server acknowledged with a 2xx, shared by the writer threads."""

    patients: set[uuid.UUID] = field(default_factory=set)
    readings: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def total(self) -> int:
        with self.lock:
            return len(self.patients) + sum(self.readings.values())


def _visit_with_areas(client: httpx.Client) -> list[str]:
    """A consented, screened visit (tolerance 10) with AREAS treated areas; their ids."""

    def post(path: str, body: dict[str, object]) -> dict[str, object]:
        response = client.post(path, json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    patient = post(
        "/api/v1/patients",
        {"given_name": "Kill", "family_name": "Nine", "birth_date": "1970-01-01", "sex": "male"},
    )
    episode = post(
        f"/api/v1/patients/{patient['id']}/episodes",
        {
            "condition_code": "M77.11",
            "body_region": "elbow_forearm",
            "side": "right",
            "chronicity": "chronic",
            "primary_measure": "PRTEE",
        },
    )
    eid = episode["id"]
    answers = {r.id: {"present": False} for r in catalog.screening_rules()}
    post(f"/api/v1/episodes/{eid}/screenings", {"answers": answers})
    sha = client.get(f"/api/v1/episodes/{eid}/consent-text").json()["sha256"]
    post(f"/api/v1/episodes/{eid}/consents", {"decision": "granted", "shown_sha256": sha})
    recheck = recheck_clear()
    visit = post(f"/api/v1/episodes/{eid}/visits", {"tolerance_limit": 10, "recheck": recheck})
    area = {
        "body_site": "lateral_elbow",
        "side": "right",
        "instrument_type": "stainless_steel",
        "strokes": ["sweep"],
    }
    return [str(post(f"/api/v1/visits/{visit['id']}/areas", area)["id"]) for _ in range(AREAS)]


def _writer(base_url: str, token: str, areas: list[str], acks: Acks, index: int) -> None:
    """Alternate patients and readings until the server dies, the count or time runs out."""
    deadline = time.monotonic() + BURST_SECONDS
    transport_errors = 0
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=5.0) as client:
        for n in range(MAX_WRITES_PER_THREAD):
            if time.monotonic() > deadline or transport_errors >= MAX_TRANSPORT_ERRORS:
                return
            area = areas[(index + n) % len(areas)]
            try:
                if n % 2:
                    response = client.post(f"/api/v1/areas/{area}/readings", json={"value": n % 5})
                else:
                    body = {
                        "given_name": f"Burst{index}",
                        "family_name": f"Write{n}",
                        "birth_date": "1985-03-04",
                        "sex": "unknown",
                    }
                    response = client.post("/api/v1/patients", json=body)
            except httpx.HTTPError:
                transport_errors += 1
                time.sleep(0.05)
                continue
            if response.status_code in (200, 201):
                with acks.lock:
                    if n % 2:
                        acks.readings[area] = acks.readings.get(area, 0) + 1
                    else:
                        acks.patients.add(uuid.UUID(response.json()["id"]))


def _burst_then_kill(server: Server, token: str, areas: list[str]) -> Acks:
    acks = Acks()
    threads = [
        threading.Thread(target=_writer, args=(server.base_url, token, areas, acks, i))
        for i in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + BURST_SECONDS / 2
    while acks.total < ACKS_BEFORE_KILL and time.monotonic() < deadline:
        time.sleep(0.02)
    server.kill()  # SIGKILL mid-burst: some requests are in flight right now
    for thread in threads:
        thread.join(BURST_SECONDS + 10)
    assert not any(t.is_alive() for t in threads), "a writer thread did not finish"
    return acks


def _stored(url: str) -> tuple[set[uuid.UUID], dict[str, int]]:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            patients = set(session.scalars(select(Patient.external_id)))
            rows = session.execute(
                select(TreatedArea.external_id, func.count(DiscomfortReading.id))
                .join(DiscomfortReading, DiscomfortReading.treated_area_id == TreatedArea.id)
                .group_by(TreatedArea.external_id)
            )
            return patients, {str(area): int(n) for area, n in rows}
    finally:
        engine.dispose()


def _integrity_problems(url: str) -> list[str]:
    """SQLite's own checks; on PostgreSQL, orphan readings and areas (FKs should forbid)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if is_sqlite(url):
                ok = conn.exec_driver_sql("PRAGMA integrity_check").scalars().all()
                fks = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                return ([] if ok == ["ok"] else [f"integrity_check: {ok}"]) + [
                    f"foreign key: {tuple(row)}" for row in fks
                ]
            orphans = conn.scalar(
                text(
                    "SELECT count(*) FROM discomfort_reading r "
                    "LEFT JOIN treated_area a ON a.id = r.treated_area_id WHERE a.id IS NULL"
                )
            )
            return [f"{orphans} orphan readings"] if orphans else []
    finally:
        engine.dispose()


def test_acknowledged_writes_survive_kill9(
    fault_db_url: str, tmp_path: Path, server_factory: list[Server]
) -> None:
    server = start_server(fault_db_url, tmp_path)
    server_factory.append(server)
    token = bearer_token(server.base_url)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        areas = _visit_with_areas(client)

    acks = _burst_then_kill(server, token, areas)
    assert server.process.returncode is not None
    assert acks.total >= 10, f"too few writes acknowledged before the kill ({acks.total})"

    restarted = start_server(fault_db_url, tmp_path)
    server_factory.append(restarted)
    with httpx.Client(base_url=restarted.base_url, headers=headers, timeout=30) as client:
        for pid in list(acks.patients)[:25]:
            assert client.get(f"/api/v1/patients/{pid}").status_code == 200
        after = client.post(f"/api/v1/areas/{areas[0]}/readings", json={"value": 1})
        assert after.status_code == 201, after.text
    restarted.kill(sig=15)

    patients, readings = _stored(fault_db_url)
    assert acks.patients <= patients, f"lost patients: {acks.patients - patients}"
    lost = {a: n - readings.get(a, 0) for a, n in acks.readings.items() if readings.get(a, 0) < n}
    assert not lost, f"acknowledged readings missing per area: {lost}"
    assert _integrity_problems(fault_db_url) == []
