"""A stream is audited when it starts and when it is stored; reading the running dose once a
minute per user and area (the page polls every second), never less than once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories import login, make_clinic, make_user

from strigil.services import audit
from strigil.store.audit import AuditEvent
from strigil.store.clinics import User

from .test_attach import _area
from .test_stream_api import _batches


def _rows(session: Session, entity_type: str, action: str) -> list[AuditEvent]:
    session.expire_all()
    query = select(AuditEvent).where(
        AuditEvent.entity_type == entity_type, AuditEvent.action == action
    )
    return list(session.scalars(query))


def test_stream_audits_start_finish_and_reads_once_a_minute(
    session: Session, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    therapist: User = make_user(session, make_clinic(session))
    area = _area(session, therapist)
    session.flush()
    login(client, therapist)
    url = f"/api/v1/areas/{area.external_id}/sensor-stream"
    batches = _batches()[0]
    assert len(batches) > 3
    for batch in batches:
        assert client.post(url, json=batch).status_code == 202
    started = _rows(session, "sensor_stream", "create")
    assert len(started) == 1 and started[0].patient_id is not None
    for _ in range(5):
        assert client.get(url).status_code == 200
    for _ in range(3):
        live = client.get(f"/areas/{area.external_id}/sensor-live", headers={"HX-Request": "1"})
        assert live.status_code == 200
    reads = _rows(session, "sensor_stream", "read")
    assert len(reads) == 2  # one per route (API, page) in the minute
    assert {r.user_id for r in reads} == {therapist.id} and all(r.patient_id for r in reads)
    later = datetime.now(UTC) + timedelta(minutes=61)  # the audit trail itself is append-only
    monkeypatch.setattr(audit, "_now", lambda: later)
    assert client.get(url).status_code == 200
    assert len(_rows(session, "sensor_stream", "read")) == 3  # a new minute: audited again
    assert client.post(f"{url}/finish").status_code == 201
    assert len(_rows(session, "sensor_recording", "create")) == 1
