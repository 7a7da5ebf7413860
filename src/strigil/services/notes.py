"""The note as a record: load what a visit recorded, draft from it, and fingerprint it.

The draft is built from the rows alone (core.notes states nothing that is not among them).
At signing the note's content is serialised canonically and its SHA-256 stored; `verify`
recomputes it for every signed note so a change made behind the application's back is found.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from strigil.core import integrity, notes
from strigil.core.note_facts import IntendedDose, MeasuredDose
from strigil.services import charges
from strigil.services.actors import Role
from strigil.store import adverse_events as event_store
from strigil.store import clinics as clinic_store
from strigil.store import episodes as episode_store
from strigil.store import sensors as sensor_store
from strigil.store import visits as store
from strigil.store.adverse_events import AdverseEvent
from strigil.store.clinics import User
from strigil.store.episodes import Screening
from strigil.store.sensors import SensorRecording
from strigil.store.visits import (
    BillingLine,
    DiscomfortReading,
    ExercisePrescription,
    RestrictionFinding,
    SkinResponse,
    TreatedArea,
    Visit,
    VisitMeasurement,
)

__all__ = [
    "VisitRecord",
    "draft_from",
    "load_record",
    "signed_content",
    "signer_label",
    "verify",
]


@dataclass(frozen=True, slots=True)
class VisitRecord:
    """What a visit recorded, loaded once and shared by the page, the draft and the PDF."""

    areas: Sequence[TreatedArea]
    readings: Mapping[int, Sequence[DiscomfortReading]]
    skin: Mapping[int, SkinResponse]
    findings: Sequence[RestrictionFinding]
    prescriptions: Sequence[ExercisePrescription]
    measurements: Sequence[VisitMeasurement] = ()
    billing_lines: Sequence[BillingLine] = ()
    events: Sequence[AdverseEvent] = ()
    screenings: Sequence[Screening] = ()
    users: Mapping[int, User] | None = None
    recordings: Sequence[SensorRecording] = ()  # instrumented-tool doses, oldest first
    intended: Mapping[int, IntendedDose] = field(default_factory=dict)  # by area row id


def load_record(session: Session, visit: Visit) -> VisitRecord:
    """Everything recorded in a visit (entered-in-error rows left out), in a fixed few queries."""
    clinic_id = visit.clinic_id
    rows = store.list_areas(session, clinic_id, visit.id)
    ids = [a.id for a in rows]
    return VisitRecord(
        areas=rows,
        readings=store.list_readings(session, clinic_id, ids),
        skin=store.list_skin_responses(session, clinic_id, ids),
        findings=store.list_findings(session, clinic_id, visit.id),
        prescriptions=store.list_prescriptions(session, clinic_id, visit.id),
        measurements=store.list_measurements(session, clinic_id, visit.id),
        billing_lines=store.list_billing_lines(session, clinic_id, visit.id),
        events=event_store.list_for_visit(session, clinic_id, visit.id),
        screenings=_screenings(session, visit),
        users=clinic_store.users_by_id(session, clinic_id),
        recordings=sensor_store.recordings_for_areas(session, clinic_id, ids),
        intended={
            area_id: intended_fact(row)
            for area_id, row in sensor_store.intended_for_areas(session, clinic_id, ids).items()
        },
    )


def intended_fact(row: sensor_store.IntendedDose) -> IntendedDose:
    """The stored intended dose as the note drafter and the visit page compare it."""
    return IntendedDose(
        force_min_n=row.force_min_n,
        force_max_n=row.force_max_n,
        strokes=row.strokes,
        time_under_load_s=row.time_under_load_s,
        ref=str(row.external_id),
    )


def _screenings(session: Session, visit: Visit) -> Sequence[Screening]:
    """The newest intake screening and this visit's re-check: the precautions in force."""
    rows = episode_store.list_screenings_in_force(
        session, visit.clinic_id, visit.episode_id, visit.id
    )
    intake = next((r for r in rows if r.kind == "intake"), None)
    recheck = [r for r in rows if r.visit_id == visit.id]
    return ([intake] if intake else []) + recheck[:1]


def signer_label(user: User | None) -> str:
    """'Dana Smith, PT' — the name with credentials when recorded."""
    if user is None:
        return ""
    cred = user.credentials.strip()
    return f"{user.display_name}, {cred}" if cred else user.display_name


