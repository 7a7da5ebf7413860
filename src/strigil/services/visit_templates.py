"""Visit templates: a clinic's usual plan for a diagnosis, offered at a first visit.

A template is saved from a visit that went as the clinic usually treats the condition (its
areas, home programme and pre/post tests), named, and tied to an ICD-10-CM code prefix. It is
renamed or re-pointed by a therapist or an admin, and retired rather than deleted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from strigil.core import icd10
from strigil.errors import InvalidInput
from strigil.services import audit
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import check_version, get_owned
from strigil.store import visit_templates as store
from strigil.store import visits as visit_store
from strigil.store.base import utcnow
from strigil.store.visit_templates import VisitTemplate
from strigil.store.visits import ExercisePrescription, TreatedArea, Visit, VisitMeasurement

FIELDS = ("name", "condition_prefix")
ITEMS = ("areas", "exercises", "tests")


def list_templates(
    *, session: Session, actor: Actor, include_retired: bool = False
) -> Sequence[VisitTemplate]:
    """The clinic's templates (retired ones on request)."""
    require(actor, Permission.READ_CLINICAL)
    return store.list_templates(session, actor.clinic_id, include_retired=include_retired)


def matching(session: Session, clinic_id: int, condition_code: str) -> VisitTemplate | None:
    """The live template whose code prefix matches the diagnosis most closely."""
    code = icd10.normalize(condition_code)
    fits = [
        t
        for t in store.list_templates(session, clinic_id)
        if code.startswith(icd10.normalize(t.condition_prefix))
    ]
    return max(fits, key=lambda t: len(icd10.normalize(t.condition_prefix)), default=None)


def save_from_visit(
    *, session: Session, actor: Actor, visit_id: object, name: str, condition_prefix: str
) -> VisitTemplate:
    """Keep a visit's areas, home programme and tests as the clinic's template.

    Raises:
        InvalidInput: no name, a code prefix that is not the start of an ICD-10-CM code, or a
            visit with nothing to repeat.
    """
    require(actor, Permission.TREAT)
    visit = get_owned(session, Visit, visit_id, actor, field="visit_id")
    areas = visit_store.list_areas(session, visit.clinic_id, visit.id)
    exercises = visit_store.list_prescriptions(session, visit.clinic_id, visit.id)
    tests = visit_store.list_measurements(session, visit.clinic_id, visit.id)
    if not (areas or exercises or tests):
        raise InvalidInput(
            "this visit has no areas, exercises or tests to keep", field="visit_id", code="empty"
        )
    row = VisitTemplate(
        clinic_id=actor.clinic_id,
        name=_name(name),
        condition_prefix=_prefix(condition_prefix),
        areas=[area_json(a) for a in areas],
        exercises=[prescription_json(p) for p in exercises],
        tests=[test_json(m) for m in tests],
        created_by_id=actor.user_id,
    )
    session.add(row)
    session.flush()
    detail = {"from_visit": str(visit.external_id)}
    _audit(session, actor, row, "create", detail, patient_id=visit.episode.patient.external_id)
    return row


def update(
    *,
    session: Session,
    actor: Actor,
    template_id: object,
    name: str,
    condition_prefix: str,
    version: int | None,
) -> VisitTemplate:
    """Rename a template or point it at another code prefix."""
    require(actor, Permission.TREAT)
    row = get_owned(session, VisitTemplate, template_id, actor, field="template_id")
    if version is None:
        raise InvalidInput("send the version you read", field="version", code="required")
    check_version(row, version, FIELDS)
    row.name, row.condition_prefix = _name(name), _prefix(condition_prefix)
    session.flush()
    _audit(session, actor, row, "update", {"name": row.name, "prefix": row.condition_prefix})
    return row


