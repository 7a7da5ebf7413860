"""Pre- and post-tests as data: what was measured before treatment and again after it.

Kinds (S21 "IASTM with pre/post test"; clinical-domain §3.1 phase 1 and 6): goniometric range
of motion (joint, motion, side, degrees), pressure pain threshold (kPa), pain on a named
provocative movement (0–10), or another named test with its value and unit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from strigil.errors import InvalidInput
from strigil.services import audit
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import editable, get_owned
from strigil.store import visits as store
from strigil.store.visits import MEASUREMENT_KINDS, Visit, VisitMeasurement

SIDES = ("left", "right", "bilateral", "na")
# kind → (unit, higher is better, lowest, highest)
_KIND_RULES: dict[str, tuple[str, bool | None, float, float]] = {
    "rom": ("°", True, -30.0, 360.0),
    "ppt": ("kPa", True, 0.0, 2000.0),
    "provocation": ("/10", False, 0.0, 10.0),
}


@dataclass(frozen=True, slots=True)
class MeasurementInput:
    kind: str
    name: str = ""
    joint: str = ""
    motion: str = ""
    side: str = "na"
    unit: str = ""
    pre_value: float | None = None
    post_value: float | None = None
    higher_is_better: bool | None = None


def _name(data: MeasurementInput) -> str:
    if data.kind == "rom":
        if not data.joint.strip() or not data.motion.strip():
            raise InvalidInput(
                "range of motion needs the joint and the motion",
                field="joint" if not data.joint.strip() else "motion",
                code="required",
            )
        return data.name.strip() or "Range of motion"
    if data.kind == "ppt":
        return data.name.strip() or "Pressure pain threshold"
    if not data.name.strip():
        field_hint = "the provocative movement" if data.kind == "provocation" else "the test"
        raise InvalidInput(f"name {field_hint}", field="name", code="required")
    return data.name.strip()


def _value(value: float | None, kind: str, field: str) -> float | None:
    if value is None:
        return None
    if kind in _KIND_RULES:
        _, _, low, high = _KIND_RULES[kind]
        if not low <= value <= high:
            raise InvalidInput(
                f"{field.replace('_', ' ')} must be from {low:g} to {high:g}",
                field=field,
                code="out_of_range",
            )
    return value


def _check(data: MeasurementInput) -> tuple[str, str, bool | None]:
    if data.kind not in MEASUREMENT_KINDS:
        raise InvalidInput(
            f"kind must be one of {', '.join(MEASUREMENT_KINDS)}", field="kind", code="unknown_kind"
        )
    if data.side not in SIDES:
        raise InvalidInput(f"side must be one of {', '.join(SIDES)}", field="side", code="side")
    if data.pre_value is None and data.post_value is None:
        raise InvalidInput("give the pre-test value", field="pre_value", code="required")
    unit, better, _, _ = _KIND_RULES.get(
        data.kind, (data.unit.strip(), data.higher_is_better, 0, 0)
    )
    if not unit:
        raise InvalidInput("give the unit of the test", field="unit", code="required")
    return _name(data), unit, better


def add(
    *, session: Session, actor: Actor, visit_id: object, data: MeasurementInput
) -> VisitMeasurement:
    """Record a pre-test (and the post-test when already known).

    Raises:
        InvalidInput: unknown kind, missing joint/motion/name/unit, value out of range.
        Conflict: the note is signed.
    """
    require(actor, Permission.RECORD_READINGS)
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    editable(visit)
    name, unit, better = _check(data)
    row = VisitMeasurement(
        clinic_id=actor.clinic_id,
        visit_id=visit.id,
        recorded_by_id=actor.user_id,
        kind=data.kind,
        name=name,
        joint=data.joint.strip() or None,
        motion=data.motion.strip() or None,
        side=data.side,
        unit=unit,
        higher_is_better=better,
        pre_value=_value(data.pre_value, data.kind, "pre_value"),
        post_value=_value(data.post_value, data.kind, "post_value"),
    )
    session.add(row)
    session.flush()
    _audit(session, actor, visit, row, "create")
    return row


def record_post(
    *, session: Session, actor: Actor, measurement_id: object, value: float
) -> VisitMeasurement:
    """Record (or correct) the post-test value of a measurement before the note is signed."""
    require(actor, Permission.RECORD_READINGS)
    row = get_owned(session, VisitMeasurement, measurement_id, actor, field="measurement_id")
    visit = store.get_visit(session, actor.clinic_id, row.visit_id)
    editable(visit)
    row.post_value = _value(value, row.kind, "post_value")
    session.flush()
    _audit(session, actor, visit, row, "update")
    return row


def _audit(
    session: Session, actor: Actor, visit: Visit, row: VisitMeasurement, action: str
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action=action,
        entity_type="visit_measurement",
        entity_id=row.external_id,
        patient_id=visit.episode.patient.external_id,
        detail={"visit": str(visit.external_id)},
    )
