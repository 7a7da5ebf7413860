"""Progress in the measure's own direction, every measure charted, measurements dated."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.factories import actor, login, make_clinic, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, recheck_answers

from strigil.core import response
from strigil.errors import InvalidInput
from strigil.services import outcomes, visits
from strigil.store.base import utcnow
from strigil.store.clinics import User
from strigil.store.episodes import Episode
from strigil.store.outcomes import OutcomeMeasurement


@pytest.mark.parametrize(
    ("measure", "baseline", "current", "text"),
    [
        ("QUICKDASH", 61.4, 47.7, "61.4 → 47.7, 13.7 points better"),
        ("QUICKDASH", 40.0, 45.5, "40 → 45.5, 5.5 points worse"),
        ("LEFS", 40, 52, "40 → 52, 12 points better"),
        ("ROM", 100, 95.5, "100 → 95.5, 4.5° worse"),
        ("NPRS", 5, 5, "5 → 5, no change"),
        ("VAS", 70, 40, "70 → 40, 30 mm better"),
    ],
)
def test_change_is_described_in_the_measures_direction(
    measure: str, baseline: float, current: float, text: str
) -> None:
    assert response.describe_change(measure, baseline, current) == text


def _episode(session: Session, **kw: object) -> tuple[User, Episode]:
    user = make_user(session, make_clinic(session))
    episode = make_episode(session, user, make_patient(session, user), primary_measure="NPRS")
    return user, episode


def _record(
    session: Session, user: User, episode: Episode, measure: str, answers: list[float], **kw: object
) -> OutcomeMeasurement:
    data = outcomes.MeasurementInput(measure, answers, {}, **kw)  # type: ignore[arg-type]
    return outcomes.record(
        session=session, actor=actor(user), episode_id=episode.external_id, data=data
    )


def test_every_measure_of_the_episode_has_its_progress_primary_first(session: Session) -> None:
    user, episode = _episode(session)
    _record(session, user, episode, "LEFS", [2] * 20)
    _record(session, user, episode, "LEFS", [3] * 20)
    _record(session, user, episode, "NPRS", [7])
    _record(session, user, episode, "NPRS", [4])
    found = outcomes.progress_all(
        session=session, actor=actor(user), episode_id=episode.external_id
    )
    assert [p.measure.code for p in found] == ["NPRS", "LEFS"]
    assert found[0].change_text == "7 → 4, 3 points better"
    assert found[1].change_text == "40 → 60, 20 points better"


def test_the_primary_measure_is_listed_before_its_first_score(session: Session) -> None:
    user, episode = _episode(session)
    found = outcomes.progress_all(
        session=session, actor=actor(user), episode_id=episode.external_id
    )
    assert [(p.measure.code, p.points) for p in found] == [("NPRS", ())]


def test_a_measurement_is_dated_today_by_default_or_on_the_day_given(session: Session) -> None:
    user, episode = _episode(session)
    episode.started_on = utcnow().date() - timedelta(days=10)
    session.flush()
    today = _record(session, user, episode, "NPRS", [6])
    earlier = _record(
        session, user, episode, "NPRS", [7], measured_on=utcnow().date() - timedelta(days=3)
    )
    assert today.measured_at.date() == utcnow().date()
    assert earlier.measured_at.date() == utcnow().date() - timedelta(days=3)


@pytest.mark.parametrize(("days", "code"), [(1, "in_future"), (-30, "before_episode")])
def test_a_date_in_the_future_or_before_the_episode_is_refused_by_name(
    session: Session, days: int, code: str
) -> None:
    user, episode = _episode(session)
    episode.started_on = utcnow().date() - timedelta(days=10)
    session.flush()
    with pytest.raises(InvalidInput) as err:
        _record(
            session, user, episode, "NPRS", [6], measured_on=utcnow().date() + timedelta(days=days)
        )
    assert (err.value.field, err.value.code) == ("measured_on", code)


def test_a_measurement_can_be_tied_to_a_visit(session: Session) -> None:
    user, episode = _episode(session)
    ready_for_iastm(session, user, episode)
    visit = visits.start(
        session=session,
        actor=actor(user),
        episode_id=episode.external_id,
        data=visits.VisitStart(tolerance_limit=6, recheck=recheck_answers()),
    )
    row = _record(
        session, user, episode, "NPRS", [5], visit_id=visit.external_id, measured_on=utcnow().date()
    )
    assert row.visit_id == visit.id and row.measured_at == visit.started_at


# ------------------------------------------------------------------------------ pages


def test_the_episode_page_charts_every_measure_and_says_better(
    session: Session, client: TestClient
) -> None:
    user, episode = _episode(session)
    _record(session, user, episode, "NPRS", [7])
    _record(session, user, episode, "NPRS", [4])
    _record(session, user, episode, "LEFS", [2] * 20)
    login(client, user)
    html = client.get(f"/episodes/{episode.external_id}").text
    assert 'data-testid="progress-NPRS"' in html and 'data-testid="progress-LEFS"' in html
    assert "7 → 4, 3 points better" in html and "+3" not in html


def test_the_measure_form_records_the_day_and_the_visit(
    session: Session, client: TestClient
) -> None:
    user, episode = _episode(session)
    episode.started_on = utcnow().date() - timedelta(days=10)
    session.flush()
    login(client, user)
    form = client.get(f"/episodes/{episode.external_id}/measure-form?measure=NPRS").text
    assert 'name="measured_on"' in form and 'name="visit_id"' in form
    day = (utcnow().date() - timedelta(days=2)).isoformat()
    data = {
        "measure": "NPRS",
        "item_1": "6",
        "measured_on": day,
        "csrf_token": client.headers["X-CSRF-Token"],
    }
    answer = client.post(
        f"/episodes/{episode.external_id}/measurements", data=data, follow_redirects=False
    )
    assert answer.status_code in (200, 204, 303), answer.text
    rows = outcomes.list_for_episode(session, episode)
    assert [r.measured_at.date().isoformat() for r in rows] == [day]


@pytest.mark.parametrize(
    ("day", "words"),
    [
        ("tomorrow", "not a date"),
        ("future", "in the future"),
        ("early", "before the episode began"),
    ],
)
def test_the_measure_form_refuses_a_bad_day_beside_the_field(
    session: Session, client: TestClient, day: str, words: str
) -> None:
    user, episode = _episode(session)
    episode.started_on = utcnow().date() - timedelta(days=10)
    session.flush()
    login(client, user)
    value = {
        "tomorrow": "next tuesday",
        "future": (utcnow().date() + timedelta(days=1)).isoformat(),
        "early": (utcnow().date() - timedelta(days=40)).isoformat(),
    }[day]
    data = {
        "measure": "NPRS",
        "item_1": "6",
        "measured_on": value,
        "csrf_token": client.headers["X-CSRF-Token"],
    }
    answer = client.post(f"/episodes/{episode.external_id}/measurements", data=data)
    assert answer.status_code == 422
    assert 'data-field="measured_on"' in answer.text and words in answer.text
    assert outcomes.list_for_episode(session, episode) == []


def test_a_reliability_check_can_be_started_from_the_visit_form(
    session: Session, client: TestClient
) -> None:
    user, episode = _episode(session)
    ready_for_iastm(session, user, episode)
    login(client, user)
    page = client.get(f"/episodes/{episode.external_id}/visits/new").text
    assert 'name="reliability_check"' in page
    data = {f"ans_{rule}": a.present and "yes" or "no" for rule, a in recheck_answers().items()}
    data |= {"ans_A9": "reading", "bp_A9_systolic": "124", "bp_A9_diastolic": "78"}
    data |= {"tolerance_limit": "6", "techniques": "iastm", "reliability_check": "yes"}
    data |= {"csrf_token": client.headers["X-CSRF-Token"]}
    answer = client.post(
        f"/episodes/{episode.external_id}/visits", data=data, follow_redirects=True
    )
    assert answer.status_code == 200, answer.text
    assert 'data-testid="reliability-check"' in answer.text
    started = visits.list_for_episode(session=session, actor=actor(user), episode=episode)
    assert [v.reliability_check for v in started] == [True]
