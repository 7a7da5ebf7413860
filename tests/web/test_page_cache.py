"""A visit page is rendered once per change of its chart or the clinic's shared data, and
never shown stale."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session
from tests.factories import actor, login, make_clinic, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, recheck_answers
from tests.web.test_query_counts import counting

from strigil.services import patient_links, treatment, visits
from strigil.store.audit import AuditEvent
from strigil.store.clinics import User
from strigil.store.patient_links import PatientLink
from strigil.store.visits import Visit
from strigil.web.page_cache import PageCache

HTML = {"accept": "text/html"}
AREA = treatment.AreaInput(
    body_site="lateral_elbow", side="right", instrument_type="stainless_steel", intensity="gentle"
)


def _visit(session: Session, user: User) -> Visit:
    episode = make_episode(session, user, make_patient(session, user))
    ready_for_iastm(session, user, episode)
    visit = visits.start(
        session=session,
        actor=actor(user),
        episode_id=episode.external_id,
        data=visits.VisitStart(recheck=recheck_answers()),
    )
    session.commit()
    return visit


def _reads(session: Session, visit: Visit) -> int:
    session.expire_all()
    query = select(func.count(AuditEvent.id)).where(
        AuditEvent.entity_id == str(visit.external_id), AuditEvent.action == "read"
    )
    return int(session.scalar(query) or 0)


def test_a_reopened_page_is_reused_and_still_audited(
    session: Session, client: TestClient, connection: Connection
) -> None:
    user = make_user(session, make_clinic(session))
    visit = _visit(session, user)
    login(client, user)
    url = f"/visits/{visit.external_id}"
    first = client.get(url, headers=HTML)
    with counting(connection) as seen:
        again = client.get(url, headers=HTML)
    assert again.status_code == 200 and again.text == first.text
    assert not [s for s in seen if "treated_area" in s]  # not rendered again
    assert _reads(session, visit) == 2  # every opening is in the audit trail


def test_any_change_to_the_chart_renders_the_page_afresh(
    session: Session, client: TestClient
) -> None:
    user = make_user(session, make_clinic(session))
    visit = _visit(session, user)
    login(client, user)
    url = f"/visits/{visit.external_id}"
    assert "No areas yet" in client.get(url, headers=HTML).text
    area = client.post(
        f"/api/v1/visits/{visit.external_id}/areas",
        json={"body_site": "lateral_elbow", "side": "right", "instrument_type": "stainless_steel"},
    )
    assert area.status_code == 201, area.text
    page = client.get(url, headers=HTML).text
    assert "No areas yet" not in page and 'data-testid="reading"' not in page
    treatment.record_reading(  # a change made elsewhere (another worker, the CLI)
        session=session, actor=actor(user), treated_area_id=area.json()["id"], value=3
    )
    session.commit()
    assert 'data-testid="reading">3<' in client.get(url, headers=HTML).text


def test_a_page_is_never_handed_to_another_person_or_session(
    session: Session, client: TestClient
) -> None:
    clinic = make_clinic(session)
    first, second = make_user(session, clinic), make_user(session, clinic)
    visit = _visit(session, first)
    url = f"/visits/{visit.external_id}"
    token_one = login(client, first)
    assert token_one in client.get(url, headers=HTML).text
    token_two = login(client, second)
    page = client.get(url, headers=HTML).text
    assert token_two in page and token_one not in page


def _rendered(connection: Connection, client: TestClient, url: str) -> tuple[str, bool]:
    """The page, and whether it was drawn afresh (its areas were queried)."""
    with counting(connection) as seen:
        text = client.get(url, headers=HTML).text
    return text, any("treated_area" in s for s in seen)


def test_another_patients_change_keeps_the_page_but_a_shared_change_does_not(
    session: Session, client: TestClient, connection: Connection
) -> None:
    clinic = make_clinic(session)
    user = make_user(session, clinic)
    mine, other = _visit(session, user), _visit(session, user)
    login(client, user)
    url = f"/visits/{mine.external_id}"
    client.get(url, headers=HTML)
    area = treatment.add_area(
        session=session, actor=actor(user), visit_id=str(other.external_id), data=AREA
    )
    treatment.record_reading(
        session=session, actor=actor(user), treated_area_id=area.external_id, value=2
    )
    session.commit()  # another patient's visit changed: this page is still what it was
    assert _rendered(connection, client, url)[1] is False
    colleague = make_user(session, clinic)  # a new colleague: a row of no one patient
    session.commit()
    assert colleague.id is not None
    assert _rendered(connection, client, url)[1] is True
    mine_area = treatment.add_area(
        session=session, actor=actor(user), visit_id=str(mine.external_id), data=AREA
    )
    treatment.record_reading(
        session=session, actor=actor(user), treated_area_id=mine_area.external_id, value=4
    )
    session.commit()
    page, fresh = _rendered(connection, client, url)
    assert fresh and 'data-testid="reading">4<' in page


def test_a_page_showing_an_open_link_lives_no_longer_than_the_link(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A link shown as open turns closed with the clock alone, so the page may not outlive it."""
    clock = [1000.0]
    monkeypatch.setattr("strigil.web.page_cache.time.monotonic", lambda: clock[0])
    cache = PageCache(lifetime_seconds=30.0)
    key = ("/visits/x?", "csrf", 1, "therapist", 1, (1, 1))
    ids = uuid.uuid4(), uuid.uuid4()
    cache.put(key, b"link open", *ids, true_for=5.0)
    clock[0] += 4.9
    assert cache.get(key) is not None
    clock[0] += 0.2
    assert cache.get(key) is None  # the link has closed: render afresh
    cache.put(key, b"already closing", *ids, true_for=0.0)
    assert cache.get(key) is None  # never kept
    cache.put(key, b"no links", *ids)
    clock[0] += 29.9
    assert cache.get(key) is not None


def test_the_first_open_link_to_expire_bounds_the_page() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def link(minutes: float, used_at: datetime | None = None) -> PatientLink:
        expires_at = now + timedelta(minutes=minutes)
        return PatientLink(expires_at=expires_at, revoked_at=None, used_at=used_at)

    links = [link(90), link(2), link(1, used_at=now), link(-5)]
    assert patient_links.seconds_until_one_closes(links, now) == 120.0
    assert patient_links.seconds_until_one_closes([link(-1)], now) == float("inf")