def _area_fact(area: TreatedArea, record: VisitRecord, tolerance: int) -> notes.TreatedArea:
    readings = record.readings.get(area.id, ())
    skin = record.skin.get(area.id)
    return notes.TreatedArea(
        region=area.body_region,
        site=area.body_site,
        side=area.side,
        instrument=area.instrument_type,
        strokes=tuple(area.strokes),
        angle_degrees=area.angle_deg,
        intensity=area.intensity,
        seconds=area.seconds,
        readings=tuple(r.value for r in readings),
        asked_to_stop=any(r.patient_asked_to_stop for r in readings),
        tolerance=tolerance,
        stop_reason=area.stop_reason,
        stop_note=area.stop_note or "",
        skin_grade=skin.grade if skin else None,
        ref=str(area.external_id),
        measured=tuple(measured_fact(r) for r in record.recordings if r.treated_area_id == area.id),
        intended=record.intended.get(area.id),
    )


def measured_fact(row: SensorRecording) -> MeasuredDose:
    """A stored recording as the note drafter and the visit page compare it."""
    return MeasuredDose(
        strokes=row.strokes,
        mean_force_n=row.mean_force_n,
        peak_force_n=row.peak_force_n,
        time_under_load_s=row.time_under_load_s,
        force_cap_n=row.force_cap_n,
        cap_exceeded=row.cap_exceeded,
        ref=str(row.external_id),
        phase=row.phase,
    )


def _test_name(m: VisitMeasurement) -> str:
    parts = [m.side if m.side and m.side != "na" else "", m.joint or "", m.motion or ""]
    detail = " ".join(p for p in parts if p)
    return f"{m.name} ({detail})" if detail else m.name


def _tests(record: VisitRecord) -> tuple[notes.PrePostResult, ...]:
    return tuple(
        notes.PrePostResult(
            name=_test_name(m),
            pre=m.pre_value,
            post=m.post_value,
            unit=m.unit,
            higher_is_better=m.higher_is_better,
            ref=str(m.external_id),
        )
        for m in record.measurements
    )


def _findings(record: VisitRecord) -> tuple[notes.FindingFact, ...]:
    refs = {a.id: str(a.external_id) for a in record.areas}
    return tuple(
        notes.FindingFact(
            ref=str(f.external_id),
            site=f.body_site,
            side=f.side,
            texture=f.texture,
            severity=f.severity,
            area_ref=refs.get(f.treated_area_id) if f.treated_area_id else None,
        )
        for f in record.findings
    )


def precaution_screenings(record: VisitRecord) -> list[Screening]:
    """Screenings whose reasoning or dose change the note states (a re-check repeating the
    intake's words word for word is stated once)."""
    out: list[Screening] = []
    for s in record.screenings:
        said = {(o.reasoning, o.dose_modification) for o in out}
        if (s.reasoning or s.dose_modification) and (s.reasoning, s.dose_modification) not in said:
            out.append(s)
    return out


def _precautions(record: VisitRecord) -> tuple[notes.PrecautionFact, ...]:
    out = []
    for s in precaution_screenings(record):
        titles = tuple(str(p.get("title", "")) for p in s.result.get("precautions", ()))
        if s.reasoning or s.dose_modification:
            out.append(
                notes.PrecautionFact(
                    ref=str(s.external_id),
                    reasoning=s.reasoning or "",
                    dose_modification=s.dose_modification or "",
                    precautions=tuple(t for t in titles if t),
                )
            )
    return tuple(out)


def _assistants(record: VisitRecord) -> tuple[str, ...]:
    users = record.users or {}
    ids = {r.recorded_by_id for rs in record.readings.values() for r in rs}
    ids |= {f.recorded_by_id for f in record.findings}
    ids |= {m.recorded_by_id for m in record.measurements}
    found = [users[i] for i in sorted(ids) if i in users and users[i].role == Role.ASSISTANT]
    return tuple(signer_label(u) for u in found)


def facts_for(visit: Visit, record: VisitRecord, rule: str = "cms") -> notes.VisitFacts:
    """The note's facts for a visit whose record is loaded."""
    users = record.users or {}
    bill = charges.compute(visit, record.areas, record.billing_lines, rule)
    return notes.VisitFacts(
        patient_display_name=visit.episode.patient.display_name,
        visit_date=visit.started_at.date(),
        visit_number=visit.number,
        condition_title=visit.episode.condition_title,
        subjective=visit.subjective,
        tests=_tests(record),
        findings=_findings(record),
        areas=tuple(_area_fact(a, record, visit.tolerance_limit) for a in record.areas),
        precautions=_precautions(record),
        adverse_events=tuple(
            notes.AdverseEventFact(str(e.external_id), e.category, e.severity, e.description)
            for e in record.events
        ),
        exercises=tuple(
            notes.PrescribedExercise(
                exercise=p.exercise_code,
                sets=p.sets,
                reps=p.repetitions,
                hold_seconds=p.hold_seconds,
                frequency=p.frequency,
                ref=str(p.external_id),
            )
            for p in record.prescriptions
        ),
        plan=visit.plan,
        functional_goal=visit.episode.goals,
        performed_by=signer_label(users.get(visit.therapist_id)),
        assisted_by=_assistants(record),
        timed_minutes=tuple((ln.code, ln.minutes or 0) for ln in bill.lines if ln.timed),
    )


