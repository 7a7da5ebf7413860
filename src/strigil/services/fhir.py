"""A patient's record as FHIR R4 resources (plain JSON dicts), built from the stored rows.

Why plain dicts: a bulk export writes about a hundred resources per patient, and building
each through the ``fhir.resources`` models would cost more than the rest of the export; the
tests validate every resource of the demo clinic with those models, the import validates
everything it reads with them, and ``validate`` checks one resource on demand.

Only what is recorded is written: no empty elements, nothing entered in error. Codes come
from :mod:`strigil.core.fhir_codes`; fields FHIR has no element for travel as Strigil
extensions, so the import can rebuild the same rows.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from strigil.core import fhir_codes as codes
from strigil.core.measures import get_measure
from strigil.errors import InvalidInput
from strigil.store.adverse_events import AdverseEvent
from strigil.store.clinics import Clinic, Instrument, User
from strigil.store.episodes import Consent, Episode
from strigil.store.fhir import RecordRows
from strigil.store.outcomes import OutcomeMeasurement
from strigil.store.patients import Patient
from strigil.store.visits import (
    DiscomfortReading,
    ExercisePrescription,
    RestrictionFinding,
    SkinResponse,
    TreatedArea,
    Visit,
    VisitMeasurement,
)

Resource = dict[str, Any]
NotePdf = Callable[[Visit], bytes | None]

RESOURCE_TYPES = (
    "Organization",
    "Practitioner",
    "Device",
    "Patient",
    "Condition",
    "Consent",
    "Encounter",
    "Procedure",
    "Observation",
    "QuestionnaireResponse",
    "CarePlan",
    "AdverseEvent",
    "DocumentReference",
)
"""Every type the export writes, in the order the import reads them."""

NOTE_FIELDS = ("subjective", "objective", "assessment", "plan")
SIGNER_FIELDS = (
    "signer_name",
    "signer_credentials",
    "signer_licence",
    "signer_role",
    "cosign_required",
    "cosigner_name",
    "cosigner_credentials",
)


def derived_id(key: uuid.UUID, kind: str) -> str:
    """The id of a resource derived from a row that already names another resource (a visit's
    CarePlan and note, an outcome's QuestionnaireResponse): stable, and unique in a Bundle."""
    return str(uuid.uuid5(key, kind))


@lru_cache(maxsize=65_536)
def _text(key: uuid.UUID) -> str:
    """A public id as text; cached because a patient's id is written into every reference."""
    return str(key)


def ref(kind: str, key: uuid.UUID | str) -> dict[str, str]:
    return {"reference": f"{kind}/{_text(key) if isinstance(key, uuid.UUID) else key}"}


def when(value: datetime | date) -> str:
    return value.isoformat()


def ext(name: str, **value: Any) -> dict[str, Any]:
    """One Strigil extension: ``ext("tolerance-limit", valueInteger=6)``."""
    return {"url": codes.extension_url(name), **value}


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def concept(system: str, code: str, text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [coding(system, code)]}
    if text:
        out["text"] = text
    return out


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _site(system: str, code: str, side: str | None) -> dict[str, Any]:
    """A body site or region with its side: SNOMED laterality where one exists, and Strigil's
    side code always (midline and not-applicable have no SNOMED qualifier)."""
    out: dict[str, Any] = {"coding": [coding(system, code)]}
    extensions = []
    if side in codes.LATERALITY:
        lat = concept(codes.SNOMED, codes.LATERALITY[side])
        extensions.append({"url": codes.LATERALITY_EXTENSION, "valueCodeableConcept": lat})
    if side:
        extensions.append(ext("side", valueCode=side))
    if extensions:
        out["extension"] = extensions
    return out


@dataclass
class Context:
    """What every resource of one clinic's export points to."""

    clinic: Clinic
    users: Mapping[int, User]
    instruments: Mapping[int, Instrument]
    note_pdf: NotePdf | None = None
    used_users: set[int] = field(default_factory=set)
    used_instruments: set[int] = field(default_factory=set)
    patient_keys: dict[int, uuid.UUID] = field(default_factory=dict)
    episode_keys: dict[int, uuid.UUID] = field(default_factory=dict)

    def patient(self, patient_id: int) -> dict[str, str]:
        return ref("Patient", self.patient_keys[patient_id])

    def practitioner(self, user_id: int | None) -> dict[str, str] | None:
        if user_id is None or user_id not in self.users:
            return None
        self.used_users.add(user_id)
        return ref("Practitioner", self.users[user_id].external_id)

    @property
    def organization(self) -> dict[str, str]:
        return ref("Organization", self.clinic.external_id)


def _clean(resource: Resource) -> Resource:
    """Drop empty elements: FHIR forbids empty strings, lists and objects."""
    return {k: v for k, v in resource.items() if v not in (None, "", [], {})}


# ------------------------------------------------------------------ who and where


def organization(clinic: Clinic) -> Resource:
    return _clean(
        {
            "resourceType": "Organization",
            "id": str(clinic.external_id),
            "name": clinic.name,
            "address": [{"text": clinic.address}] if clinic.address else None,
            "telecom": [{"system": "phone", "value": clinic.phone}] if clinic.phone else None,
        }
    )


def practitioner(user: User) -> Resource:
    qualification: dict[str, Any] = {}
    if user.credentials:
        qualification["code"] = {
            "coding": [coding(codes.CREDENTIAL_SYSTEM, user.credentials)],
            "text": user.credentials,
        }
    if user.licence_number:
        qualification["identifier"] = [
            {"system": codes.LICENCE_SYSTEM, "value": user.licence_number}
        ]
        qualification.setdefault("code", {"text": "licence"})
    return _clean(
        {
            "resourceType": "Practitioner",
            "id": str(user.external_id),
            "extension": [ext("role", valueCode=user.role)],
            "name": [{"text": user.display_name}],
            "qualification": [qualification] if qualification else None,
        }
    )


def device(instrument: Instrument, ctx: Context) -> Resource:
    return _clean(
        {
            "resourceType": "Device",
            "id": str(instrument.external_id),
            "status": "inactive" if instrument.retired_at else "active",
            "deviceName": [{"name": instrument.label, "type": "user-friendly-name"}],
            "type": concept(codes.INSTRUMENT_SYSTEM, instrument.type_code, instrument.family),
            "owner": ctx.organization,
        }
    )


def patient(row: Patient, ctx: Context) -> Resource:
    telecom = [{"system": "phone", "value": row.phone}] if row.phone else []
    telecom += [{"system": "email", "value": row.email}] if row.email else []
    return _clean(
        {
            "resourceType": "Patient",
            "id": str(row.external_id),
            "identifier": [{"system": codes.RECORD_NUMBER_SYSTEM, "value": row.record_number}],
            "name": [{"family": row.family_name, "given": [row.given_name]}],
            "telecom": telecom,
            "gender": row.sex,
            "birthDate": when(row.birth_date),
            "managingOrganization": ctx.organization,
        }
    )


# ------------------------------------------------------------------ the episode


def condition(row: Episode, ctx: Context) -> Resource:
    extensions = [
        ext("chronicity", valueCode=row.chronicity),
        ext("primary-measure", valueCode=row.primary_measure),
        ext("approach", valueCode=row.approach),
    ]
    if row.condition_group:
        extensions.append(ext("condition-group", valueCode=row.condition_group))
    status = "active" if row.status == "active" else "resolved"
    return _clean(
        {
            "resourceType": "Condition",
            "id": str(row.external_id),
            "extension": extensions,
            "clinicalStatus": concept(codes.CONDITION_CLINICAL, status),
            "category": [concept(codes.CONDITION_CATEGORY, "problem-list-item")],
            "code": {
                "coding": [coding(codes.ICD10CM, row.condition_code, row.condition_title)],
                "text": row.condition_title,
            },
            "bodySite": [_site(codes.BODY_REGION_SYSTEM, row.body_region, row.side)],
            "subject": ctx.patient(row.patient_id),
            "onsetDateTime": when(row.onset_on) if row.onset_on else None,
            "abatementDateTime": when(row.ended_on) if row.ended_on else None,
            "recordedDate": when(row.started_on),
            "asserter": ctx.practitioner(row.therapist_id),
            "note": [{"text": row.goals}] if row.goals else None,
        }
    )


def consent(row: Consent, patient_key: uuid.UUID, episode_key: uuid.UUID, ctx: Context) -> Resource:
    text = row.text.encode("utf-8")
    extensions = [
        ext("decision", valueCode=row.decision),
        ext("text-version", valueString=row.text_version),
        ext("text-sha256", valueString=row.text_sha256),
        ext("sequence", valueInteger=row.sequence),
        ext("episode", valueReference=ref("Condition", episode_key)),
        ext("recorded-by", valueReference=ctx.practitioner(row.recorded_by_id)),
    ]
    if row.withdrawn_at:
        extensions.append(ext("withdrawn-at", valueDateTime=when(row.withdrawn_at)))
    if row.guardian_name:
        extensions.append(ext("guardian-name", valueString=row.guardian_name))
    if row.guardian_relationship:
        extensions.append(ext("guardian-relationship", valueString=row.guardian_relationship))
    active = row.decision == "granted" and row.withdrawn_at is None
    return _clean(
        {
            "resourceType": "Consent",
            "id": str(row.external_id),
            "extension": [e for e in extensions if e.get("valueReference", True)],
            "status": "active" if active else "inactive",
            "scope": concept(codes.CONSENT_SCOPE, "treatment"),
            "category": [concept(codes.system("consent-category"), "iastm-treatment")],
            "patient": ref("Patient", patient_key),
            "dateTime": when(row.decided_at),
            "organization": [ctx.organization],
            "sourceAttachment": {
                "contentType": "text/plain; charset=utf-8",
                "data": _b64(text),
                "hash": _b64(hashlib.sha1(text, usedforsecurity=False).digest()),
                "title": f"Information and consent for IASTM, version {row.text_version}",
            },
            "policy": [{"uri": codes.system(f"consent-text:{row.text_version}")}],
        }
    )


# ------------------------------------------------------------------ the visit


def encounter(row: Visit, ctx: Context) -> Resource:
    period = {"start": when(row.started_at)}
    if row.ended_at:
        period["end"] = when(row.ended_at)
    therapist = ctx.practitioner(row.therapist_id)
    return _clean(
        {
            "resourceType": "Encounter",
            "id": str(row.external_id),
            "extension": [
                ext("visit-number", valueInteger=row.number),
                ext("tolerance-limit", valueInteger=row.tolerance_limit),
            ],
            "status": "finished" if row.status == "signed" else "in-progress",
            "class": coding(codes.ACT_CODE, "AMB"),
            "subject": ctx.patient(row.patient_id),
            "participant": [{"individual": therapist}] if therapist else None,
            "period": period,
            "reasonReference": [ref("Condition", ctx.episode_keys[row.episode_id])],
            "serviceProvider": ctx.organization,
        }
    )


def _procedure_status(status: str) -> str:
    return {"stopped": "stopped", "active": "in-progress"}.get(status, "completed")


def procedure(row: TreatedArea, visit: Visit, ctx: Context) -> Resource:
    extensions = [
        ext("area-status", valueCode=row.status),
        ext("intensity", valueCode=row.intensity),
    ]
    extensions += [ext("stroke", valueCode=s) for s in row.strokes]
    extensions.append(
        ext(
            "seconds",
            valueDuration={"value": row.seconds, "unit": "s", "system": codes.UCUM, "code": "s"},
        )
    )
    if row.angle_deg is not None:
        extensions.append(ext("angle-degrees", valueInteger=row.angle_deg))
    site = _site(codes.BODY_SITE_SYSTEM, row.body_site, row.side)
    site["coding"].append(coding(codes.BODY_REGION_SYSTEM, row.body_region))
    period = {"start": when(row.created_at)}
    if row.stopped_at:
        period["end"] = when(row.stopped_at)
    reason = None
    if row.stop_reason:
        reason = concept(codes.system("stop-reason"), row.stop_reason, row.stop_note)
    device_ref = None
    if row.instrument_id is not None and row.instrument_id in ctx.instruments:
        ctx.used_instruments.add(row.instrument_id)
        device_ref = [ref("Device", ctx.instruments[row.instrument_id].external_id)]
    therapist = ctx.practitioner(visit.therapist_id)
    return _clean(
        {
            "resourceType": "Procedure",
            "id": str(row.external_id),
            "extension": extensions,
            "status": _procedure_status(row.status),
            "statusReason": reason,
            "code": {
                "coding": [
                    coding(codes.CPT, codes.CPT_MANUAL_THERAPY),
                    coding(codes.PROCEDURE_SYSTEM, codes.IASTM_CODE),
                ],
                "text": "Instrument-assisted soft tissue mobilization",
            },
            "subject": ctx.patient(visit.patient_id),
            "encounter": ref("Encounter", visit.external_id),
            "performedPeriod": period,
            "performer": [{"actor": therapist}] if therapist else None,
            "bodySite": [site],
            "usedReference": device_ref,
            "usedCode": [concept(codes.INSTRUMENT_SYSTEM, row.instrument_type)],
        }
    )


def _observation(
    key: uuid.UUID,
    kind: str,
    category: str,
    visit: Visit,
    at: datetime,
    ctx: Context,
    recorder: int | None,
) -> Resource:
    performer = ctx.practitioner(recorder)
    return {
        "resourceType": "Observation",
        "id": str(key),
        "status": "final",
        "category": [concept(codes.OBSERVATION_CATEGORY, category)],
        "code": {"coding": [coding(codes.OBSERVATION_SYSTEM, kind)]},
        "subject": ctx.patient(visit.patient_id),
        "encounter": ref("Encounter", visit.external_id),
        "effectiveDateTime": when(at),
        "performer": [performer] if performer else None,
    }


def reading(row: DiscomfortReading, area: TreatedArea, visit: Visit, ctx: Context) -> Resource:
    out = _observation(
        row.external_id, codes.READING, "survey", visit, row.created_at, ctx, row.recorded_by_id
    )
    out["code"]["coding"].insert(0, coding(codes.LOINC, codes.NPRS_LOINC))
    out["partOf"] = [ref("Procedure", area.external_id)]
    out["valueInteger"] = row.value
    out["extension"] = [ext("asked-to-stop", valueBoolean=row.patient_asked_to_stop)]
    return _clean(out)


def skin_response(row: SkinResponse, area: TreatedArea, visit: Visit, ctx: Context) -> Resource:
    out = _observation(
        row.external_id, codes.SKIN, "exam", visit, row.created_at, ctx, row.recorded_by_id
    )
    out["partOf"] = [ref("Procedure", area.external_id)]
    out["valueCodeableConcept"] = concept(codes.SKIN_GRADE_SYSTEM, row.grade)
    if row.notes:
        out["note"] = [{"text": row.notes}]
    if row.resolved_at:
        out["extension"] = [ext("resolved-at", valueDateTime=when(row.resolved_at))]
    return _clean(out)


def _component(name: str, **value: Any) -> dict[str, Any]:
    return {"code": concept(codes.OBSERVATION_SYSTEM, name), **value}


def finding(
    row: RestrictionFinding, visit: Visit, areas: Mapping[int, TreatedArea], ctx: Context
) -> Resource:
    out = _observation(
        row.external_id, codes.FINDING, "exam", visit, row.created_at, ctx, row.recorded_by_id
    )
    area = areas.get(row.treated_area_id) if row.treated_area_id is not None else None
    if area is not None:
        out["partOf"] = [ref("Procedure", area.external_id)]
    out["bodySite"] = _site(codes.BODY_SITE_SYSTEM, row.body_site, row.side)
    out["valueInteger"] = row.severity
    out["component"] = [
        _component("texture", valueCodeableConcept=concept(codes.TEXTURE_SYSTEM, row.texture)),
        _component("chart-view", valueString=row.chart_view),
        _component("chart-x", valueQuantity={"value": row.x}),
        _component("chart-y", valueQuantity={"value": row.y}),
    ]
    return _clean(out)


def measurement(row: VisitMeasurement, visit: Visit, ctx: Context) -> Resource:
    out = _observation(
        row.external_id, codes.MEASUREMENT, "exam", visit, row.created_at, ctx, row.recorded_by_id
    )
    out["code"]["text"] = row.name
    unit = {"unit": row.unit}
    out["component"] = [
        _component(name, valueQuantity={"value": value, **unit})
        for name, value in (("pre", row.pre_value), ("post", row.post_value))
        if value is not None
    ]
    extensions = [ext("measurement-kind", valueCode=row.kind), ext("unit", valueString=row.unit)]
    for name in ("joint", "motion", "side"):
        if getattr(row, name):
            extensions.append(ext(name, valueCode=getattr(row, name)))
    if row.higher_is_better is not None:
        extensions.append(ext("higher-is-better", valueBoolean=row.higher_is_better))
    out["extension"] = extensions
    return _clean(out)


# ------------------------------------------------------------------ outcomes


def _answer(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [{"valueString": json.dumps(value)}]
    return [{"valueDecimal": value}]


def questionnaire_response(
    row: OutcomeMeasurement, patient_key: uuid.UUID, visit: Visit | None, ctx: Context
) -> Resource:
    items = [
        _clean({"linkId": str(i + 1), "answer": _answer(a)}) for i, a in enumerate(row.answers)
    ]
    author = ctx.practitioner(row.recorded_by_id)
    return _clean(
        {
            "resourceType": "QuestionnaireResponse",
            "id": derived_id(row.external_id, "questionnaire-response"),
            "questionnaire": f"{codes.MEASURE_SYSTEM}:{row.measure}|{row.registry_version}",
            "status": "completed",
            "subject": ref("Patient", patient_key),
            "encounter": ref("Encounter", visit.external_id) if visit else None,
            "authored": when(row.measured_at),
            "author": author,
            "item": items,
        }
    )


def outcome(
    row: OutcomeMeasurement,
    patient_key: uuid.UUID,
    episode_key: uuid.UUID,
    visit: Visit | None,
    ctx: Context,
) -> Resource:
    measure = get_measure(row.measure)
    unit = {"value": row.score, "unit": measure.unit}
    extensions = [
        ext("registry-version", valueString=row.registry_version),
        ext("episode", valueReference=ref("Condition", episode_key)),
    ]
    if row.options:
        extensions.append(ext("options", valueString=json.dumps(row.options, sort_keys=True)))
    if row.administration:  # the language and checked translation a patient answered in
        answered = json.dumps(row.administration, sort_keys=True)
        extensions.append(ext("answered-in", valueString=answered))
    performer = ctx.practitioner(row.recorded_by_id)
    return _clean(
        {
            "resourceType": "Observation",
            "id": str(row.external_id),
            "extension": extensions,
            "status": "final",
            "category": [concept(codes.OBSERVATION_CATEGORY, "survey")],
            "code": {
                "coding": codes.measure_coding(measure.code, measure.loinc),
                "text": measure.name,
            },
            "subject": ref("Patient", patient_key),
            "encounter": ref("Encounter", visit.external_id) if visit else None,
            "effectiveDateTime": when(row.measured_at),
            "performer": [performer] if performer else None,
            "valueQuantity": unit,
            "derivedFrom": [
                ref("QuestionnaireResponse", derived_id(row.external_id, "questionnaire-response"))
            ],
            "component": [
                {
                    "code": concept(codes.MEASURE_SYSTEM, f"{row.measure}:{name}"),
                    "valueQuantity": {"value": value},
                }
                for name, value in sorted(row.subscores.items())
            ],
        }
    )


# ------------------------------------------------------------------ after-care, harm, the note


def _activity(row: ExercisePrescription) -> dict[str, Any]:
    extensions = [ext("sets", valueInteger=row.sets)]
    if row.repetitions is not None:
        extensions.append(ext("repetitions", valueInteger=row.repetitions))
    if row.hold_seconds is not None:
        extensions.append(ext("hold-seconds", valueInteger=row.hold_seconds))
    if row.details:
        extensions.append(ext("details", valueString=json.dumps(row.details, sort_keys=True)))
    detail = _clean(
        {
            "extension": extensions,
            "code": concept(codes.EXERCISE_SYSTEM, row.exercise_code),
            "status": "scheduled",
            "scheduledString": row.frequency,
            "description": row.notes,
        }
    )
    return {"detail": detail}


def care_plan(visit: Visit, rows: list[ExercisePrescription], ctx: Context) -> Resource:
    author = ctx.practitioner(visit.therapist_id)
    return _clean(
        {
            "resourceType": "CarePlan",
            "id": derived_id(visit.external_id, "care-plan"),
            "status": "active",
            "intent": "plan",
            "title": "After-care: active motion, stretches and home programme",
            "subject": ctx.patient(visit.patient_id),
            "encounter": ref("Encounter", visit.external_id),
            "created": when(visit.started_at),
            "author": author,
            "activity": [_activity(r) for r in rows],
        }
    )


def adverse_event(
    row: AdverseEvent,
    patient_key: uuid.UUID,
    visit: Visit | None,
    areas: Mapping[int, TreatedArea],
    ctx: Context,
) -> Resource:
    extensions = [
        ext("status", valueCode=row.status),
        ext("severity", valueCode=row.severity),
        ext("referral-made", valueBoolean=row.referral_made),
    ]
    if row.follow_up:
        extensions.append(ext("follow-up", valueString=row.follow_up))
    if row.resolved_at:
        extensions.append(ext("resolved-at", valueDateTime=when(row.resolved_at)))
    severity = row.severity if row.severity in ("mild", "moderate", "severe") else None
    area = areas.get(row.treated_area_id) if row.treated_area_id is not None else None
    suspect = [{"instance": ref("Procedure", area.external_id)}] if area is not None else None
    return _clean(
        {
            "resourceType": "AdverseEvent",
            "id": str(row.external_id),
            "extension": extensions,
            "actuality": "actual",
            "event": {
                "coding": [coding(codes.ADVERSE_EVENT_SYSTEM, row.category)],
                "text": row.description,
            },
            "subject": ref("Patient", patient_key),
            "encounter": ref("Encounter", visit.external_id) if visit else None,
            "date": when(row.onset_at),
            "recorder": ctx.practitioner(row.recorded_by_id),
            "severity": concept(codes.ADVERSE_EVENT_SEVERITY, severity) if severity else None,
            "outcome": concept(
                codes.ADVERSE_EVENT_OUTCOME, "resolved" if row.resolved_at else "ongoing"
            ),
            "suspectEntity": suspect,
        }
    )


def note_text(visit: Visit) -> dict[str, Any]:
    """The signed note as structured text: its four sections and who signed and co-signed."""
    body: dict[str, Any] = {name: getattr(visit, name) for name in NOTE_FIELDS}
    body.update({name: getattr(visit, name) for name in SIGNER_FIELDS})
    body["signed_at"] = when(visit.signed_at) if visit.signed_at else None
    body["cosigned_at"] = when(visit.cosigned_at) if visit.cosigned_at else None
    return body


def document_reference(visit: Visit, ctx: Context) -> Resource:
    text = json.dumps(note_text(visit), sort_keys=True).encode("utf-8")
    content = [
        {
            "attachment": {
                "contentType": "application/json",
                "data": _b64(text),
                "title": "Signed note (structured text)",
            }
        }
    ]
    pdf = ctx.note_pdf(visit) if ctx.note_pdf else None
    if pdf is not None:
        content.insert(
            0,
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "data": _b64(pdf),
                    "title": "Signed note (PDF)",
                }
            },
        )
    signer = ctx.practitioner(visit.signed_by_id)
    return _clean(
        {
            "resourceType": "DocumentReference",
            "id": derived_id(visit.external_id, "note"),
            "extension": [ext("note-digest", valueString=visit.note_digest)]
            if visit.note_digest
            else None,
            "status": "current",
            "docStatus": "final",
            "type": concept(codes.system("document-type"), "iastm-visit-note", "Signed visit note"),
            "subject": ctx.patient(visit.patient_id),
            "date": when(visit.signed_at) if visit.signed_at else None,
            "author": [signer] if signer else None,
            "authenticator": signer,
            "content": content,
            "context": {"encounter": [ref("Encounter", visit.external_id)]},
        }
    )


