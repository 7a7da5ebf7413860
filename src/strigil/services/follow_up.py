"""Copy forward: a follow-up visit starts from what the last visit did.

Why: most follow-up visits repeat the last one with small changes, and retyping every area,
exercise and test invites both fatigue and slips. The last visit of the episode (or, at a
first visit, the clinic's template for the diagnosis) is offered item by item; each item the
therapist takes goes through the same services, and so the same safety rules, as one entered
by hand. Nothing is copied that did not happen today: an area starts at 0:00 with last time's
duration as its plan, and a test is recorded only with today's value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from strigil.core import catalog
from strigil.errors import InvalidInput
from strigil.services import measurements, treatment, visit_templates
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import get_owned
from strigil.store import visits as store
from strigil.store.visits import ExercisePrescription, TreatedArea, Visit, VisitMeasurement


@dataclass(frozen=True, slots=True)
class CarriedArea:
    key: str
    body_site: str
    side: str
    instrument_type: str
    intensity: str
    strokes: tuple[str, ...] = ()
    angle_deg: int | None = None
    planned_seconds: int | None = None
    last_outcome: str | None = None  # how the area ended last time, so nothing is repeated blind

    @property
    def site_label(self) -> str:
        return catalog.body_site(self.body_site).label


@dataclass(frozen=True, slots=True)
class CarriedTest:
    key: str
    kind: str
    name: str
    side: str = "na"
    joint: str = ""
    motion: str = ""
    unit: str = ""


@dataclass(frozen=True, slots=True)
class Offer:
    """What can still be taken from the source into today's visit."""

    source: str  # "visit 3 (2026-11-28)" or "template “Lateral elbow”"
    from_template: bool
    areas: tuple[CarriedArea, ...] = ()
    exercises: tuple[treatment.Prescription, ...] = ()
    tests: tuple[CarriedTest, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.areas or self.exercises or self.tests)


def offer(session: Session, visit: Visit) -> Offer | None:
    """The last visit's items (or the matching template's) not yet taken today; None when
    there is nothing to offer or the visit is signed."""
    if visit.status == "signed":
        return None
    full = _source(session, visit)
    if full is None:
        return None
    today = _today(session, visit)
    areas = tuple(a for a in full.areas if (a.body_site, a.side) not in today["areas"])
    exercises = tuple(e for e in full.exercises if e.exercise_code not in today["exercises"])
    tests = tuple(t for t in full.tests if _test_key(t) not in today["tests"])
    return Offer(full.source, full.from_template, areas, exercises, tests)


def _source(session: Session, visit: Visit) -> Offer | None:
    previous = store.find_previous_visit(session, visit.clinic_id, visit.episode_id, visit.number)
    if previous is not None:
        return _from_visit(session, previous)
    template = visit_templates.matching(session, visit.clinic_id, visit.episode.condition_code)
    if template is None:
        return None
    return Offer(
        f"template “{template.name}”",
        True,
        tuple(_area_of(str(i), a) for i, a in enumerate(template.areas)),
        tuple(_prescription_of(e) for e in template.exercises),
        tuple(_test_of(str(i), t) for i, t in enumerate(template.tests)),
    )


def _from_visit(session: Session, previous: Visit) -> Offer:
    areas = store.list_areas(session, previous.clinic_id, previous.id)
    return Offer(
        f"visit {previous.number} ({previous.started_at:%Y-%m-%d})",
        False,
        tuple(
            _area_of(
                str(i),
                visit_templates.area_json(a),
                a.stop_reason if a.status == "stopped" else None,
            )
            for i, a in enumerate(areas)
        ),
        tuple(
            _prescription_of(visit_templates.prescription_json(p))
            for p in store.list_prescriptions(session, previous.clinic_id, previous.id)
        ),
        tuple(
            _test_of(str(i), visit_templates.test_json(m))
            for i, m in enumerate(store.list_measurements(session, previous.clinic_id, previous.id))
        ),
    )


def _today(session: Session, visit: Visit) -> dict[str, set[Any]]:
    return {
        "areas": {
            (a.body_site, a.side) for a in store.list_areas(session, visit.clinic_id, visit.id)
        },
        "exercises": {
            p.exercise_code for p in store.list_prescriptions(session, visit.clinic_id, visit.id)
        },
        "tests": {
            _test_key(_test_of("", visit_templates.test_json(m)))
            for m in store.list_measurements(session, visit.clinic_id, visit.id)
        },
    }


def _test_key(test: CarriedTest) -> tuple[str, str, str, str, str]:
    return (test.kind, test.name, test.side, test.joint, test.motion)


# ------------------------------------------------------------------------------ taking items


