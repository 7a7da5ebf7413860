"""Copy forward: a follow-up visit is offered the last visit's areas, home programme and tests,
and the standing precaution reasoning; each passes today's rules, and nothing is copied that
did not happen today."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, recheck_answers, recheck_in_force, write_and_sign

from strigil.core.screening import Answer
from strigil.errors import InvalidInput, NotFound
from strigil.services import follow_up, measurements, treatment, visit_templates, visits
from strigil.services.actors import Actor
from strigil.store import episodes as store
from strigil.store.clinics import User
from strigil.store.episodes import Episode
from strigil.store.visits import Visit

REASONING = "Light pressure only; monitor skin."
DOSE = "Gentle intensity, shorter time."
ELBOW = treatment.AreaInput(
    body_site="lateral_elbow",
    side="right",
    instrument_type="stainless_steel",
    intensity="gentle",
    strokes=("sweep",),
    angle_deg=45,
    seconds=45,
)
FOREARM = treatment.AreaInput(
    body_site="forearm_extensors",
    side="right",
    instrument_type="stainless_steel",
    intensity="moderate",
    strokes=("fan",),
    seconds=60,
)


@pytest.fixture
def therapist(session: Session) -> User:
    return make_user(session, make_clinic(session))


@pytest.fixture
def who_and_episode(session: Session, therapist: User) -> tuple[Actor, Episode]:
    patient = make_patient(session, therapist)
    episode = make_episode(session, therapist, patient, condition_code="M77.11", side="right")
    ready_for_iastm(session, therapist, episode)
    return actor(therapist), episode


def _visit(
    session: Session, who: Actor, episode: Episode, *, blood_thinners: bool = False
) -> Visit:
    recheck = recheck_in_force(session, episode)
    if blood_thinners:
        recheck |= {"R1": Answer(True)}
    data = visits.VisitStart(
        tolerance_limit=6,
        recheck=recheck,
        reasoning=REASONING if recheck["R1"].present else None,
        dose_modification=DOSE if recheck["R1"].present else None,
    )
    return visits.start(session=session, actor=who, episode_id=episode.external_id, data=data)


def _first_visit(
    session: Session, who: Actor, episode: Episode, areas: tuple[treatment.AreaInput, ...] = ()
) -> Visit:
    visit = _visit(session, who, episode)
    for data in areas or (ELBOW, FOREARM):
        area = treatment.add_area(session=session, actor=who, visit_id=visit.external_id, data=data)
        treatment.stop_area(
            session=session, actor=who, treated_area_id=area.external_id, reason="completed"
        )
    treatment.prescribe(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        data=treatment.Prescription(exercise_code=_exercise(), sets=3, repetitions=10),
    )
    measurements.add(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        data=measurements.MeasurementInput(kind="ppt", side="right", pre_value=210.0),
    )
    write_and_sign(session, who, visit.external_id)
    return visit


def _exercise() -> str:
    from strigil.core import catalog

    return catalog.exercises()[0].code


def test_a_follow_up_is_offered_the_last_visits_items(
    session: Session, who_and_episode: tuple[Actor, Episode]
) -> None:
    who, episode = who_and_episode
    first = _first_visit(session, who, episode)
    second = _visit(session, who, episode)
    offer = follow_up.offer(session, second)
    assert offer is not None and not offer.from_template
    assert offer.source.startswith(f"visit {first.number} (")
    assert [(a.body_site, a.intensity, a.planned_seconds) for a in offer.areas] == [
        ("lateral_elbow", "gentle", 45),
        ("forearm_extensors", "moderate", 60),
    ]
    assert [e.exercise_code for e in offer.exercises] == [_exercise()]
    assert [(t.kind, t.side) for t in offer.tests] == [("ppt", "right")]


def test_started_areas_begin_at_zero_with_last_times_plan_and_leave_the_offer(
    session: Session, who_and_episode: tuple[Actor, Episode]
) -> None:
    who, episode = who_and_episode
    _first_visit(session, who, episode)
    second = _visit(session, who, episode)
    keys = [a.key for a in follow_up.offer(session, second).areas]  # type: ignore[union-attr]
    started = follow_up.start_areas(
        session=session, actor=who, visit_id=second.external_id, keys=keys
    )
    assert [(a.body_site, a.seconds, a.planned_seconds) for a in started] == [
        ("lateral_elbow", 0, 45),
        ("forearm_extensors", 0, 60),
    ]
    offer = follow_up.offer(session, second)
    assert offer is not None and offer.areas == ()
    with pytest.raises(InvalidInput) as refused:
        follow_up.start_areas(session=session, actor=who, visit_id=second.external_id, keys=keys)
    assert refused.value.code == "not_offered"


def test_a_copied_area_is_refused_by_todays_rules_and_named(
    session: Session, who_and_episode: tuple[Actor, Episode]
) -> None:
    """The patient started a blood thinner since: last visit's moderate forearm is above
    today's cap, as it would be by hand. The refusal names the area, and nothing is started
    (the caller's savepoint undoes the gentle elbow started before it)."""
    who, episode = who_and_episode
    _first_visit(session, who, episode)
    second = _visit(session, who, episode, blood_thinners=True)
    keys = [a.key for a in follow_up.offer(session, second).areas]  # type: ignore[union-attr]
    with pytest.raises(InvalidInput) as refused:
        with session.begin_nested():
            follow_up.start_areas(
                session=session, actor=who, visit_id=second.external_id, keys=keys
            )
    assert refused.value.field == "areas" and refused.value.code == "dose_above_cap"
    assert refused.value.detail.startswith("Back of the forearm")
    assert treatment.areas(session, second) == []


def test_the_programme_and_tests_are_repeated_with_todays_values_only(
    session: Session, who_and_episode: tuple[Actor, Episode]
) -> None:
    who, episode = who_and_episode
    _first_visit(session, who, episode)
    second = _visit(session, who, episode)
    rows = follow_up.prescribe_programme(session=session, actor=who, visit_id=second.external_id)
    assert [(r.exercise_code, r.sets, r.repetitions) for r in rows] == [(_exercise(), 3, 10)]
    test = follow_up.offer(session, second).tests[0]  # type: ignore[union-attr]
    with pytest.raises(InvalidInput) as blank:
        follow_up.record_tests(
            session=session, actor=who, visit_id=second.external_id, values={test.key: None}
        )
    assert blank.value.field == "tests"
    recorded = follow_up.record_tests(
        session=session, actor=who, visit_id=second.external_id, values={test.key: 240.0}
    )
    assert [(m.kind, m.pre_value, m.post_value) for m in recorded] == [("ppt", 240.0, None)]
    offer = follow_up.offer(session, second)
    assert offer is not None and offer.exercises == () and offer.tests == ()


def test_a_first_visit_is_offered_the_clinics_template_for_the_diagnosis(
    session: Session, who_and_episode: tuple[Actor, Episode], therapist: User
) -> None:
    who, episode = who_and_episode
    first = _first_visit(session, who, episode)
    template = visit_templates.save_from_visit(
        session=session,
        actor=who,
        visit_id=first.external_id,
        name="Lateral elbow, usual",
        condition_prefix="m77.1",
    )
    assert template.condition_prefix == "M77.1"
    patient = make_patient(session, therapist)
    other = make_episode(session, therapist, patient, condition_code="M77.12", side="left")
    ready_for_iastm(session, therapist, other)
    visit = visits.start(
        session=session,
        actor=who,
        episode_id=other.external_id,
        data=visits.VisitStart(tolerance_limit=6, recheck=recheck_answers()),
    )
    offer = follow_up.offer(session, visit)
    assert offer is not None and offer.from_template
    assert offer.source == "template “Lateral elbow, usual”"
    assert len(offer.areas) == 2
    visit_templates.retire(session=session, actor=who, template_id=template.external_id)
    assert follow_up.offer(session, visit) is None


def test_template_input_is_checked(
    session: Session, who_and_episode: tuple[Actor, Episode]
) -> None:
    who, episode = who_and_episode
    first = _first_visit(session, who, episode)
    for name, prefix, field in (("", "M77", "name"), ("Elbow", "Q99Z", "condition_prefix")):
        with pytest.raises(InvalidInput) as refused:
            visit_templates.save_from_visit(
                session=session,
                actor=who,
                visit_id=first.external_id,
                name=name,
                condition_prefix=prefix,
            )
        assert refused.value.field == field
    other_clinic = actor(make_user(session, make_clinic(session)))
    with pytest.raises(NotFound):
        visit_templates.save_from_visit(
            session=session,
            actor=other_clinic,
            visit_id=first.external_id,
            name="Elbow",
            condition_prefix="M77",
        )


def test_standing_reasoning_is_confirmed_unless_the_precautions_changed(
    session: Session, who_and_episode: tuple[Actor, Episode]
) -> None:
    from strigil.services import screenings

    who, episode = who_and_episode
    assert screenings.standing(session, episode) is None
    _visit(session, who, episode, blood_thinners=True)  # R1 raised with reasoning at a re-check
    standing = screenings.standing(session, episode)
    assert standing is not None and standing.reasoning == REASONING
    assert "R1" in standing.rule_ids
    second = _visit(session, who, episode)  # R1 in force, the same words: carried, and said so
    rows = store.list_screenings_in_force(session, episode.clinic_id, episode.id, second.id)
    recheck = next(r for r in rows if r.visit_id == second.id)
    assert recheck.result.get("reasoning_carried_from") == str(standing.screening_id)
    write_and_sign(session, who, second.external_id)
    changed = recheck_in_force(session, episode) | {"R11": Answer(True)}
    with pytest.raises(InvalidInput) as refused:
        visits.start(
            session=session,
            actor=who,
            episode_id=episode.external_id,
            data=visits.VisitStart(
                tolerance_limit=6, recheck=changed, reasoning=REASONING, dose_modification=DOSE
            ),
        )
    assert refused.value.code == "reasoning_outdated"
    assert refused.value.field == "reasoning" and "R11" in refused.value.detail
