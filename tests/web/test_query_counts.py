"""A patient with many visits opens with as many queries as one with a few (no N+1)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session
from tests.factories import actor, login, make_clinic, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, recheck_answers, write_and_sign

from strigil.services import treatment, visits
from strigil.store.clinics import User
from strigil.store.episodes import Episode

AREA = treatment.AreaInput(
    body_site="lateral_elbow", side="right", instrument_type="stainless_steel", intensity="gentle"
)


@contextmanager
def counting(connection: Connection) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", note)


def _history(session: Session, user: User, episode: Episode, n: int) -> str:
    """``n`` signed visits with two areas and readings each; returns the last visit's id."""
    who = actor(user)
    last = ""
    for _ in range(n):
        visit = visits.start(
            session=session,
            actor=who,
            episode_id=episode.external_id,
            data=visits.VisitStart(recheck=recheck_answers()),
        )
        for _ in range(2):
            area = treatment.add_area(
                session=session, actor=who, visit_id=visit.external_id, data=AREA
            )
            treatment.record_reading(
                session=session, actor=who, treated_area_id=area.external_id, value=2
            )
            treatment.stop_area(
                session=session, actor=who, treated_area_id=area.external_id, reason="completed"
            )
        write_and_sign(session, who, visit.external_id)
        last = str(visit.external_id)
    return last


# Statements only the tests' shared outer transaction causes: each request's "transaction" is
# a savepoint of it, and its clinic setting is cleared again when that savepoint is released.
# A server's own transactions run none of them, so they are not the page's queries.
HARNESS = ("SAVEPOINT ", "RELEASE SAVEPOINT ", "SELECT set_config('role', 'none'")


def _queries(client: TestClient, connection: Connection, path: str) -> int:
    with counting(connection) as seen:
        response = client.get(path, headers={"accept": "text/html"})
    assert response.status_code == 200, response.text[:300]
    return len([s for s in seen if not s.startswith(HARNESS)])


@pytest.mark.parametrize("path", ["patient", "episode", "visit", "dashboard"])
def test_page_queries_do_not_grow_with_history(
    session: Session, client: TestClient, connection: Connection, path: str
) -> None:
    counts = []
    for n in (2, 12):
        user = make_user(session, make_clinic(session))
        patient = make_patient(session, user)
        episode = make_episode(session, user, patient)
        ready_for_iastm(session, user, episode)
        last = _history(session, user, episode, n)
        session.commit()
        login(client, user)
        url = {
            "patient": f"/patients/{patient.external_id}",
            "episode": f"/episodes/{episode.external_id}",
            "visit": f"/visits/{last}",
            "dashboard": "/",
        }[path]
        counts.append(_queries(client, connection, url))
    assert counts[0] == counts[1], f"{path}: {counts[0]} queries for 2 visits, {counts[1]} for 12"
    assert counts[1] <= 25
