"""A patient chart with 500 visits opens a page at a time, with as many queries as one with 5.

The visits are spread over two episodes, so a per-visit read of the episode (an N+1) would
show up as a difference between the two counts.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.orm import Session
from tests.factories import actor, login, make_clinic, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, recheck_answers, write_and_sign
from tests.web.test_query_counts import counting

from strigil.services import visits
from strigil.store.clinics import User
from strigil.store.patients import Patient

PAGE_ROWS = re.compile(r'<a href="/visits/[0-9a-f-]{36}">')


def _patient_with_visits(session: Session, n: int) -> tuple[User, Patient]:
    """A patient with ``n`` signed visits, alternating between two episodes."""
    user = make_user(session, make_clinic(session))
    who = actor(user)
    patient = make_patient(session, user)
    episodes = [
        make_episode(session, user, patient, side="right"),
        make_episode(session, user, patient, side="left"),
    ]
    for episode in episodes:
        ready_for_iastm(session, user, episode)
    for index in range(n):
        visit = visits.start(
            session=session,
            actor=who,
            episode_id=episodes[index % 2].external_id,
            data=visits.VisitStart(recheck=recheck_answers()),
        )
        write_and_sign(session, who, visit.external_id)
    session.commit()
    return user, patient


def _open(client: TestClient, connection: Connection, path: str) -> tuple[int, str]:
    with counting(connection) as seen:
        response = client.get(path, headers={"accept": "text/html"})
    assert response.status_code == 200, response.text[:300]
    return len(seen), response.text


def test_a_500_visit_chart_costs_the_queries_of_a_5_visit_one(
    session: Session, client: TestClient, connection: Connection
) -> None:
    counts, shown = [], []
    for n in (5, 500):
        user, patient = _patient_with_visits(session, n)
        login(client, user)
        queries, html = _open(client, connection, f"/patients/{patient.external_id}")
        counts.append(queries)
        shown.append(len(PAGE_ROWS.findall(html)))
    assert counts[0] == counts[1], f"{counts[0]} queries for 5 visits, {counts[1]} for 500"
    assert shown == [5, 20], "the chart shows every visit of a short history, one page of a long"


def test_a_later_page_of_a_500_visit_chart_costs_the_same(
    session: Session, client: TestClient, connection: Connection
) -> None:
    user, patient = _patient_with_visits(session, 500)
    login(client, user)
    base = f"/patients/{patient.external_id}/visits"
    first, _ = _open(client, connection, f"{base}?page=1")
    last, html = _open(client, connection, f"{base}?page=25")
    assert first == last
    assert len(PAGE_ROWS.findall(html)) == 20
    assert "Older visits" not in html  # page 25 of 20 rows holds the 500th visit: the end
