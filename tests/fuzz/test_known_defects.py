"""Defects the fuzzers found, now fixed; each test states the behaviour the API promises.

A new defect found by fuzzing gets a test here (strict xfail until fixed) and an entry in
``KNOWN`` in test_openapi_fuzz.py; the fix removes both.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from .conftest import FuzzTarget


@pytest.fixture
def api(fuzz_target: FuzzTarget) -> Iterator[TestClient]:
    """A client that turns unhandled server errors into the 500 a real client would see."""
    with TestClient(
        fuzz_target.app, base_url="http://127.0.0.1", raise_server_exceptions=False
    ) as client:
        client.headers.update(fuzz_target.headers)
        yield client


def assert_clean_4xx(response: object) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    assert 400 <= status < 500, f"{status}: {response.text[:300]}"  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert isinstance(body.get("detail"), str) and isinstance(body.get("code"), str), body


def test_revoking_a_malformed_token_id_is_a_4xx(api: TestClient) -> None:
    assert_clean_4xx(api.delete("/api/v1/auth/tokens/0.1.0"))


def test_huge_visit_list_offset_is_a_4xx(api: TestClient, fuzz_target: FuzzTarget) -> None:
    episode = fuzz_target.ids["episode_id"][0]
    assert_clean_4xx(api.get(f"/api/v1/episodes/{episode}/visits", params={"offset": 10**24}))


def test_undecodable_json_body_has_detail_and_code(api: TestClient) -> None:
    response = api.post(
        "/api/v1/patients", content=b"\xa1_k\x8e", headers={"Content-Type": "application/json"}
    )
    assert_clean_4xx(response)


def test_non_list_regions_are_a_4xx(api: TestClient, fuzz_target: FuzzTarget) -> None:
    episode = fuzz_target.ids["episode_id"][0]
    body = {"answers": {"A1": {"present": False, "regions": 5}}}
    assert_clean_4xx(api.post(f"/api/v1/episodes/{episode}/screenings", json=body))
