"""Questionnaires at home and the patient's progress page: scored by the same engine as staff
entry, marked patient-reported, missing items only as each measure allows, sent once; links
expire, are revoked, refuse tampering and reach only their own patient's episode."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_episode, make_patient, make_user

from strigil.core import measures, scoring
from strigil.errors import InvalidInput, NotFound, NotPermitted, TooManyRequests
from strigil.services import drafts, outcomes, patient_forms, patient_links, screenings
from strigil.store.audit import AuditEvent
from strigil.store.clinics import User
from strigil.store.episodes import Episode
from strigil.store.outcomes import OutcomeMeasurement
from strigil.store.patient_links import PatientLink

THROTTLE = patient_links.Throttle()
QUICKDASH = ["2", "3", "2", "1", "1", "4", "2", "2", "3", "1", "2"]


@pytest.fixture
def therapist(session: Session) -> User:
    return make_user(session, make_clinic(session))


def _episode(session: Session, therapist: User, measure: str = "QUICKDASH") -> Episode:
    patient = make_patient(session, therapist)
    return make_episode(session, therapist, patient, primary_measure=measure)


def _issue(
    session: Session,
    therapist: User,
    episode: Episode,
    purpose: str = "questionnaires",
    **kw: object,
) -> tuple[str, PatientLink]:
    return patient_forms.issue(
        session=session,
        actor=actor(therapist),
        episode_id=episode.external_id,
        purpose=purpose,
        **kw,  # type: ignore[arg-type]
    )


def _fields(quickdash: list[str], nprs: str = "6") -> dict[str, str]:
    fields = {f"q{i}": v for i, v in enumerate(quickdash)}
    fields[f"q{len(quickdash)}"] = nprs
    return fields


def _submit(session: Session, token: str, fields: dict[str, str]) -> list[OutcomeMeasurement]:
    return patient_forms.submit_questionnaires(
        session=session, token=token, fields=fields, client_ip="192.0.2.9", throttle=THROTTLE
    )


def test_default_questionnaires_are_the_primary_measure_and_pain(
    session: Session, therapist: User
) -> None:
    token, link = _issue(session, therapist, _episode(session, therapist))
    assert link.measures == ["QUICKDASH", "NPRS"] and link.single_use
    assert link.token_hash == patient_links.digest(token) != token
    assert timedelta(days=6, hours=23) < link.expires_at - link.created_at <= timedelta(days=7)
    assert len(patient_forms.screens(link)) == 12
    assert "QUICKDASH" not in patient_links.link_path(token)


def test_a_staff_measured_score_cannot_be_sent(session: Session, therapist: User) -> None:
    episode = _episode(session, therapist)
    with pytest.raises(InvalidInput) as caught:
        _issue(session, therapist, episode, measure_codes=["ROM"])
    assert caught.value.field == "measures"
    with pytest.raises(InvalidInput):
        _issue(session, therapist, episode, purpose="everything")


def test_a_researcher_may_not_issue(session: Session, therapist: User) -> None:
    episode = _episode(session, therapist)
    researcher = make_user(session, therapist.clinic, role="researcher")
    with pytest.raises(NotPermitted):
        _issue(session, researcher, episode)


def test_answers_are_scored_like_staff_entry_and_marked_patient_reported(
    session: Session, therapist: User
) -> None:
    episode = _episode(session, therapist)
    token, link = _issue(session, therapist, episode)
    rows = _submit(session, token, _fields(QUICKDASH))
    by_code = {r.measure: r for r in rows}
    staff = scoring.score("QUICKDASH", [float(v) for v in QUICKDASH])
    assert by_code["QUICKDASH"].score == pytest.approx(staff.score)
    assert by_code["NPRS"].score == 6
    assert all(r.source == "patient" and r.patient_link_id == link.id for r in rows)
    assert link.used_at is not None
    course = outcomes.course(session, episode, measures.get_measure("QUICKDASH"))
    assert course.points[-1].source == "patient"


def test_one_quickdash_item_may_be_skipped_not_two(session: Session, therapist: User) -> None:
    episode = _episode(session, therapist)
    token, _ = _issue(session, therapist, episode)
    two_missing = ["", "", *QUICKDASH[2:]]
    with pytest.raises(InvalidInput) as caught:
        _submit(session, token, _fields(two_missing))
    assert caught.value.field == "q0" and "at least 10 of these 11" in caught.value.detail
    assert session.scalars(select(OutcomeMeasurement)).all() == []
    rows = _submit(session, token, _fields(["", *QUICKDASH[1:]]))
    assert {r.measure for r in rows} == {"QUICKDASH", "NPRS"}


def test_pain_cannot_be_skipped_and_out_of_range_stores_nothing(
    session: Session, therapist: User
) -> None:
    token, link = _issue(session, therapist, _episode(session, therapist))
    with pytest.raises(InvalidInput) as caught:
        _submit(session, token, _fields(QUICKDASH, nprs=""))
    assert caught.value.field == "q11" and "cannot be skipped" in caught.value.detail
    for bad in ("11", "-1", "2.5", "lots"):
        with pytest.raises(InvalidInput) as caught:
            _submit(session, token, _fields(QUICKDASH, nprs=bad))
        assert "from 0 to 10" in caught.value.detail
    with pytest.raises(InvalidInput):
        _submit(session, token, _fields(["6", *QUICKDASH[1:]]))
    assert session.scalars(select(OutcomeMeasurement)).all() == [] and link.used_at is None


def test_a_second_submission_is_refused_and_nothing_is_duplicated(
    session: Session, therapist: User
) -> None:
    token, _ = _issue(session, therapist, _episode(session, therapist))
    _submit(session, token, _fields(QUICKDASH))
    with pytest.raises(patient_links.LinkClosed) as caught:
        _submit(session, token, _fields(QUICKDASH))
    assert "already received" in caught.value.detail
    assert len(session.scalars(select(OutcomeMeasurement)).all()) == 2


def test_expired_revoked_and_tampered_links_are_refused(session: Session, therapist: User) -> None:
    episode = _episode(session, therapist)
    expired, link = _issue(session, therapist, episode)
    link.expires_at = patient_forms.now() - timedelta(seconds=1)
    revoked, other = _issue(session, therapist, episode, purpose="progress")
    patient_links.revoke(session=session, actor=actor(therapist), link_id=other.external_id)
    good, _ = _issue(session, therapist, episode)
    for token, error in (
        (expired, patient_links.LinkClosed),
        (revoked, patient_links.LinkClosed),
        (good[:-1] + ("A" if good[-1] != "A" else "B"), NotFound),
    ):
        with pytest.raises(error):
            patient_forms.open_link(
                session=session, token=token, client_ip=None, throttle=THROTTLE, audited=True
            )
    with pytest.raises(patient_links.LinkClosed):
        _submit(session, expired, _fields(QUICKDASH))


def test_a_progress_link_cannot_submit_answers(session: Session, therapist: User) -> None:
    token, _ = _issue(session, therapist, _episode(session, therapist), purpose="progress")
    with pytest.raises(NotFound):
        _submit(session, token, _fields(QUICKDASH))


def test_a_link_reaches_only_its_own_patient(session: Session, therapist: User) -> None:
    mine = _episode(session, therapist)
    theirs = _episode(session, therapist)
    outcomes.record(
        session=session,
        actor=actor(therapist),
        episode_id=theirs.external_id,
        data=outcomes.MeasurementInput("QUICKDASH", [5.0] * 11, {}),
    )
    token, _ = _issue(session, therapist, mine)
    rows = _submit(session, token, _fields(QUICKDASH))
    assert {r.episode_id for r in rows} == {mine.id}
    assert {r.patient_id for r in rows} == {mine.patient_id}
    ptoken, _ = _issue(session, therapist, mine, purpose="progress")
    link = patient_forms.open_link(
        session=session, token=ptoken, client_ip=None, throttle=THROTTLE, audited=True
    )
    story = patient_forms.progress_for_patient(session=session, link=link)
    scores = [p.score for s in story.stories for p in s.points]
    assert 100.0 not in scores and len(scores) == 2  # QuickDASH and pain, both mine


def test_progress_tells_the_change_against_the_mcid(session: Session, therapist: User) -> None:
    episode = _episode(session, therapist)
    for answers in ([4.0] * 11, [3.0] * 11):
        outcomes.record(
            session=session,
            actor=actor(therapist),
            episode_id=episode.external_id,
            data=outcomes.MeasurementInput("QUICKDASH", answers, {}),
        )
    token, _ = _issue(session, therapist, episode, purpose="progress")
    link = patient_forms.open_link(
        session=session, token=token, client_ip=None, throttle=THROTTLE, audited=True
    )
    assert not link.single_use
    story = patient_forms.progress_for_patient(session=session, link=link)
    [quickdash] = [s for s in story.stories if s.code == "QUICKDASH"]
    assert quickdash.improvement == pytest.approx(25.0)  # 75 -> 50, lower is better
    assert quickdash.mcid == pytest.approx(13.4) and quickdash.mcid_source
    assert quickdash.expected is not None and quickdash.expected.insufficient
    assert story.clinic_name == therapist.clinic.name
    # a progress link is not used up by reading it
    patient_forms.open_link(
        session=session, token=token, client_ip=None, throttle=THROTTLE, audited=True
    )


def test_every_use_is_audited_without_the_token(session: Session, therapist: User) -> None:
    episode = _episode(session, therapist)
    token, _ = _issue(session, therapist, episode)
    patient_forms.open_link(
        session=session, token=token, client_ip=None, throttle=THROTTLE, audited=True
    )
    rows = _submit(session, token, _fields(QUICKDASH))
    events = session.scalars(select(AuditEvent)).all()
    made = [e for e in events if e.entity_type == "outcome_measurement" and e.user_id is None]
    assert {e.entity_id for e in made} == {str(r.external_id) for r in rows}
    assert all(e.patient_id == str(episode.patient.external_id) for e in made)
    assert all(token not in repr((e.entity_id, e.route, e.detail)) for e in events)


def test_an_episode_entered_in_error_gets_no_link(session: Session, therapist: User) -> None:
    episode = _episode(session, therapist)
    episode.entered_in_error_at = patient_forms.now()  # as a correction would mark it
    with pytest.raises(NotFound):
        _issue(session, therapist, episode)


def test_screening_answers_wait_for_the_therapist(session: Session, therapist: User) -> None:
    episode = _episode(session, therapist)
    token, link = _issue(session, therapist, episode, measure_codes=["NPRS", "screening"])
    all_screens = patient_forms.screens(link)
    assert link.measures == ["NPRS", "SCREENING"] and all_screens[1].rule_id is not None
    by_rule = {s.rule_id: s.name for s in all_screens if s.rule_id}
    fields = {"q0": "4", by_rule["R1"]: "yes", by_rule["R8"]: "no"}
    with pytest.raises(InvalidInput) as caught:
        _submit(session, token, {**fields, by_rule["R2"]: "maybe"})
    assert caught.value.field == by_rule["R2"]
    rows = _submit(session, token, fields)
    assert [r.measure for r in rows] == ["NPRS"]
    draft = drafts.open_draft(session, episode, "screening")
    assert draft is not None
    assert drafts.fields(draft) == {
        "ans_R1": ["yes"],
        "ans_R8": ["no"],
        drafts.PATIENT_MARK: ["yes"],
    }
    assert drafts.author_name(session, draft) == "the patient, through a link"
    assert screenings.latest(session, episode, "intake") is None  # nothing counts yet


def test_guessing_links_is_slowed_down(session: Session, therapist: User) -> None:
    token, _ = _issue(session, therapist, _episode(session, therapist))
    throttle = patient_links.Throttle(max_failures=3)
    for n in range(3):
        with pytest.raises(NotFound):
            patient_forms.open_link(
                session=session, token=f"guess{n}", client_ip="192.0.2.50", throttle=throttle,
                audited=False,
            )  # fmt: skip
    with pytest.raises(TooManyRequests):
        patient_forms.open_link(
            session=session, token=token, client_ip="192.0.2.50", throttle=throttle, audited=True
        )
    patient_forms.open_link(  # another address is not held up
        session=session, token=token, client_ip="192.0.2.51", throttle=throttle, audited=True
    )


def _revisions(session: Session, clinic_id: int, patient_id: int) -> tuple[int, int, int]:
    """(clinic, shared, patient) revisions as committed."""
    row = session.execute(
        text(
            "SELECT coalesce(c.revision, 0), coalesce(c.shared, 0), coalesce(p.revision, 0) "
            "FROM clinic k LEFT JOIN clinic_revision c ON c.clinic_id = k.id "
            "LEFT JOIN patient_revision p ON p.patient_id = :patient WHERE k.id = :clinic"
        ),
        {"clinic": clinic_id, "patient": patient_id},
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def test_a_sent_questionnaire_moves_on_only_its_own_patient(
    session: Session, therapist: User
) -> None:
    """Using up the link is a change to this patient's record: the patient's pages are drawn
    again, the rest of the clinic's (and other clinics') stay as they were."""
    episode = _episode(session, therapist)
    token, _ = _issue(session, therapist, episode)
    elsewhere = make_user(session, make_clinic(session))
    session.commit()
    clinic_id, patient_id = therapist.clinic_id, episode.patient_id
    before = _revisions(session, clinic_id, patient_id)
    other = _revisions(session, elsewhere.clinic_id, patient_id)
    _submit(session, token, _fields(QUICKDASH))
    session.commit()
    after = _revisions(session, clinic_id, patient_id)
    assert after == (before[0] + 1, before[1], before[2] + 1)
    assert _revisions(session, elsewhere.clinic_id, patient_id)[:2] == other[:2]
