"""Patient links and the 48-hour check-in: single purpose, expiring, revocable, single use;
a link reaches only its own patient's visit; warning answers need attention until they are
made an adverse event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_user
from tests.flow import iastm_visit, recheck_in_force

from strigil.errors import InvalidInput, NotFound, NotPermitted, TooManyRequests
from strigil.services import dashboard, patient_links, visits
from strigil.services.actors import Actor
from strigil.store.audit import AuditEvent
from strigil.store.clinics import User
from strigil.store.patient_links import Checkin, PatientLink
from strigil.store.visits import Visit

CALM = {
    "soreness": "3",
    "bruising": "small",
    "skin_broken": "no",
    "calf_pain": "no",
    "numbness": "no",
}
WORRYING = {**CALM, "bruising": "spreading", "calf_pain": "yes", "other": "Calf feels tight."}
THROTTLE = patient_links.Throttle()


@pytest.fixture
def therapist(session: Session) -> User:
    return make_user(session, make_clinic(session))


def _visit(session: Session, therapist: User) -> Visit:
    return iastm_visit(session, therapist)


def _issue(session: Session, who: Actor, visit: Visit, hours: int = 72) -> str:
    token, _ = patient_links.issue_checkin(
        session=session, actor=who, visit_id=visit.external_id, hours=hours
    )
    return token


def _submit(session: Session, token: str, fields: dict[str, str] = CALM) -> Checkin:
    return patient_links.submit_checkin(
        session=session, token=token, fields=fields, client_ip="192.0.2.7", throttle=THROTTLE
    )


def test_issue_stores_only_the_digest(session: Session, therapist: User) -> None:
    visit = _visit(session, therapist)
    token, link = patient_links.issue_checkin(
        session=session, actor=actor(therapist), visit_id=visit.external_id
    )
    assert len(token) >= 43
    assert link.token_hash == patient_links.digest(token) != token
    assert link.expires_at - link.created_at >= timedelta(hours=71, minutes=59)
    assert patient_links.link_path(token) == f"/p/{token}"


def test_a_researcher_may_not_issue(session: Session, therapist: User) -> None:
    visit = _visit(session, therapist)
    researcher = make_user(session, therapist.clinic, role="researcher")
    with pytest.raises(NotPermitted):
        _issue(session, actor(researcher), visit)


def test_submit_stores_the_answers_and_closes_the_link(session: Session, therapist: User) -> None:
    visit = _visit(session, therapist)
    token = _issue(session, actor(therapist), visit)
    opened = patient_links.open_for_patient(
        session=session, token=token, purpose="checkin", client_ip=None, throttle=THROTTLE
    )
    assert opened.purpose == "checkin"
    checkin = _submit(session, token)
    assert checkin.visit_id == visit.id and checkin.patient_id == visit.patient_id
    assert checkin.answers["soreness"] == 3 and not checkin.needs_attention
    with pytest.raises(patient_links.LinkClosed, match="already received"):
        _submit(session, token)
    assert len(session.scalars(select(Checkin)).all()) == 1


def test_expired_link_refused(session: Session, therapist: User) -> None:
    visit = _visit(session, therapist)
    token, link = patient_links.issue_checkin(
        session=session, actor=actor(therapist), visit_id=visit.external_id
    )
    link.expires_at = link.created_at - timedelta(seconds=1)
    session.flush()
    with pytest.raises(patient_links.LinkClosed, match="expired"):
        _submit(session, token)


def test_revoked_link_refused(session: Session, therapist: User) -> None:
    who = actor(therapist)
    visit = _visit(session, therapist)
    token, link = patient_links.issue_checkin(
        session=session, actor=who, visit_id=visit.external_id
    )
    patient_links.revoke(session=session, actor=who, link_id=link.external_id)
    with pytest.raises(patient_links.LinkClosed, match="no longer active"):
        _submit(session, token)
    assert session.scalars(select(Checkin)).first() is None


def test_tampered_token_refused(session: Session, therapist: User) -> None:
    visit = _visit(session, therapist)
    token = _issue(session, actor(therapist), visit)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(NotFound):
        _submit(session, tampered)


def test_a_token_reaches_only_its_own_visit(session: Session, therapist: User) -> None:
    who = actor(therapist)
    mine, theirs = _visit(session, therapist), _visit(session, therapist)
    token = _issue(session, who, mine)
    checkin = _submit(session, token, {**CALM, "visit_id": str(theirs.external_id)})
    assert checkin.visit_id == mine.id and checkin.patient_id == mine.patient_id
    assert (
        patient_links.checkins_for_visit(session=session, actor=who, visit_id=theirs.external_id)
        == []
    )


def test_bad_answers_name_the_field_and_change_nothing(session: Session, therapist: User) -> None:
    visit = _visit(session, therapist)
    token = _issue(session, actor(therapist), visit)
    with pytest.raises(InvalidInput) as error:
        _submit(session, token, {**CALM, "soreness": "11"})
    assert error.value.field == "soreness"
    with pytest.raises(InvalidInput) as error:
        _submit(session, token, {**CALM, "bruising": "huge"})
    assert error.value.field == "bruising"
    assert session.scalars(select(PatientLink)).one().used_at is None


def test_wrong_tokens_are_throttled_per_address(session: Session, therapist: User) -> None:
    tight = patient_links.Throttle(max_failures=2)
    for _ in range(2):
        with pytest.raises(NotFound):
            patient_links.open_for_patient(
                session=session,
                token="nope",
                purpose="checkin",
                client_ip="198.51.100.9",
                throttle=tight,
            )
    with pytest.raises(TooManyRequests):
        patient_links.open_for_patient(
            session=session,
            token="nope",
            purpose="checkin",
            client_ip="198.51.100.9",
            throttle=tight,
        )


def test_warning_answers_need_attention_until_reported(session: Session, therapist: User) -> None:
    who = actor(therapist)
    visit = _visit(session, therapist)
    checkin = _submit(session, _issue(session, who, visit), WORRYING)
    assert checkin.needs_attention
    listed = dashboard.overview(session=session, actor=who).checkins
    assert [c.checkin_id for c in listed] == [checkin.external_id]
    event = patient_links.to_adverse_event(
        session=session, actor=who, checkin_id=checkin.external_id
    )
    assert event.category == "other" and "calf pain or swelling" in event.description
    assert event.visit_id == visit.id
    assert dashboard.overview(session=session, actor=who).checkins == []


def test_category_fits_the_answers() -> None:
    parse = patient_links.parse_answers
    assert patient_links.category_of(parse({**CALM, "skin_broken": "yes"})) == "skin_injury"
    assert patient_links.category_of(parse({**CALM, "bruising": "spreading"})) == "bruise"


def test_the_token_never_reaches_the_audit_trail(session: Session, therapist: User) -> None:
    who = actor(therapist)
    visit = _visit(session, therapist)
    token = _issue(session, who, visit)
    _submit(session, token)
    rows = session.scalars(select(AuditEvent)).all()
    assert any(
        r.action == "create" and r.entity_type == "checkin" and r.user_id is None for r in rows
    )
    digest = patient_links.digest(token)
    for row in rows:
        text = repr((row.entity_id, row.patient_id, row.route, row.detail))
        assert token not in text and digest not in text


def test_a_visit_without_iastm_gets_no_checkin_link(session: Session, therapist: User) -> None:
    visit = iastm_visit(session, therapist)
    other = visits.start(
        session=session,
        actor=actor(therapist),
        episode_id=visit.episode.external_id,
        data=visits.VisitStart(tolerance_limit=6, recheck=recheck_in_force(session, visit.episode)),
    )
    with pytest.raises(InvalidInput) as error:
        _issue(session, actor(therapist), other)
    assert error.value.field == "visit_id" and error.value.code == "no_iastm"