# ------------------------------------------------------------------ a batch of records


Stamped = tuple[datetime, Resource]
"""A resource with the moment its row last changed (what ``_since`` filters on)."""


def changed_at(row: Any) -> datetime:
    """When a row last changed: its last update for editable rows, else its creation."""
    columns = getattr(row, "_mapping", None)
    if columns is not None:  # a column row: no attribute lookups that fail and raise
        updated: datetime | None = columns.get("updated_at")
    else:
        updated = getattr(row, "updated_at", None)
    created: datetime = row.created_at
    return max(created, updated) if updated else created


def resources(rows: RecordRows, ctx: Context) -> Iterator[Stamped]:
    """Every clinical resource of the batch's patients (not Organization, Practitioner or
    Device, which many patients share: see :func:`shared`)."""
    patients = {p.id: p.external_id for p in rows.patients}
    episodes = {e.id: e for e in rows.episodes}
    visits = {v.id: v for v in rows.visits}
    ctx.patient_keys = dict(patients)
    ctx.episode_keys = {e.id: e.external_id for e in rows.episodes}
    areas = {a.id: a for a in rows.areas}
    for p in rows.patients:
        yield changed_at(p), patient(p, ctx)
    for e in rows.episodes:
        yield changed_at(e), condition(e, ctx)
    for c in rows.consents:
        yield (
            changed_at(c),
            consent(c, patients[c.patient_id], episodes[c.episode_id].external_id, ctx),
        )
    for v in rows.visits:
        yield changed_at(v), encounter(v, ctx)
    yield from _visit_details(rows, ctx, visits, areas)
    for o in rows.outcomes:
        visit = visits.get(o.visit_id) if o.visit_id else None
        key, episode = patients[o.patient_id], episodes[o.episode_id].external_id
        yield changed_at(o), questionnaire_response(o, key, visit, ctx)
        yield changed_at(o), outcome(o, key, episode, visit, ctx)
    for a in rows.adverse_events:
        visit = visits.get(a.visit_id) if a.visit_id else None
        yield changed_at(a), adverse_event(a, patients[a.patient_id], visit, areas, ctx)
    for v in rows.visits:
        if v.status == "signed":
            yield changed_at(v), document_reference(v, ctx)