def start_areas(
    *, session: Session, actor: Actor, visit_id: object, keys: Sequence[str]
) -> list[TreatedArea]:
    """Start the chosen carried areas, in their original order, through every safety check.

    All or nothing: the caller runs this in a savepoint, and the first refusal names the area.

    Raises:
        InvalidInput: nothing chosen, an unknown key, or an area the rules refuse today
            (the message names the site and side, the code is the rule's).
    """
    require(actor, Permission.TREAT)
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    chosen = _chosen_areas(session, visit, keys)
    started = []
    for area in chosen:
        try:
            started.append(treatment.add_area(
                session=session, actor=actor, visit_id=visit.external_id, data=_input(area)
            ))  # fmt: skip
        except InvalidInput as refusal:
            where = f"{area.site_label} ({area.side})"
            raise InvalidInput(
                f"{where}: {refusal.detail}", field="areas", code=refusal.code
            ) from refusal
    return started


def _chosen_areas(session: Session, visit: Visit, keys: Sequence[str]) -> list[CarriedArea]:
    offered = offer(session, visit)
    available = {a.key: a for a in (offered.areas if offered else ())}
    if not keys:
        raise InvalidInput("choose at least one area to start", field="areas", code="required")
    unknown = [k for k in keys if k not in available]
    if unknown:
        raise InvalidInput(
            "an area chosen is no longer offered (already started, or the page is out of date)",
            field="areas",
            code="not_offered",
        )
    return [a for a in available.values() if a.key in set(keys)]


def _input(area: CarriedArea) -> treatment.AreaInput:
    return treatment.AreaInput(
        body_site=area.body_site,
        side=area.side,
        instrument_type=area.instrument_type,
        intensity=area.intensity,
        strokes=area.strokes,
        angle_deg=area.angle_deg,
        planned_seconds=area.planned_seconds,
    )


def prescribe_programme(
    *, session: Session, actor: Actor, visit_id: object
) -> list[ExercisePrescription]:
    """Prescribe the offered home programme again, dose for dose."""
    require(actor, Permission.TREAT)
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    offered = offer(session, visit)
    if offered is None or not offered.exercises:
        raise InvalidInput("no home programme to repeat", field="exercises", code="not_offered")
    return [
        treatment.prescribe(session=session, actor=actor, visit_id=visit.external_id, data=e)
        for e in offered.exercises
    ]


def record_tests(
    *, session: Session, actor: Actor, visit_id: object, values: Mapping[str, float | None]
) -> list[VisitMeasurement]:
    """Record today's pre-test values of the offered tests (blank ones are left for later).

    Raises:
        InvalidInput: no value given, or a value the test's rules refuse (named by test).
    """
    require(actor, Permission.RECORD_READINGS)
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    offered = offer(session, visit)
    tests = [t for t in (offered.tests if offered else ()) if values.get(t.key) is not None]
    if not tests:
        raise InvalidInput(
            "type today's value of at least one test", field="tests", code="required"
        )
    out = []
    for test in tests:
        data = measurements.MeasurementInput(
            kind=test.kind, name=test.name, joint=test.joint, motion=test.motion,
            side=test.side, unit=test.unit, pre_value=values[test.key],
        )  # fmt: skip
        try:
            out.append(measurements.add(session=session, actor=actor, visit_id=visit_id, data=data))
        except InvalidInput as refusal:
            raise InvalidInput(
                f"{test.name}: {refusal.detail}", field=f"test-{test.key}", code=refusal.code
            ) from refusal
    return out


def previous_of_episode(session: Session, clinic_id: int, episode_id: int) -> Visit | None:
    """The episode's latest visit (the one a new visit follows)."""
    return store.find_previous_visit(session, clinic_id, episode_id, 1 << 30)


# ------------------------------------------------------------------------------ plain forms


def _area_of(key: str, data: Mapping[str, Any], outcome: str | None = None) -> CarriedArea:
    return CarriedArea(
        key=key,
        body_site=data["body_site"],
        side=data["side"],
        instrument_type=data["instrument_type"],
        intensity=data["intensity"],
        strokes=tuple(data.get("strokes") or ()),
        angle_deg=data.get("angle_deg"),
        planned_seconds=data.get("planned_seconds") or None,
        last_outcome=outcome,
    )


def _prescription_of(data: Mapping[str, Any]) -> treatment.Prescription:
    return treatment.Prescription(
        exercise_code=data["exercise_code"],
        sets=data["sets"],
        repetitions=data.get("repetitions"),
        hold_seconds=data.get("hold_seconds"),
        frequency=data.get("frequency") or "daily",
        notes=data.get("notes"),
    )


def _test_of(key: str, data: Mapping[str, Any]) -> CarriedTest:
    return CarriedTest(
        key=key,
        kind=data["kind"],
        name=data["name"],
        side=data.get("side") or "na",
        joint=data.get("joint") or "",
        motion=data.get("motion") or "",
        unit=data.get("unit") or "",
    )
