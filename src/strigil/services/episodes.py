"""Episodes of care: a condition (ICD-10-CM), where it is, and how progress is measured."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from strigil.core import catalog, icd10, measures
from strigil.errors import InvalidInput
from strigil.services import audit
from strigil.services.actors import Actor, Permission, require
from strigil.services.records import check_version, get_owned
from strigil.store import episodes as store
from strigil.store.base import utcnow
from strigil.store.episodes import APPROACHES as APPROACHES
from strigil.store.episodes import CHRONICITY as CHRONICITY
from strigil.store.episodes import PAYERS as PAYERS
from strigil.store.episodes import POST_SURGICAL_TYPES as POST_SURGICAL_TYPES
from strigil.store.episodes import SIDES as SIDES
from strigil.store.episodes import Episode as Episode
from strigil.store.patients import Patient

EDITABLE = (
    "condition_code",
    "body_region",
    "side",
    "onset_on",
    "chronicity",
    "goals",
    "primary_measure",
    "approach",
    "status",
    "payer",
    "surgery",
    "post_surgical_type",
    "comorbidity_count",
)
MAX_COMORBIDITIES = 30
"""More than this many counted conditions is taken for a typing slip, not a patient."""


@dataclass(frozen=True, slots=True)
class EpisodeInput:
    condition_code: str
    body_region: str
    side: str
    chronicity: str
    primary_measure: str
    goals: str = ""
    onset_on: date | None = None
    approach: str = "iastm"
    status: str = "active"
    started_on: date | None = None
    payer: str | None = None
    surgery: bool | None = None
    post_surgical_type: str | None = None
    comorbidity_count: int | None = None


def _one_of(value: str, allowed: Sequence[str], field: str) -> None:
    if value not in allowed:
        raise InvalidInput(
            f"{field.replace('_', ' ')} must be one of {', '.join(allowed)}",
            field=field,
            code=f"unknown_{field}",
        )


def _validate(data: EpisodeInput) -> icd10.Icd10Code:
    code = icd10.lookup(data.condition_code)
    catalog.body_region(data.body_region)
    _one_of(data.side, SIDES, "side")
    _one_of(data.chronicity, CHRONICITY, "chronicity")
    _one_of(data.approach, APPROACHES, "approach")
    _one_of(data.status, ("active", "discharged"), "status")
    measures.get_measure(data.primary_measure)
    if data.onset_on and data.onset_on > utcnow().date():
        raise InvalidInput(
            "onset cannot be in the future", field="onset_on", code="onset_in_future"
        )
    _validate_risk_factors(data)
    return code


def _validate_risk_factors(data: EpisodeInput) -> None:
    """The optional intake factors of the risk-adjusted outcome model (ADR 0019)."""
    if data.payer is not None:
        _one_of(data.payer, PAYERS, "payer")
    if data.post_surgical_type is not None:
        _one_of(data.post_surgical_type, POST_SURGICAL_TYPES, "post_surgical_type")
        if data.surgery is not True:
            raise InvalidInput(
                "a post-surgical type needs surgery recorded as yes",
                field="post_surgical_type",
                code="type_without_surgery",
            )
    count = data.comorbidity_count
    if count is not None and not 0 <= count <= MAX_COMORBIDITIES:
        raise InvalidInput(
            f"comorbidity count must be a whole number from 0 to {MAX_COMORBIDITIES}",
            field="comorbidity_count",
            code="comorbidity_count_out_of_range",
        )


def condition_group(code: str) -> str | None:
    """The clinic-comparison group of a code: the indication it or its category belongs to."""
    by_code = {i.code.replace(".", ""): i.condition_group for i in catalog.indications()}
    plain = code.replace(".", "")
    for length in range(len(plain), 2, -1):
        if plain[:length] in by_code:
            return by_code[plain[:length]]
    return None


def open_episode(
    *, session: Session, actor: Actor, patient_id: object, data: EpisodeInput
) -> Episode:
    """Open an episode of care for a patient of the actor's clinic.

    Raises:
        InvalidInput: unknown ICD-10-CM code, body region, measure, or a bad choice.
        NotFound: the patient is not in this clinic.
    """
    require(actor, Permission.TREAT)
    patient = get_owned(session, Patient, patient_id, actor, field="patient_id")
    code = _validate(data)
    episode = Episode(
        clinic_id=actor.clinic_id,
        patient_id=patient.id,
        therapist_id=actor.user_id,
        condition_code=code.code,
        condition_title=code.title,
        condition_group=condition_group(code.code),
        body_region=data.body_region,
        side=data.side,
        onset_on=data.onset_on,
        chronicity=data.chronicity,
        goals=data.goals.strip(),
        primary_measure=data.primary_measure,
        approach=data.approach,
        started_on=data.started_on or utcnow().date(),
        payer=data.payer,
        surgery=data.surgery,
        post_surgical_type=data.post_surgical_type,
        comorbidity_count=data.comorbidity_count,
    )
    session.add(episode)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="create",
        entity_type="episode",
        entity_id=episode.external_id,
        patient_id=patient.external_id,
    )
    return episode


def update(
    *, session: Session, actor: Actor, episode_id: object, data: EpisodeInput, version: int | None
) -> Episode:
    """Edit an episode; a stale ``version`` raises Conflict with the current values."""
    require(actor, Permission.TREAT)
    episode = get_owned(session, Episode, episode_id, actor, field="episode_id")
    check_version(episode, version, EDITABLE)
    code = _validate(data)
    episode.condition_code, episode.condition_title = code.code, code.title
    episode.condition_group = condition_group(code.code)
    for name in EDITABLE[1:]:
        setattr(episode, name, getattr(data, name))
    if data.status == "discharged" and episode.ended_on is None:
        episode.ended_on = utcnow().date()
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="update",
        entity_type="episode",
        entity_id=episode.external_id,
        patient_id=episode.patient.external_id,
    )
    return episode


def get(*, session: Session, actor: Actor, episode_id: object) -> Episode:
    """An episode of the actor's clinic, or NotFound."""
    require(actor, Permission.READ_CLINICAL)
    episode = get_owned(session, Episode, episode_id, actor, field="episode_id")
    audit.record(
        session=session,
        actor=actor,
        action="read",
        entity_type="episode",
        entity_id=episode.external_id,
        patient_id=episode.patient.external_id,
    )
    return episode


def list_for_patient(*, session: Session, actor: Actor, patient: Patient) -> Sequence[Episode]:
    """A patient's episodes, newest first (the patient was loaded and audited by the caller)."""
    require(actor, Permission.READ_CLINICAL)
    return store.list_for_patient(session, actor.clinic_id, patient.id)
