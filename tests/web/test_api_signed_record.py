"""The visit as a record over the JSON API: bad input names the field and changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.web.test_api_visits import AREA, _start

from strigil.store.visits import BillingLine, TreatedArea

API = "/api/v1"


def _area(client: TestClient, visit: dict[str, Any], seconds: int) -> dict[str, Any]:
    response = client.post(f"{API}/visits/{visit['id']}/areas", json=AREA | {"seconds": seconds})
    assert response.status_code == 201, response.text
    return response.json()


def test_tests_codes_and_times_over_the_api(session: Session, client: TestClient) -> None:
    visit = _start(session, client)
    area = _area(client, visit, 300)
    url = f"{API}/visits/{visit['id']}"
    made = client.post(
        f"{url}/measurements", json={"kind": "ppt", "pre_value": 250, "post_value": 310}
    )
    assert made.status_code == 201 and made.json()["unit"] == "kPa"
    line = client.post(f"{url}/billing-lines", json={"code": "97112", "seconds": 540})
    assert line.status_code == 201, line.text
    bill = client.get(f"{url}/billing").json()
    # 5 + 9 = 14 min → 1 unit, to the code with more minutes (CMS)
    assert {ln["code"]: ln["units"] for ln in bill["lines"]} == {"97140": 0, "97112": 1}
    draft = client.get(f"{url}/note-draft").json()
    assert any(c["source"] == f"test:{made.json()['id']}" for c in draft["claims"])
    assert any(c["source"] == f"area:{area['id']}" for c in draft["claims"])
    undo = client.post(
        f"{url}/in-error",
        json={"kind": "billing_line", "record_id": line.json()["id"], "reason": "Not done"},
    )
    assert undo.status_code == 200
    assert [ln["code"] for ln in client.get(f"{url}/billing").json()["lines"]] == ["97140"]


def test_time_over_the_visits_length_is_refused(session: Session, client: TestClient) -> None:
    visit = _start(session, client)
    area = _area(client, visit, 20 * 60)
    url = f"{API}/visits/{visit['id']}"
    start = datetime.fromisoformat(visit["started_at"])
    short = client.put(
        f"{url}/times",
        json={
            "started_at": start.isoformat(),
            "ended_at": (start + timedelta(minutes=15)).isoformat(),
            "version": visit["version"],
        },
    )
    assert short.status_code == 422 and short.json()["field"] == "ended_at"
    assert short.json()["code"] == "over_visit_length"
    times = {
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(minutes=30)).isoformat(),
        "version": visit["version"],
    }
    saved = client.put(f"{url}/times", json=times)
    assert saved.status_code == 200 and saved.json()["version"] > visit["version"]
    over = client.post(f"{url}/billing-lines", json={"code": "97110", "seconds": 11 * 60})
    assert over.status_code == 422 and over.json() == {
        "detail": over.json()["detail"],
        "code": "over_visit_length",
        "field": "seconds",
    }
    longer = {"seconds": 31 * 60, "version": area["version"]}
    longer_time = client.put(f"{API}/areas/{area['id']}/time", json=longer)
    assert longer_time.status_code == 422 and longer_time.json()["field"] == "seconds"
    dose = {"seconds": 31 * 60, "version": area["version"]}
    timer = client.put(f"{API}/areas/{area['id']}/dose", json=dose)
    assert timer.status_code == 422 and timer.json()["code"] == "over_visit_length"
    naive = {"started_at": "2026-01-01T09:00:00", "version": saved.json()["version"]}
    naive_times = client.put(f"{url}/times", json=naive)
    assert naive_times.status_code == 422 and naive_times.json()["field"] == "started_at"
    assert session.scalar(select(func.count(BillingLine.id))) == 0
    session.expire_all()
    assert session.scalar(select(TreatedArea.seconds)) == 20 * 60


def test_unknown_code_and_edit_after_signing(session: Session, client: TestClient) -> None:
    visit = _start(session, client)
    url = f"{API}/visits/{visit['id']}"
    unknown = client.post(f"{url}/billing-lines", json={"code": "97999", "seconds": 600})
    assert unknown.status_code == 422 and unknown.json()["field"] == "code"
    assert unknown.json()["code"] == "unknown_billing_code"
    saved = client.put(
        f"{url}/note",
        json={"assessment": "Fine.", "plan": "Continue.", "version": visit["version"]},
    ).json()
    assert client.post(f"{url}/sign", json={"version": saved["version"]}).status_code == 200
    late = client.post(f"{url}/billing-lines", json={"code": "97110", "seconds": 600})
    assert late.status_code == 409 and late.json()["code"] == "note_signed"
    assert client.post(f"{url}/cosign").status_code == 409
    assert session.scalar(select(func.count(BillingLine.id))) == 0


def test_time_edits_must_send_the_version_they_read(session: Session, client: TestClient) -> None:
    visit = _start(session, client)
    area = _area(client, visit, 5 * 60)
    url = f"{API}/visits/{visit['id']}"
    start = datetime.fromisoformat(visit["started_at"])
    unversioned = client.put(f"{url}/times", json={"started_at": start.isoformat()})
    assert unversioned.status_code == 422 and "version" in unversioned.text
    no_version = client.put(f"{API}/areas/{area['id']}/time", json={"seconds": 60})
    assert no_version.status_code == 422 and "version" in no_version.text
    synced = client.put(
        f"{API}/areas/{area['id']}/dose", json={"seconds": 400, "version": area["version"]}
    )
    assert synced.status_code == 200  # the timer saved since the therapist read the area
    stale = client.put(
        f"{API}/areas/{area['id']}/time", json={"seconds": 60, "version": area["version"]}
    )
    assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
    assert stale.json()["current"]["seconds"] == 400
    fresh = {"seconds": 60, "version": synced.json()["version"]}
    assert client.put(f"{API}/areas/{area['id']}/time", json=fresh).json()["seconds"] == 60
    moved = {"started_at": start.isoformat(), "version": visit["version"] - 1}
    assert client.put(f"{url}/times", json=moved).status_code == 409
