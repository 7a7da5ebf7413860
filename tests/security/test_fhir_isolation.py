"""FHIR over HTTP keeps clinics apart: another clinic's token reads neither a patient nor an
export, and the Bulk Data flow (kick-off, status, files) works for the clinic's own token."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.factories import actor
from tests.security.conftest import Site, World

from strigil.services import auth, fhir_export
from strigil.services.actors import Role


@pytest.fixture(autouse=True)
def _exports_finish_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kick-off waits for the (small) export, so the test reads a finished job."""
    monkeypatch.setattr(fhir_export, "WAIT_SECONDS", 120.0)


def _bearer(session: Session, site: Site, role: Role = Role.THERAPIST) -> dict[str, str]:
    secret, _ = auth.issue_token(session=session, actor=actor(site.users[role]), name="fhir")
    session.flush()
    return {"Authorization": f"Bearer {secret}"}


def test_everything_answers_the_patients_bundle_and_not_to_another_clinic(
    client: TestClient, world: World, session: Session
) -> None:
    patient = world.home.ids["patient_id"]
    mine = client.get(
        f"/fhir/R4/Patient/{patient}/$everything", headers=_bearer(session, world.home)
    )
    assert mine.status_code == 200, mine.text
    assert mine.headers["content-type"].startswith("application/fhir+json")
    kinds = {e["resource"]["resourceType"] for e in mine.json()["entry"]}
    assert {"Patient", "Condition", "Encounter", "Procedure", "Organization"} <= kinds
    theirs = client.get(
        f"/fhir/R4/Patient/{patient}/$everything", headers=_bearer(session, world.other)
    )
    assert theirs.status_code == 404
    assert "entry" not in theirs.json() and theirs.json()["code"] == "patient_not_found"


def test_bulk_export_flow_and_another_clinics_token_reads_nothing(
    client: TestClient, world: World, session: Session
) -> None:
    headers = {**_bearer(session, world.home), "Prefer": "respond-async"}
    kick = client.get("/fhir/R4/$export", headers=headers, params={"_type": "Patient,Encounter"})
    assert kick.status_code == 202, kick.text
    status_url = kick.headers["Content-Location"]
    status = client.get(status_url, headers=headers)
    assert status.status_code == 200, status.text
    manifest = status.json()
    assert {o["type"] for o in manifest["output"]} == {"Patient", "Encounter"}
    patients = next(o for o in manifest["output"] if o["type"] == "Patient")
    body = client.get(patients["url"], headers=headers)
    assert body.status_code == 200
    rows = [json.loads(line) for line in body.text.splitlines()]
    assert len(rows) == patients["count"]
    assert world.home.ids["patient_id"] in {r["id"] for r in rows}
    assert world.other.ids["patient_id"] not in body.text

    stranger = _bearer(session, world.other)
    assert client.get(status_url, headers=stranger).status_code == 404
    assert client.get(patients["url"], headers=stranger).status_code == 404


def test_an_empty_patient_list_exports_an_empty_set(
    client: TestClient, world: World, session: Session
) -> None:
    headers = _bearer(session, world.home)
    other_patient = world.other.ids["patient_id"]
    kick = client.get("/fhir/R4/$export", headers=headers, params={"patient": other_patient})
    assert kick.status_code == 202
    manifest = client.get(kick.headers["Content-Location"], headers=headers).json()
    assert {o["type"] for o in manifest["output"]} <= {"Organization"}


def test_a_researcher_may_not_export(client: TestClient, world: World, session: Session) -> None:
    headers = _bearer(session, world.home, Role.RESEARCHER)
    assert client.get("/fhir/R4/$export", headers=headers).status_code == 403
    patient = world.home.ids["patient_id"]
    assert client.get(f"/fhir/R4/Patient/{patient}/$everything", headers=headers).status_code == 403