def remove_items(
    *,
    session: Session,
    actor: Actor,
    template_id: object,
    remove: Mapping[str, Sequence[int]],
    version: int | None,
) -> VisitTemplate:
    """Take items out of a template (``remove`` maps areas / exercises / tests to positions);
    items are added by saving a template from a visit that has them.

    Raises:
        InvalidInput: an unknown list or position, or nothing left (retire it instead).
        Conflict: the template changed since it was read.
    """
    require(actor, Permission.TREAT)
    row = get_owned(session, VisitTemplate, template_id, actor, field="template_id")
    if version is None:
        raise InvalidInput("send the version you read", field="version", code="required")
    check_version(row, version, FIELDS)
    kept = {name: _without(name, list(getattr(row, name)), remove.get(name, ())) for name in ITEMS}
    if not any(kept.values()):
        raise InvalidInput(
            "a template needs at least one item; retire it instead",
            field="remove",
            code="empty",
        )
    row.areas, row.exercises, row.tests = kept["areas"], kept["exercises"], kept["tests"]
    session.flush()
    taken = {name: ",".join(str(i) for i in sorted(remove.get(name, ()))) for name in ITEMS}
    _audit(session, actor, row, "update", {"removed_" + k: v for k, v in taken.items() if v})
    return row


def _without(name: str, items: list[dict[str, Any]], positions: Sequence[int]) -> list[Any]:
    wrong = [p for p in positions if not 0 <= p < len(items)]
    if wrong:
        raise InvalidInput(
            f"{name} has no item {wrong[0]}", field=f"remove.{name}", code="unknown_item"
        )
    return [item for i, item in enumerate(items) if i not in set(positions)]


def retire(*, session: Session, actor: Actor, template_id: object) -> VisitTemplate:
    """Stop offering a template; it stays on record."""
    require(actor, Permission.TREAT)
    row = get_owned(session, VisitTemplate, template_id, actor, field="template_id")
    if row.retired_at is None:
        row.retired_at = utcnow()
        session.flush()
        _audit(session, actor, row, "retire", {})
    return row


def area_json(area: TreatedArea) -> dict[str, Any]:
    """The parts of a treated area that a later visit or a template repeats."""
    return {
        "body_site": area.body_site,
        "side": area.side,
        "instrument_type": area.instrument_type,
        "intensity": area.intensity,
        "strokes": list(area.strokes),
        "angle_deg": area.angle_deg,
        "planned_seconds": area.seconds or area.planned_seconds,
    }


def prescription_json(row: ExercisePrescription) -> dict[str, Any]:
    return {
        "exercise_code": row.exercise_code,
        "sets": row.sets,
        "repetitions": row.repetitions,
        "hold_seconds": row.hold_seconds,
        "frequency": row.frequency,
        "notes": row.notes,
    }


def test_json(row: VisitMeasurement) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "name": row.name,
        "side": row.side or "na",
        "joint": row.joint or "",
        "motion": row.motion or "",
        "unit": row.unit,
    }


def _name(name: str) -> str:
    clean = " ".join(name.split())
    if not clean:
        raise InvalidInput("name the template", field="name", code="required")
    if len(clean) > 120:
        raise InvalidInput("a template name has at most 120 characters", field="name", code="long")
    return clean


def _prefix(prefix: str) -> str:
    code = icd10.normalize(prefix)
    if not (code and icd10.is_code_query(code) and icd10.search(code, limit=1)):
        raise InvalidInput(
            "the condition code must be the start of an ICD-10-CM code (e.g. M77.1)",
            field="condition_prefix",
            code="unknown_code",
        )
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def _audit(
    session: Session,
    actor: Actor,
    row: VisitTemplate,
    action: str,
    detail: dict[str, str],
    patient_id: object | None = None,
) -> None:
    """Templates hold no patient data; saving one reads a visit, so that names its patient."""
    audit.record(
        session=session,
        actor=actor,
        action=action,
        entity_type="visit_template",
        entity_id=row.external_id,
        patient_id=patient_id,
        detail=detail,
    )