def draft_from(visit: Visit, record: VisitRecord, rule: str = "cms") -> notes.SoapDraft:
    """The SOAP draft for a visit whose record is loaded."""
    return notes.draft_soap(facts_for(visit, record, rule))


# ---------------------------------------------------------------------------- integrity


def signed_content(visit: Visit, lines: Sequence[BillingLine]) -> dict[str, Any]:
    """Everything the signed note shows, as plain data for the canonical digest.

    The note's text is frozen at signing, so the text itself (with who signed, when, and the
    billed time) is what is fingerprinted; names that may change later (the patient's or the
    clinic's) are inside the text already.
    """
    values = {name: getattr(visit, name) for name in SIGNED_FIELDS}
    return signed_content_of(values, [(ln.code, ln.seconds) for ln in lines])


SIGNED_FIELDS = (
    "external_id",
    "number",
    "started_at",
    "subjective",
    "objective",
    "assessment",
    "plan",
    "signer_name",
    "signer_credentials",
    "signer_licence",
    "signer_role",
    "signed_at",
)


def signed_content_of(
    values: Mapping[str, Any], billing: Sequence[tuple[str, int | None]]
) -> dict[str, Any]:
    """``signed_content`` from a visit's column values (``SIGNED_FIELDS``) and its billing
    lines as (code, seconds): the bulk-written demo seals its notes with it as it builds them."""
    signed_at = values["signed_at"]
    return {
        "visit": str(values["external_id"]),
        "number": values["number"],
        "started_at": values["started_at"].isoformat(),
        "note": {name: values[name] for name in ("subjective", "objective", "assessment", "plan")},
        "signer": {
            "name": values["signer_name"],
            "credentials": values["signer_credentials"],
            "licence": values["signer_licence"],
            "role": values["signer_role"],
            "signed_at": signed_at.isoformat() if signed_at else None,
        },
        "billing": sorted(
            [code, seconds if seconds is not None else -1] for code, seconds in billing
        ),
    }


def digest_of(session: Session, visit: Visit) -> str:
    """The SHA-256 of the visit's signed content as the database holds it now."""
    lines = store.list_billing_lines(session, visit.clinic_id, visit.id)
    return integrity.digest(signed_content(visit, lines))


@dataclass(frozen=True, slots=True)
class VerifyResult:
    checked: int
    changed: tuple[str, ...]


def verify(*, session: Session, clinic_name: str | None = None) -> VerifyResult:
    """Recompute every signed note's digest; list the visits whose signed content changed.

    An operator command (run by whoever runs the CLI against the database), not a clinic user's.
    """
    checked, changed = 0, []
    for visit in store.list_signed_visits(session, clinic_name=clinic_name):
        checked += 1
        if visit.note_digest != digest_of(session, visit):
            changed.append(str(visit.external_id))
    return VerifyResult(checked=checked, changed=tuple(changed))


def seal_unsealed(*, session: Session, page: int = 2000) -> int:
    """Store signer and digest for signed notes that have none (generated or pre-digest data).

    For notes written before digests existed, and for the synthetic demo, whose generator
    writes signed visits in bulk. Works a page of visits at a time, with their billing lines
    read in one query per page, so a million demo notes cost a few hundred queries and one
    page of memory. Returns how many notes were sealed.
    """
    users = clinic_store.users_of_every_clinic_by_id(session)
    sealed, after = 0, 0
    held = {id(row) for row in session.identity_map.values()}  # the caller's own: kept
    while rows := store.list_unsealed_visits(session, after_id=after, limit=page):
        lines = store.billing_lines_by_visit(session, [v.id for v in rows])
        for visit in rows:
            signer = users.get(visit.signed_by_id) if visit.signed_by_id else None
            if signer is not None and visit.signer_name is None:
                visit.signer_name, visit.signer_role = signer.display_name, signer.role
                visit.signer_credentials = signer.credentials or None
            visit.note_digest = integrity.digest(signed_content(visit, lines[visit.id]))
        session.flush()
        for visit in rows:  # written: let the page go rather than keep it in the identity map
            if id(visit) not in held:
                session.expunge(visit)
        sealed += len(rows)
        after = rows[-1].id
    return sealed
