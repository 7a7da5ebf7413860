"""Clearances: a named clinician lifts a whole-patient block, such as a treated clot.

The block on the affected limb stays; only the patient-wide stop is lifted, and only with
who cleared, when, and why on record (clinical-domain notes, rule A3).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from strigil.core import catalog
from strigil.errors import InvalidInput
from strigil.services import audit
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import get_owned
from strigil.store import episodes as store
from strigil.store.base import utcnow
from strigil.store.episodes import Episode, ScreeningClearance


def cleared_rules(session: Session, episode: Episode) -> set[str]:
    """Rules whose whole-patient block a clinician has cleared for this episode."""
    return store.cleared_rule_ids(session, episode.clinic_id, episode.id)


def record_clearance(
    *,
    session: Session,
    actor: Actor,
    episode_id: object,
    rule_id: str,
    cleared_by: str,
    cleared_at: datetime,
    note: str,
) -> ScreeningClearance:
    """Record who cleared a whole-patient block (a treated clot), when, and why.

    The limb stays blocked; the patient may be treated elsewhere once cleared.

    Raises:
        InvalidInput: a rule that needs no clearance, a missing name or note, a future time.
    """
    require(actor, Permission.SCREEN)
    episode = get_owned(session, Episode, episode_id, actor, field="episode_id")
    rule = catalog.screening_rule(rule_id)
    if not rule.clearance_required:
        raise InvalidInput(
            f"{rule.id} does not need a clearance", field="rule_id", code="no_clearance_needed"
        )
    for name, value in (("cleared_by", cleared_by), ("note", note)):
        if not (value or "").strip():
            raise InvalidInput(f"record the {name.replace('_', ' ')}", field=name, code="required")
    if cleared_at.tzinfo is None or cleared_at > utcnow():
        raise InvalidInput(
            "the clearance time must carry a time zone and not be in the future",
            field="cleared_at",
            code="invalid_time",
        )
    row = ScreeningClearance(
        clinic_id=actor.clinic_id,
        patient_id=episode.patient_id,
        episode_id=episode.id,
        rule_id=rule.id,
        cleared_by=cleared_by.strip(),
        cleared_at=cleared_at,
        note=note.strip(),
        recorded_by_id=actor.user_id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="create",
        entity_type="screening_clearance",
        entity_id=row.external_id,
        patient_id=episode.patient.external_id,
        detail={"rule": rule.id},
    )
    return row
