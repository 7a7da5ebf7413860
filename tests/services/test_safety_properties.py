"""Random sequences of visit actions through the services never break the safety rules.

Whatever a therapist tries, in whatever order: no area is started on a site and side closed
earlier in the visit, none in a blocked limb, none above a precaution's cap, and nothing more
is recorded on an area once it has stopped.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_episode, make_patient, make_user
from tests.flow import all_clear, recheck_in_force

from strigil.core import catalog, safety
from strigil.core.protocol import Intensity
from strigil.errors import StrigilError
from strigil.services import clearances, consents, screenings, treatment, visits
from strigil.services.actors import Actor
from strigil.store.base import utcnow
from strigil.store.visits import DiscomfortReading, SkinResponse, TreatedArea, Visit

SITES = (
    "lateral_elbow",
    "lateral_elbow",
    "forearm_extensors",
    "calf",
    "anterior_thigh",
    "suboccipital",
)
CAP = (Intensity.GENTLE, 60)  # R1, anticoagulant
LIMIT = 6

add = st.tuples(
    st.just("add"),
    st.sampled_from(SITES),
    st.sampled_from(("right", "right", "left", "bilateral", "midline")),
    st.sampled_from(("gentle", "gentle", "gentle", "moderate", "vigorous")),
    st.integers(0, 75),
    st.booleans(),
)
read = st.tuples(st.just("read"), st.integers(0, 2), st.integers(0, 10), st.booleans())
skin = st.tuples(
    st.just("skin"),
    st.integers(0, 2),
    st.sampled_from(("none", "erythema", "petechiae", "ecchymosis")),
)
stop = st.tuples(st.just("stop"), st.integers(0, 2), st.sampled_from(("completed", "time_limit")))
dose = st.tuples(
    st.just("dose"), st.integers(0, 2), st.integers(0, 120), st.sampled_from(("gentle", "moderate"))
)
actions = st.lists(st.one_of(add, add, read, skin, stop, dose), min_size=2, max_size=16)


def _setup(session: Session) -> tuple[Actor, Visit]:
    user = make_user(session, make_clinic(session))
    who = actor(user)
    episode = make_episode(session, user, make_patient(session, user))  # right lateral elbow
    screenings.screen(
        session=session,
        actor=who,
        episode_id=episode.external_id,
        answers=all_clear(A3=("lower_leg_ankle:left",)),
        drug_classes=("anticoagulant",),
        reasoning="Anticoagulated; clot in the left calf.",
        dose_modification="Gentle, one minute per area.",
    )
    clearances.record_clearance(
        session=session,
        actor=who,
        episode_id=episode.external_id,
        rule_id="A3",
        cleared_by="Dr. Synthetic",
        cleared_at=utcnow() - timedelta(hours=1),
        note="Cleared away from the clot.",
    )
    consents.record(session=session, actor=who, episode_id=episode.external_id, decision="granted")
    visit = visits.start(
        session=session,
        actor=who,
        episode_id=episode.external_id,
        data=visits.VisitStart(
            tolerance_limit=LIMIT,
            recheck=recheck_in_force(session, episode),
            reasoning="Anticoagulated; clot in the left calf.",
            dose_modification="Gentle, one minute per area.",
        ),
    )
    return who, visit


def _run(session: Session, who: Actor, visit: Visit, action: tuple[Any, ...]) -> TreatedArea | None:
    """Perform one action; a refused action must leave nothing behind (its savepoint)."""
    areas = list(treatment.areas(session, visit))
    kind = action[0]
    if kind != "add" and action[1] >= len(areas):
        return None
    savepoint = session.begin_nested()
    try:
        made = _do(session, who, visit, action, areas)
    except StrigilError:
        savepoint.rollback()
        return None
    savepoint.commit()
    return made


def _do(
    session: Session, who: Actor, visit: Visit, action: tuple[Any, ...], areas: list[TreatedArea]
) -> TreatedArea | None:
    kind, *args = action
    if kind == "add":
        site, side, intensity, seconds, confirm = args
        data = treatment.AreaInput(
            site, side, "stainless_steel", intensity, seconds=seconds, confirm_other_side=confirm
        )
        return treatment.add_area(session=session, actor=who, visit_id=visit.external_id, data=data)
    area = areas[args[0]].external_id
    if kind == "read":
        treatment.record_reading(
            session=session,
            actor=who,
            treated_area_id=area,
            value=args[1],
            patient_asked_to_stop=args[2],
        )
    elif kind == "skin":
        treatment.grade_skin(session=session, actor=who, treated_area_id=area, grade=args[1])
    elif kind == "stop":
        treatment.stop_area(session=session, actor=who, treated_area_id=area, reason=args[1])
    else:
        treatment.update_dose(
            session=session,
            actor=who,
            treated_area_id=area,
            seconds=args[1],
            intensity=args[2],
            version=None,
        )
    return None


def _closed(session: Session, visit: Visit, before: int) -> list[tuple[str, str]]:
    """Sites and sides closed by areas other than the newest, read straight from the rows."""
    out = []
    for area in session.scalars(select(TreatedArea).where(TreatedArea.visit_id == visit.id)):
        if area.id == before:
            continue
        grades = session.scalars(
            select(SkinResponse.grade).where(SkinResponse.treated_area_id == area.id)
        ).all()
        values = session.scalars(
            select(DiscomfortReading).where(DiscomfortReading.treated_area_id == area.id)
        ).all()
        if (
            area.stop_reason
            in ("tolerance_reached", "patient_request", "petechiae", "adverse_sign")
            or any(g in ("petechiae", "ecchymosis") for g in grades)
            or any(r.value >= LIMIT or r.patient_asked_to_stop for r in values)
        ):
            out.append((area.body_site, area.side))
    return out


def _snapshot(session: Session, area: TreatedArea) -> tuple[object, ...]:
    readings = session.scalars(
        select(DiscomfortReading.id).where(DiscomfortReading.treated_area_id == area.id)
    ).all()
    return (area.seconds, area.intensity, area.stop_reason, len(readings))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=actions)
def test_no_action_sequence_breaks_the_safety_rules(session: Session, steps: list[Any]) -> None:
    outer = session.begin_nested()
    try:
        who, visit = _setup(session)
        frozen: dict[int, tuple[object, ...]] = {}
        for action in steps:
            made = _run(session, who, visit, action)
            if made is not None:
                _check_new_area(session, visit, made)
            for area in treatment.areas(session, visit):
                _check_stop_holds(session, area, frozen)
    finally:
        outer.rollback()


def _check_new_area(session: Session, visit: Visit, area: TreatedArea) -> None:
    site = catalog.body_site(area.body_site)
    region = catalog.body_region(site.region)
    assert not (region.limb == "lower_limb" and area.side in ("left", "bilateral")), area.body_site
    assert not Intensity(area.intensity) > CAP[0] and area.seconds <= CAP[1]
    for closed_site, closed_side in _closed(session, visit, area.id):
        assert not (
            closed_site == area.body_site and safety.sides_overlap(closed_side, area.side)
        ), (area.body_site, area.side)


def _check_stop_holds(
    session: Session, area: TreatedArea, frozen: dict[int, tuple[object, ...]]
) -> None:
    assert not Intensity(area.intensity) > CAP[0] and area.seconds <= CAP[1]
    readings = session.scalars(
        select(DiscomfortReading).where(DiscomfortReading.treated_area_id == area.id)
    ).all()
    if any(r.value >= LIMIT or r.patient_asked_to_stop for r in readings):
        assert area.status == "stopped"
    if area.status == "stopped":
        now = _snapshot(session, area)
        assert frozen.setdefault(area.id, now) == now, "something was recorded after a stop"