def _visit_details(
    rows: RecordRows, ctx: Context, visits: Mapping[int, Visit], areas: Mapping[int, TreatedArea]
) -> Iterator[Stamped]:
    for a in rows.areas:
        yield changed_at(a), procedure(a, visits[a.visit_id], ctx)
    for r in rows.readings:
        area = areas[r.treated_area_id]
        yield changed_at(r), reading(r, area, visits[area.visit_id], ctx)
    for s in rows.skin:
        area = areas[s.treated_area_id]
        yield changed_at(s), skin_response(s, area, visits[area.visit_id], ctx)
    for f in rows.findings:
        yield changed_at(f), finding(f, visits[f.visit_id], areas, ctx)
    for m in rows.measurements:
        yield changed_at(m), measurement(m, visits[m.visit_id], ctx)
    plans: dict[int, list[ExercisePrescription]] = {}
    for p in rows.prescriptions:
        plans.setdefault(p.visit_id, []).append(p)
    for visit_id, prescribed in plans.items():
        stamp = max(changed_at(p) for p in prescribed)
        yield stamp, care_plan(visits[visit_id], prescribed, ctx)


def shared(ctx: Context) -> Iterator[Stamped]:
    """The Organization, and the Practitioners and Devices the resources so far pointed to."""
    yield changed_at(ctx.clinic), organization(ctx.clinic)
    for user_id in sorted(ctx.used_users):
        yield changed_at(ctx.users[user_id]), practitioner(ctx.users[user_id])
    for instrument_id in sorted(ctx.used_instruments):
        yield (
            changed_at(ctx.instruments[instrument_id]),
            device(ctx.instruments[instrument_id], ctx),
        )


# ------------------------------------------------------------------ validation


def validate(resource: Mapping[str, Any]) -> Any:
    """The resource as a ``fhir.resources`` R4B model; InvalidInput naming the field if not."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    kind = str(resource.get("resourceType", ""))
    try:
        model = get_fhir_model_class(kind)
    except (KeyError, ValueError, AttributeError) as exc:
        raise InvalidInput(f"unknown resource type {kind!r}", field="resourceType") from exc
    try:
        return model.model_validate(dict(resource))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInput(
            f"{kind}/{resource.get('id')}: {where}: {first.get('msg')}",
            field=where or None,
            code="invalid_fhir",
        ) from None
