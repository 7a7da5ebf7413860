"""Every route of the app, classified: the permission it needs and a valid request for it.

A route missing here fails the role matrix, so each new route must be classified on purpose.
"""

from __future__ import annotations

import itertools
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.flow import recheck_answers, recheck_clear
from tests.security.conftest import Site, checkin_for, unique_email

from strigil.core import catalog
from strigil.core.screening import visit_recheck_rules
from strigil.services import (
    appointments,
    auth,
    consents,
    fhir_export,
    merges,
    patient_links,
    patients,
    treatment,
    visits,
)
from strigil.services.actors import Permission, Role
from strigil.store.adverse_events import AdverseEvent
from strigil.store.appointments import Appointment
from strigil.store.base import Base
from strigil.store.clinics import Instrument
from strigil.store.episodes import Episode
from strigil.store.patients import Patient
from strigil.store.visit_templates import VisitTemplate
from strigil.store.visits import TreatedArea, Visit

P = Permission
ANY = None  # any signed-in user
# /p/ is the patient's side: no sign-in, the link is the key (tests/web/test_patient_link_pages.py
# and tests/services/test_patient_links.py check what a link may reach).
EXCLUDED_PREFIXES = (
    "/static",
    "/login",
    "/logout",
    "/healthz",
    "/api/v1/openapi",
    "/api/v1/docs",
    "/p/",
)
EXCLUDED_PATHS = frozenset({"/docs/oauth2-redirect", "/api/v1/auth/login"})
CLINICAL = frozenset(
    {
        P.READ_CLINICAL,
        P.WRITE_PATIENT,
        P.SCREEN,
        P.CONSENT,
        P.TREAT,
        P.RECORD_READINGS,
        P.SIGN,
        P.DOCUMENT,
        P.MERGE_CHARTS,
        P.BOOK,
    }
)


@dataclass(frozen=True)
class Call:
    """What the runner needs to make one request: the site, the session and the role's token."""

    site: Site
    session: Session

    def version(self, model: type[Base], param: str) -> int:
        """The row's current version, so optimistic locking accepts the write."""
        key = uuid.UUID(self.site.ids[param])
        row = self.session.execute(
            select(model.version).where(model.external_id == key)  # type: ignore[attr-defined]
        ).scalar_one()
        return int(row)


Body = Callable[[Call], dict[str, Any]]


def _therapist(c: Call) -> Any:
    return auth.actor_for(c.site.users[Role.THERAPIST])


def fresh_area(c: Call) -> None:
    """The API route stopped the shared area; the page route gets one of its own."""
    area = treatment.add_area(
        session=c.session,
        actor=_therapist(c),
        visit_id=uuid.UUID(c.site.ids["visit_id"]),
        data=treatment.AreaInput(
            body_site="lateral_elbow",
            side="bilateral",
            instrument_type="stainless_steel",
            intensity="gentle",
            strokes=("sweep",),
            angle_deg=45,
        ),
    )
    c.session.flush()
    c.site.ids["area_id"] = str(area.external_id)


def consent_again(c: Call) -> None:
    """The API route withdrew consent; grant it again so the page route can withdraw it."""
    consents.record(
        session=c.session,
        actor=_therapist(c),
        episode_id=uuid.UUID(c.site.ids["episode_id"]),
        decision="granted",
    )
    c.session.flush()


def fresh_visit_to_sign(c: Call) -> None:
    """The API route signed the shared visit; the page route signs a second, written one."""
    episode_id = uuid.UUID(c.site.ids["episode_id"])
    consents.record(
        session=c.session, actor=_therapist(c), episode_id=episode_id, decision="granted"
    )
    recheck = recheck_answers()
    visit = visits.start(
        session=c.session,
        actor=_therapist(c),
        episode_id=episode_id,
        data=visits.VisitStart(tolerance_limit=6, recheck=recheck),
    )
    visits.save_note(
        session=c.session,
        actor=_therapist(c),
        visit_id=visit.external_id,
        note={"assessment": "Fine.", "plan": "Review."},
        version=None,
    )
    c.session.flush()
    c.site.ids["visit_id"] = str(visit.external_id)


def stop_all_areas(c: Call) -> None:
    """Signing needs every treated area stopped; the matrix added one more area earlier."""
    visit = c.session.scalar(
        select(Visit).where(Visit.external_id == uuid.UUID(c.site.ids["visit_id"]))
    )
    assert visit is not None
    who = auth.actor_for(c.site.users[Role.THERAPIST])
    for area in c.session.scalars(
        select(TreatedArea).where(TreatedArea.visit_id == visit.id, TreatedArea.status == "active")
    ):
        treatment.stop_area(
            session=c.session, actor=who, treated_area_id=area.external_id, reason="completed"
        )
    c.session.flush()


def assistant_signed_visit(c: Call) -> None:
    """A note an assistant signed in a clinic that requires a therapist's co-signature."""
    fresh_visit_to_sign(c)
    clinic = c.site.users[Role.ADMIN].clinic
    clinic.assistant_notes_need_cosign = True
    assistant = auth.actor_for(c.site.users[Role.ASSISTANT])
    visits.sign(
        session=c.session, actor=assistant, visit_id=uuid.UUID(c.site.ids["visit_id"]), version=None
    )
    c.session.flush()


def spare_finding(c: Call) -> None:
    """Each role marks its own finding entered-in-error (a second marking would be refused)."""
    row = treatment.add_finding(
        session=c.session,
        actor=_therapist(c),
        visit_id=uuid.UUID(c.site.ids["visit_id"]),
        data=treatment.FindingInput("front", 0.5, 0.5, "lateral_elbow", "crumbly", 1),
    )
    c.session.flush()
    c.site.ids["spare_finding_id"] = str(row.external_id)


_slots = itertools.count(1)


def _slot() -> datetime:
    """A start no other appointment of the walk has (each booking takes a day of its own)."""
    return datetime(2027, 1, 4, 9, tzinfo=UTC) + timedelta(days=next(_slots))


def fresh_appointment(c: Call) -> None:
    """A booked appointment of its own for each state-changing day book route."""
    [row] = appointments.book(
        session=c.session,
        actor=_therapist(c),
        data=appointments.AppointmentInput(
            uuid.UUID(c.site.ids["patient_id"]), c.site.users[Role.THERAPIST].external_id, _slot()
        ),
    )
    c.session.flush()
    c.site.ids["appointment_id"] = str(row.external_id)


def therapist_query(c: Call) -> None:
    """The schedule routes name the therapist in their query."""
    therapist = str(c.site.users[Role.THERAPIST].external_id)
    QUERIES[f"{API}/appointments.ics"] = {"therapist_id": therapist}
    QUERIES["/daybook.ics"] = {"therapist": therapist}
    QUERIES["/daybook"] = {"therapist": therapist}


def _booking(c: Call) -> dict[str, Any]:
    return {
        "patient_id": c.site.ids["patient_id"],
        "therapist_id": str(c.site.users[Role.THERAPIST].external_id),
        "starts_at": _slot().isoformat(),
        "minutes": 30,
    }


def _booking_form(c: Call) -> dict[str, Any]:
    patient = c.session.scalar(
        select(Patient).where(Patient.external_id == uuid.UUID(c.site.ids["patient_id"]))
    )
    assert patient is not None
    start = _slot()
    return {
        "patient": patient.record_number,
        "therapist": str(c.site.users[Role.THERAPIST].external_id),
        "day": start.date().isoformat(),
        "time": "09:00",
        "minutes": "30",
    }


EMPTY_CALENDAR = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Synthetic//EN\r\nEND:VCALENDAR\r\n"


@dataclass(frozen=True)
class Rule:
    permission: Permission | None
    json: Body | None = None
    form: Body | None = None
    late: int = 0  # run after the others, in this order (state-changing, e.g. sign or stop)
    relogin: bool = False  # the route ends the login session
    patient_data: bool | None = None  # default: the permission is clinical
    prepare: Callable[[Call], None] | None = None  # set-up done directly before the request
    loads_path_record: bool = True  # False: the id in the path is not read (no 404 expected)
    expect_success: bool = True  # False: a valid request may still be refused (e.g. k < 2)

    @property
    def reads_or_writes_patient_data(self) -> bool:
        if self.patient_data is not None:
            return self.patient_data
        return self.permission in CLINICAL


def _job(c: Call) -> None:
    """A finished export of the site's clinic, named in the status and file routes' queries."""
    job = fhir_export.export_now(
        session=c.session,
        actor=_therapist(c),
        root=Path(tempfile.mkdtemp(prefix="strigil-export-")),
        filters=fhir_export.parse_filter(types="Patient"),
        request="/fhir/R4/$export",
    )
    QUERIES["/fhir/R4/$export-status"] = {"job": job.key}
    QUERIES["/fhir/R4/$export-file"] = {"job": job.key, "type": "Patient"}


def _patient(c: Call) -> dict[str, Any]:
    return {
        "given_name": "Bea",
        "family_name": "Synthetic",
        "birth_date": "1975-03-02",
        "sex": "female",
    }


def _new_patient(c: Call) -> dict[str, Any]:
    """A person not yet in the clinic (a repeat would be held back as a possible duplicate)."""
    return {**_patient(c), "family_name": f"Synthetic{uuid.uuid4().hex[:8]}"}


def _spare_patient(c: Call, given_name: str) -> Any:
    return patients.register(
        session=c.session,
        actor=_therapist(c),
        data=patients.PatientInput(
            given_name=given_name,
            family_name=f"Spare{uuid.uuid4().hex[:8]}",
            birth_date=date(1970, 1, 1),
            sex="unknown",
        ),
    )


def spare_duplicate(c: Call) -> None:
    """A chart of its own for each merge request (a merged chart cannot be merged again)."""
    row = _spare_patient(c, "Duplicate")
    c.session.flush()
    c.site.ids["duplicate_id"] = str(row.external_id)
    c.site.ids["duplicate_record_number"] = row.record_number


def spare_merge(c: Call) -> None:
    """A merge of two spare charts for each undo request (an undone merge cannot be undone)."""
    source, target = _spare_patient(c, "Merged"), _spare_patient(c, "Kept")
    row = merges.merge(
        session=c.session,
        actor=_therapist(c),
        source_id=source.external_id,
        target_id=target.external_id,
        reason="Registered twice",
    )
    c.session.flush()
    c.site.ids["merge_id"] = str(row.external_id)


def fresh_link(c: Call) -> None:
    """An open link of the site's visit for each revoke request (a revoked one stays so)."""
    token, link = patient_links.issue_checkin(
        session=c.session, actor=_therapist(c), visit_id=uuid.UUID(c.site.ids["visit_id"])
    )
    c.session.flush()
    c.site.ids["link_id"] = str(link.external_id)
    c.site.ids["link_token"] = token  # shown once to staff; the email form sends it back


def fresh_checkin(c: Call) -> None:
    """A worrying check-in for each request that records one as an adverse event."""
    _, checkin = checkin_for(c.session, _therapist(c), uuid.UUID(c.site.ids["visit_id"]))
    c.session.flush()
    c.site.ids["checkin_id"] = str(checkin.external_id)


def _merge_body(c: Call) -> dict[str, Any]:
    source = c.site.ids.get("duplicate_id", c.site.ids["patient_id"])
    return {"source_patient_id": source, "reason": "Registered twice"}


def _merge_form(c: Call) -> dict[str, Any]:
    number = c.site.ids.get("duplicate_record_number", "NONE")
    return {"duplicate_record_number": number, "reason": "Registered twice"}


def _episode(c: Call) -> dict[str, Any]:
    return {
        "condition_code": "M77.11",
        "body_region": "elbow_forearm",
        "side": "right",
        "chronicity": "chronic",
        "primary_measure": "PRTEE",
        "goals": "Carry shopping",
    }


def _answers(c: Call) -> dict[str, Any]:
    return {"answers": {r.id: {"present": False} for r in catalog.screening_rules()}}


_stream_clock = itertools.count(1)


def _stream_batch(c: Call) -> dict[str, Any]:
    """One sample later than any before, so every accepted batch continues the stream."""
    return {"t_s": [float(next(_stream_clock))], "fz_n": [1.0]}


def _v(model: type[Base], param: str, **extra: Any) -> Body:
    return lambda c: {**extra, "version": c.version(model, param)}


def _const(**values: Any) -> Body:
    return lambda c: dict(values)


def _new_user(c: Call) -> dict[str, Any]:
    return {
        "email": unique_email(),
        "display_name": "New Colleague",
        "role": "assistant",
        "password": "synthetic-pass-456",
    }


API = "/api/v1"
FINDING = {
    "chart_view": "back",
    "x": 0.3,
    "y": 0.4,
    "body_site": "lateral_elbow",
    "texture": "gravelly",
    "severity": 2,
}
AREA = {"body_site": "lateral_elbow", "side": "left", "instrument_type": "stainless_steel"}
RX = {"exercise_code": "wrist_extensor_stretch", "sets": 2, "hold_seconds": 30}

RULES: dict[tuple[str, str], Rule] = {
    # sign-in housekeeping: any signed-in user, on their own session and tokens
    ("GET", f"{API}/auth/me"): Rule(ANY),
    ("POST", f"{API}/auth/tokens"): Rule(ANY, json=_const(name="integration")),
    ("GET", f"{API}/auth/tokens"): Rule(ANY),
    ("DELETE", f"{API}/auth/tokens/{{token_id}}"): Rule(ANY, late=7),
    ("POST", f"{API}/auth/logout-everywhere"): Rule(ANY, late=8, relogin=True),
    ("POST", f"{API}/auth/logout"): Rule(ANY, late=9, relogin=True),
    # read-only catalogs: any signed-in user, no patient data
    ("GET", f"{API}/catalog/icd10"): Rule(ANY),
    ("GET", f"{API}/catalog/body-sites"): Rule(ANY),
    ("GET", f"{API}/catalog/screening-rules"): Rule(ANY),
    ("GET", f"{API}/catalog/strokes"): Rule(ANY),
    ("GET", f"{API}/catalog/exercises"): Rule(ANY),
    ("GET", f"{API}/catalog/measures"): Rule(ANY),
    # patients
    ("GET", f"{API}/patients"): Rule(P.READ_CLINICAL),
    ("POST", f"{API}/patients"): Rule(P.WRITE_PATIENT, json=_new_patient),
    ("GET", f"{API}/patients/{{patient_id}}"): Rule(P.READ_CLINICAL),
    ("PUT", f"{API}/patients/{{patient_id}}"): Rule(
        P.WRITE_PATIENT, json=lambda c: {**_patient(c), "version": c.version(Patient, "patient_id")}
    ),
    ("POST", f"{API}/patients/{{patient_id}}/entered-in-error"): Rule(
        P.WRITE_PATIENT, json=_const(reason="Registered twice"), late=6
    ),
    ("POST", f"{API}/patients/{{patient_id}}/merges"): Rule(
        P.MERGE_CHARTS, json=_merge_body, prepare=spare_duplicate
    ),
    ("POST", f"{API}/patient-merges/{{merge_id}}/entered-in-error"): Rule(
        P.MERGE_CHARTS, json=_const(reason="Two different people"), prepare=spare_merge
    ),
    # episodes, screening, consent, outcomes
    ("GET", f"{API}/patients/{{patient_id}}/episodes"): Rule(P.READ_CLINICAL),
    ("POST", f"{API}/patients/{{patient_id}}/episodes"): Rule(P.TREAT, json=_episode),
    ("GET", f"{API}/episodes/{{episode_id}}"): Rule(P.READ_CLINICAL),
    ("PUT", f"{API}/episodes/{{episode_id}}"): Rule(
        P.TREAT, json=lambda c: {**_episode(c), "version": c.version(Episode, "episode_id")}
    ),
    ("POST", f"{API}/episodes/{{episode_id}}/screenings"): Rule(P.SCREEN, json=_answers),
    ("POST", f"{API}/episodes/{{episode_id}}/clearances"): Rule(
        P.SCREEN,
        json=_const(
            rule_id="A3",
            cleared_by="Dr. Synthetic",
            cleared_at="2026-01-05T09:00:00+00:00",
            note="Clot treated; cleared away from the leg.",
        ),
    ),
    ("GET", f"{API}/episodes/{{episode_id}}/consent-text"): Rule(P.READ_CLINICAL),
    ("POST", f"{API}/episodes/{{episode_id}}/consents"): Rule(
        P.CONSENT, json=_const(decision="granted")
    ),
    ("POST", f"{API}/episodes/{{episode_id}}/consents/withdraw"): Rule(P.CONSENT, late=3),
    ("POST", f"{API}/episodes/{{episode_id}}/measurements"): Rule(
        P.RECORD_READINGS, json=_const(measure="NPRS", answers=[5])
    ),
    ("GET", f"{API}/episodes/{{episode_id}}/measurements"): Rule(P.READ_CLINICAL),
    ("GET", f"{API}/episodes/{{episode_id}}/progress"): Rule(P.READ_CLINICAL),
    ("POST", f"{API}/patients/{{patient_id}}/adverse-events"): Rule(
        P.RECORD_READINGS,
        json=_const(category="bruise", severity="mild", description="Small bruise."),
    ),
    ("POST", f"{API}/adverse-events/{{event_id}}/follow-ups"): Rule(
        P.RECORD_READINGS, json=_v(AdverseEvent, "event_id", note="Settling well.")
    ),
    ("GET", f"{API}/adverse-events"): Rule(P.READ_CLINICAL),
    # the guided visit
    ("POST", f"{API}/episodes/{{episode_id}}/visits"): Rule(
        P.TREAT,
        json=lambda c: {
            "tolerance_limit": 6,
            "recheck": recheck_clear(),
        },
    ),
    ("GET", f"{API}/episodes/{{episode_id}}/visits"): Rule(P.READ_CLINICAL),
    ("GET", f"{API}/visits/{{visit_id}}"): Rule(P.READ_CLINICAL),
    ("PUT", f"{API}/visits/{{visit_id}}/phase"): Rule(
        P.TREAT, json=_v(Visit, "visit_id", phase="warm_up")
    ),
    ("GET", f"{API}/visits/{{visit_id}}/note-draft"): Rule(P.READ_CLINICAL),
    ("POST", f"{API}/visits/{{visit_id}}/checkin-links"): Rule(P.WRITE_PATIENT),
    ("POST", f"{API}/patient-links/{{link_id}}/revoke"): Rule(P.WRITE_PATIENT, prepare=fresh_link),
    ("POST", f"{API}/episodes/{{episode_id}}/patient-links"): Rule(
        P.WRITE_PATIENT, json=_const(purpose="questionnaires", measures=["NPRS"], language="es")
    ),
    ("GET", f"{API}/episodes/{{episode_id}}/patient-links"): Rule(P.READ_CLINICAL),
    ("GET", f"{API}/patients/{{patient_id}}/patient-links"): Rule(P.READ_CLINICAL),
    ("GET", f"{API}/visits/{{visit_id}}/checkins"): Rule(P.READ_CLINICAL),
    ("POST", f"{API}/checkins/{{checkin_id}}/adverse-event"): Rule(
        P.RECORD_READINGS, json=_const(severity="mild"), prepare=fresh_checkin
    ),
    ("PUT", f"{API}/visits/{{visit_id}}/note"): Rule(
        P.RECORD_READINGS,
        json=_v(Visit, "visit_id", assessment="Tolerated well.", plan="Continue twice weekly."),
    ),
    ("POST", f"{API}/visits/{{visit_id}}/sign"): Rule(
        P.DOCUMENT, json=_v(Visit, "visit_id"), late=4, prepare=stop_all_areas
    ),
    ("POST", f"{API}/visits/{{visit_id}}/addenda"): Rule(
        P.DOCUMENT, json=_const(text="Phoned the patient."), late=5
    ),
    ("GET", f"{API}/visits/{{visit_id}}/billing"): Rule(P.READ_CLINICAL),
    ("POST", f"{API}/visits/{{visit_id}}/measurements"): Rule(
        P.RECORD_READINGS, json=_const(kind="ppt", pre_value=200)
    ),
    ("PUT", f"{API}/measurements/{{measurement_id}}/post"): Rule(
        P.RECORD_READINGS, json=_const(value=300)
    ),
    ("POST", f"{API}/visits/{{visit_id}}/billing-lines"): Rule(
        P.TREAT, json=_const(code="97110", seconds=60)
    ),
    ("POST", f"{API}/visits/{{visit_id}}/in-error"): Rule(
        P.RECORD_READINGS,
        json=lambda c: {
            "kind": "finding",
            "record_id": c.site.ids.get("spare_finding_id", c.site.ids["finding_id"]),
            "reason": "Placed on the wrong side.",
        },
        prepare=spare_finding,
    ),
    ("PUT", f"{API}/areas/{{area_id}}/time"): Rule(
        P.TREAT, json=_v(TreatedArea, "area_id", seconds=90)
    ),
    ("PUT", f"{API}/findings/{{finding_id}}/area"): Rule(
        P.RECORD_READINGS, json=lambda c: {"treated_area_id": c.site.ids["area_id"]}
    ),
    ("PUT", f"{API}/visits/{{visit_id}}/times"): Rule(
        P.TREAT, json=_v(Visit, "visit_id", started_at="2026-01-05T09:00:00+00:00")
    ),
    ("POST", f"{API}/visits/{{visit_id}}/cosign"): Rule(
        P.SIGN, late=8, prepare=assistant_signed_visit
    ),
    ("POST", f"{API}/visits/{{visit_id}}/areas"): Rule(
        P.TREAT, json=_const(**AREA, confirm_other_side=True)
    ),
    ("PUT", f"{API}/areas/{{area_id}}/dose"): Rule(
        P.TREAT, json=_v(TreatedArea, "area_id", seconds=60)
    ),
    ("POST", f"{API}/areas/{{area_id}}/readings"): Rule(P.RECORD_READINGS, json=_const(value=2)),
    # instrumented tool: a bridge streams to the active area (time keeps increasing per call)
    ("POST", f"{API}/areas/{{area_id}}/sensor-stream"): Rule(P.TREAT, json=_stream_batch),
    ("GET", f"{API}/areas/{{area_id}}/sensor-stream"): Rule(P.READ_CLINICAL),
    ("PUT", f"{API}/areas/{{area_id}}/intended-dose"): Rule(
        P.TREAT, json=_const(force_min_n=4, force_max_n=7, strokes=30)
    ),
    # runs after the batches above (late), so the stream has samples to store
    ("POST", f"{API}/areas/{{area_id}}/sensor-stream/finish"): Rule(P.TREAT, late=1),
    ("POST", f"{API}/areas/{{area_id}}/stop"): Rule(
        P.RECORD_READINGS, json=_const(reason="completed"), late=2
    ),
    ("POST", f"{API}/areas/{{area_id}}/skin"): Rule(
        P.RECORD_READINGS, json=_const(grade="erythema"), late=1
    ),
    ("POST", f"{API}/visits/{{visit_id}}/findings"): Rule(
        P.RECORD_READINGS, json=_const(**FINDING)
    ),
    ("POST", f"{API}/visits/{{visit_id}}/prescriptions"): Rule(P.TREAT, json=_const(**RX)),
    # copy forward (the site's only visit is offered its clinic template, already taken today)
    ("GET", f"{API}/visits/{{visit_id}}/carry-forward"): Rule(P.READ_CLINICAL),
    ("POST", f"{API}/visits/{{visit_id}}/carry-forward/areas"): Rule(
        P.TREAT, json=_const(keys=["0"]), expect_success=False
    ),
    ("POST", f"{API}/visits/{{visit_id}}/carry-forward/exercises"): Rule(
        P.TREAT, expect_success=False
    ),
    ("POST", f"{API}/visits/{{visit_id}}/carry-forward/tests"): Rule(
        P.RECORD_READINGS, json=_const(values={"0": 250.0}), expect_success=False
    ),
    ("GET", f"{API}/visit-templates"): Rule(P.READ_CLINICAL, patient_data=False),
    ("POST", f"{API}/visits/{{visit_id}}/template"): Rule(
        P.TREAT, json=_const(name="Elbow again", condition_prefix="M77.1")
    ),
    ("PUT", f"{API}/visit-templates/{{template_id}}"): Rule(
        P.TREAT,
        json=_v(VisitTemplate, "template_id", name="Elbow", condition_prefix="M77"),
        patient_data=False,
    ),
    ("POST", f"{API}/visit-templates/{{template_id}}/retire"): Rule(
        P.TREAT, late=3, patient_data=False
    ),
    ("POST", f"{API}/visit-templates/{{template_id}}/remove-items"): Rule(
        P.TREAT,
        json=_v(VisitTemplate, "template_id", tests=[0]),
        patient_data=False,
        expect_success=False,  # the site's template may have lost its test already
    ),
    # the day book
    ("GET", f"{API}/appointments"): Rule(P.READ_CLINICAL, prepare=therapist_query),
    ("POST", f"{API}/appointments"): Rule(P.BOOK, json=_booking),
    ("GET", f"{API}/appointments.ics"): Rule(P.READ_CLINICAL, prepare=therapist_query),
    ("POST", f"{API}/appointments/import"): Rule(
        P.BOOK,
        json=lambda c: {
            "therapist_id": str(c.site.users[Role.THERAPIST].external_id),
            "calendar": EMPTY_CALENDAR,
        },
    ),
    ("GET", f"{API}/appointments/{{appointment_id}}"): Rule(P.READ_CLINICAL),
    ("PUT", f"{API}/appointments/{{appointment_id}}"): Rule(
        P.BOOK,
        json=lambda c: {
            "starts_at": _slot().isoformat(),
            "minutes": 40,
            "version": c.version(Appointment, "appointment_id"),
        },
        prepare=fresh_appointment,
    ),
    ("POST", f"{API}/appointments/{{appointment_id}}/status"): Rule(
        P.BOOK, json=_v(Appointment, "appointment_id", status="no_show"), prepare=fresh_appointment
    ),
    ("POST", f"{API}/appointments/{{appointment_id}}/visit"): Rule(
        P.TREAT,
        json=lambda c: {"tolerance_limit": 6, "recheck": recheck_clear()},
        prepare=fresh_appointment,
    ),
    ("GET", "/daybook"): Rule(P.READ_CLINICAL, prepare=therapist_query),
    ("POST", "/daybook/appointments"): Rule(P.BOOK, form=_booking_form),
    ("GET", "/daybook/appointments/{appointment_id}"): Rule(P.READ_CLINICAL),
    ("POST", "/daybook/appointments/{appointment_id}/edit"): Rule(
        P.BOOK,
        form=lambda c: {
            "day": _slot().date().isoformat(),
            "time": "10:00",
            "minutes": "30",
            "version": str(c.version(Appointment, "appointment_id")),
        },
        prepare=fresh_appointment,
    ),
    ("POST", "/daybook/appointments/{appointment_id}/status"): Rule(
        P.BOOK, form=_v(Appointment, "appointment_id", status="arrived"), prepare=fresh_appointment
    ),
    ("GET", "/daybook/appointments/{appointment_id}/visit"): Rule(
        P.READ_CLINICAL, prepare=fresh_appointment
    ),
    ("GET", "/daybook.ics"): Rule(P.READ_CLINICAL, prepare=therapist_query),
    ("POST", "/daybook/import"): Rule(
        P.BOOK,
        form=lambda c: {
            "therapist": str(c.site.users[Role.THERAPIST].external_id),
            "file": EMPTY_CALENDAR,
        },
    ),
    # administration
    ("GET", f"{API}/admin/users"): Rule(P.MANAGE_USERS),
    ("POST", f"{API}/admin/users"): Rule(P.MANAGE_USERS, json=_new_user),
    ("GET", f"{API}/admin/tokens"): Rule(P.MANAGE_USERS),
    ("GET", f"{API}/admin/instruments"): Rule(P.MANAGE_INSTRUMENTS),
    ("POST", f"{API}/admin/instruments"): Rule(
        P.MANAGE_INSTRUMENTS, json=_const(label="Blade X", type_code="aluminium")
    ),
    ("POST", f"{API}/admin/instruments/{{instrument_id}}/retire"): Rule(
        P.MANAGE_INSTRUMENTS, json=_v(Instrument, "instrument_id"), late=6
    ),
    ("GET", f"{API}/admin/audit"): Rule(P.READ_AUDIT),
    ("GET", f"{API}/admin/audit.csv"): Rule(P.READ_AUDIT),
    # pages
    ("GET", "/"): Rule(ANY, patient_data=False),
    ("GET", "/account"): Rule(ANY),
    ("POST", "/account/tokens/{token_id}/revoke"): Rule(ANY, form=_const(), late=7),
    ("POST", "/account/logout-everywhere"): Rule(ANY, form=_const(), late=8, relogin=True),
    ("GET", "/admin/tokens"): Rule(P.MANAGE_USERS),
    ("POST", "/admin/tokens/{token_id}/revoke"): Rule(P.MANAGE_USERS, form=_const(), late=7),
    ("GET", "/admin"): Rule(P.READ_AUDIT),
    ("GET", "/admin/audit"): Rule(P.READ_AUDIT),
    ("GET", "/admin/audit.csv"): Rule(P.READ_AUDIT),
    ("GET", "/admin/users"): Rule(P.MANAGE_USERS),
    ("POST", "/admin/users"): Rule(P.MANAGE_USERS, form=_new_user),
    ("GET", "/admin/instruments"): Rule(P.MANAGE_INSTRUMENTS),
    ("POST", "/admin/instruments"): Rule(
        P.MANAGE_INSTRUMENTS, form=_const(label="Blade Y", type_code="plastic_composite")
    ),
    ("POST", "/admin/instruments/{instrument_id}/retire"): Rule(
        P.MANAGE_INSTRUMENTS, form=_v(Instrument, "instrument_id"), late=6
    ),
    # clinical pages (forms carry the same fields as the API, as the pages name them)
    ("GET", "/patients"): Rule(P.READ_CLINICAL),
    ("GET", "/patients/new"): Rule(ANY, patient_data=False),  # an empty form; POST is checked
    ("POST", "/patients"): Rule(P.WRITE_PATIENT, form=_new_patient),
    ("POST", "/patients/{patient_id}/merge"): Rule(
        P.MERGE_CHARTS, form=_merge_form, prepare=spare_duplicate
    ),
    ("POST", "/patient-merges/{merge_id}/undo"): Rule(
        P.MERGE_CHARTS, form=_const(reason="Two different people"), prepare=spare_merge
    ),
    ("GET", "/patients/{patient_id}"): Rule(P.READ_CLINICAL),
    ("GET", "/patients/{patient_id}/edit"): Rule(P.WRITE_PATIENT),
    ("POST", "/patients/{patient_id}/edit"): Rule(
        P.WRITE_PATIENT, form=lambda c: {**_patient(c), "version": c.version(Patient, "patient_id")}
    ),
    ("GET", "/patients/{patient_id}/visits"): Rule(P.READ_CLINICAL),
    ("POST", "/patients/{patient_id}/adverse-events"): Rule(
        P.RECORD_READINGS,
        form=_const(category="bruise", severity="mild", description="Small bruise."),
    ),
    ("POST", "/adverse-events/{event_id}/follow-up"): Rule(
        P.RECORD_READINGS, form=_v(AdverseEvent, "event_id", note="Better today.")
    ),
    ("GET", "/patients/{patient_id}/episodes/new"): Rule(
        P.READ_CLINICAL
    ),  # shows the record; the POST needs TREAT
    ("POST", "/patients/{patient_id}/episodes"): Rule(P.TREAT, form=_episode),
    ("GET", "/episodes/{episode_id}"): Rule(P.READ_CLINICAL),
    ("GET", "/episodes/{episode_id}/edit"): Rule(
        P.READ_CLINICAL
    ),  # shows the record; the POST needs TREAT
    ("POST", "/episodes/{episode_id}/edit"): Rule(
        P.TREAT, form=lambda c: {**_episode(c), "version": c.version(Episode, "episode_id")}
    ),
    ("GET", "/episodes/{episode_id}/visits"): Rule(P.READ_CLINICAL),
    ("GET", "/episodes/{episode_id}/progress-report.pdf"): Rule(P.READ_CLINICAL),
    # the site's episode is active: 409 until it is discharged
    ("GET", "/episodes/{episode_id}/discharge-summary.pdf"): Rule(
        P.READ_CLINICAL, expect_success=False
    ),
    ("GET", "/icd10"): Rule(ANY, patient_data=False),
    ("GET", "/episodes/{episode_id}/screening"): Rule(P.READ_CLINICAL),
    # a therapist records the screening; a role that may not (an assistant) has it kept as a
    # draft for a therapist, so the page accepts it from every clinical role
    ("POST", "/episodes/{episode_id}/screening"): Rule(
        P.READ_CLINICAL, form=lambda c: {f"ans_{r.id}": "no" for r in catalog.screening_rules()}
    ),
    ("GET", "/episodes/{episode_id}/consent"): Rule(P.READ_CLINICAL),
    ("POST", "/episodes/{episode_id}/consent"): Rule(P.CONSENT, form=_const(decision="granted")),
    ("POST", "/episodes/{episode_id}/consent/withdraw"): Rule(
        P.CONSENT, form=_const(), late=3, prepare=consent_again
    ),
    ("GET", "/episodes/{episode_id}/measure-form"): Rule(P.RECORD_READINGS),
    ("POST", "/episodes/{episode_id}/measure-score"): Rule(
        P.READ_CLINICAL, form=_const(measure="NPRS", item_1="4")
    ),
    ("POST", "/episodes/{episode_id}/measurements"): Rule(
        P.RECORD_READINGS, form=_const(measure="NPRS", item_1="4")
    ),
    ("GET", "/episodes/{episode_id}/visits/new"): Rule(
        P.READ_CLINICAL
    ),  # shows the record; the POST needs TREAT
    ("POST", "/episodes/{episode_id}/visits"): Rule(
        P.TREAT,
        form=lambda c: {
            "tolerance_limit": "6",
            **{f"ans_{r.id}": "no" for r in visit_recheck_rules()},
            "ans_A9": "reading",
            "bp_A9_systolic": "124",
            "bp_A9_diastolic": "78",
        },
    ),
    ("GET", "/visits/{visit_id}"): Rule(P.READ_CLINICAL),
    ("POST", "/visits/{visit_id}/phase"): Rule(
        P.TREAT, form=_v(Visit, "visit_id", phase="emollient")
    ),
    ("POST", "/visits/{visit_id}/areas"): Rule(
        P.TREAT, form=_const(**AREA, confirm_other_side="yes")
    ),
    ("POST", "/visits/{visit_id}/clearance"): Rule(
        P.SCREEN,
        form=_const(
            rule_id="A3",
            cleared_by="Dr. Synthetic",
            cleared_at="2026-01-05T09:00",
            note="Clot treated; cleared away from the leg.",
        ),
    ),
    ("POST", "/areas/{area_id}/dose"): Rule(P.TREAT, form=_v(TreatedArea, "area_id", seconds="90")),
    ("POST", "/areas/{area_id}/readings"): Rule(P.RECORD_READINGS, form=_const(value="3")),
    ("POST", "/areas/{area_id}/stop"): Rule(
        P.RECORD_READINGS, form=_const(reason="completed"), late=2, prepare=fresh_area
    ),
    ("POST", "/areas/{area_id}/skin"): Rule(
        P.RECORD_READINGS, form=_const(grade="erythema"), late=1
    ),
    ("POST", "/visits/{visit_id}/findings"): Rule(
        P.RECORD_READINGS, form=lambda c: {k: str(v) for k, v in FINDING.items()}
    ),
    ("POST", "/visits/{visit_id}/prescriptions"): Rule(
        P.TREAT, form=lambda c: {k: str(v) for k, v in RX.items()}
    ),
    ("POST", "/visits/{visit_id}/note"): Rule(
        P.RECORD_READINGS,
        form=_v(Visit, "visit_id", assessment="Tolerated well.", plan="Continue twice weekly."),
    ),
    ("POST", "/visits/{visit_id}/sign"): Rule(
        P.DOCUMENT, form=_v(Visit, "visit_id"), late=4, prepare=fresh_visit_to_sign
    ),
    ("POST", "/visits/{visit_id}/addenda"): Rule(
        P.DOCUMENT, form=_const(text="Phoned the patient."), late=5
    ),
    # the visit as a record: pre/post tests, billing, corrections, signature, documents
    ("POST", "/visits/{visit_id}/measurements"): Rule(
        P.RECORD_READINGS,
        form=_const(kind="rom", joint="elbow", motion="extension", side="right", pre_value="-5"),
    ),
    ("POST", "/measurements/{measurement_id}/post"): Rule(
        P.RECORD_READINGS, form=_const(post_value="320")
    ),
    ("POST", "/visits/{visit_id}/billing-lines"): Rule(
        P.TREAT, form=_const(code="97110", time="1:00")
    ),
    ("POST", "/visits/{visit_id}/in-error"): Rule(
        P.RECORD_READINGS,
        form=lambda c: {
            "kind": "finding",
            "record_id": c.site.ids.get("spare_finding_id", c.site.ids["finding_id"]),
            "reason": "Placed on the wrong side.",
        },
        prepare=spare_finding,
    ),
    ("POST", "/areas/{area_id}/time"): Rule(P.TREAT, form=_v(TreatedArea, "area_id", time="1:30")),
    ("POST", "/visits/{visit_id}/times"): Rule(
        P.TREAT, form=_v(Visit, "visit_id", started="00:00")
    ),
    ("POST", "/findings/{finding_id}/area"): Rule(
        P.RECORD_READINGS, form=lambda c: {"treated_area_id": c.site.ids["area_id"]}
    ),
    ("POST", "/visits/{visit_id}/cosign"): Rule(P.SIGN, late=7, prepare=assistant_signed_visit),
    ("GET", "/visits/{visit_id}/note.pdf"): Rule(P.READ_CLINICAL, late=6),
    ("GET", "/visits/{visit_id}/aftercare.pdf"): Rule(P.READ_CLINICAL),
    ("GET", "/visits/{visit_id}/superbill"): Rule(P.READ_CLINICAL),
    ("GET", "/charges.csv"): Rule(P.READ_CLINICAL),
    ("GET", "/admin/clinic"): Rule(P.MANAGE_USERS),
    ("POST", "/admin/clinic"): Rule(
        P.MANAGE_USERS, form=_const(address="1 Synthetic Way", phone="555-0100", billing_rule="cms")
    ),
    ("POST", "/admin/users/{user_id}/credentials"): Rule(
        P.MANAGE_USERS, form=_const(credentials="PT", licence_number="")
    ),
    ("GET", "/visits/{visit_id}/aftercare"): Rule(P.READ_CLINICAL),
    ("GET", "/visits/{visit_id}/note-draft"): Rule(P.READ_CLINICAL),
    ("GET", "/areas/{area_id}/sensor-live"): Rule(P.READ_CLINICAL),
    ("GET", "/doses"): Rule(P.ANALYTICS, patient_data=False),  # staff names and figures only
    ("POST", "/areas/{area_id}/intended"): Rule(
        P.TREAT, form=_const(force_min_n="4", force_max_n="7", strokes="30")
    ),
    ("GET", "/visits/{visit_id}/sheet"): Rule(P.READ_CLINICAL),
    ("POST", "/visits/{visit_id}/carry/areas"): Rule(
        P.TREAT, form=_const(area="0"), expect_success=False
    ),
    ("POST", "/visits/{visit_id}/carry/exercises"): Rule(
        P.TREAT, form=_const(), expect_success=False
    ),
    ("POST", "/visits/{visit_id}/carry/tests"): Rule(
        P.RECORD_READINGS, form=_const(**{"test-0": "250"}), expect_success=False
    ),
    ("POST", "/visits/{visit_id}/template"): Rule(
        P.TREAT, form=_const(name="Elbow again", condition_prefix="M77.1")
    ),
    ("GET", "/templates"): Rule(P.READ_CLINICAL, patient_data=False),
    ("POST", "/visits/{visit_id}/checkin-link"): Rule(P.WRITE_PATIENT, form=_const()),
    ("POST", "/patient-links/{link_id}/revoke"): Rule(
        P.WRITE_PATIENT, form=_const(), prepare=fresh_link
    ),
    ("POST", "/patient-links/{link_id}/email"): Rule(
        P.WRITE_PATIENT,
        form=lambda c: {"token": c.site.ids.get("link_token", ""), "email": "patient@example.org"},
        prepare=fresh_link,
    ),
    ("POST", "/episodes/{episode_id}/patient-links"): Rule(
        P.WRITE_PATIENT, form=_const(purpose="questionnaires", measures="NPRS")
    ),
    ("POST", "/checkins/{checkin_id}/adverse-event"): Rule(
        P.RECORD_READINGS, form=_const(severity="mild"), prepare=fresh_checkin
    ),
    ("POST", "/screening-drafts/{draft_id}/set-aside"): Rule(P.SCREEN, form=_const(), late=3),
    ("POST", "/templates/{template_id}"): Rule(
        P.TREAT,
        form=lambda c: {
            "name": "Elbow",
            "condition_prefix": "M77",
            "version": str(c.version(VisitTemplate, "template_id")),
        },
        patient_data=False,
    ),
    ("POST", "/templates/{template_id}/items"): Rule(
        P.TREAT,
        form=lambda c: {"tests": "0", "version": str(c.version(VisitTemplate, "template_id"))},
        patient_data=False,
        expect_success=False,
    ),
    ("POST", "/templates/{template_id}/retire"): Rule(
        P.TREAT, form=_const(), late=3, patient_data=False
    ),
    # evidence: bundled literature for everyone signed in; the clinic's own data for analytics
    ("GET", f"{API}/evidence/studies"): Rule(ANY),
    ("GET", f"{API}/evidence/pool"): Rule(ANY, expect_success=False),
    ("GET", f"{API}/evidence/clinic-comparison"): Rule(P.ANALYTICS, expect_success=False),
    ("GET", f"{API}/evidence/reliability"): Rule(P.ANALYTICS),
    ("GET", "/evidence"): Rule(ANY),
    ("GET", "/evidence/studies"): Rule(ANY),
    ("GET", "/evidence/clinic"): Rule(P.ANALYTICS, expect_success=False),
    ("GET", "/evidence/reliability"): Rule(P.ANALYTICS),
    ("GET", "/evidence/forest/{comparison}/{outcome}.svg"): Rule(
        ANY, loads_path_record=False, expect_success=False
    ),
    # clinic insight: aggregates for the analytics roles; a therapist's own patients' residuals
    # are audited one row per patient when shown (tests/services/test_insight.py)
    ("GET", f"{API}/insight/measures"): Rule(P.ANALYTICS),
    ("GET", f"{API}/insight/outcomes"): Rule(P.ANALYTICS, patient_data=False),
    ("GET", f"{API}/insight/safety"): Rule(P.ANALYTICS),
    ("GET", "/insight/outcomes"): Rule(P.ANALYTICS, patient_data=False),
    ("GET", "/insight/safety"): Rule(P.ANALYTICS),
    # FHIR R4: the patient's record, and the clinic's bulk export (status and files of a job
    # the therapist ran just before)
    ("GET", "/fhir/R4/Patient/{patient_id}/$everything"): Rule(P.READ_CLINICAL),
    ("GET", "/fhir/R4/$export"): Rule(P.READ_CLINICAL),
    ("GET", "/fhir/R4/$export-status"): Rule(P.READ_CLINICAL, patient_data=False, prepare=_job),
    ("GET", "/fhir/R4/$export-file"): Rule(P.READ_CLINICAL, patient_data=False, prepare=_job),
}

# Query strings some routes require.
QUERIES: dict[str, dict[str, str]] = {
    f"{API}/evidence/pool": {"outcome": "pain", "comparison": "hands_on_mfr"},
    f"{API}/evidence/clinic-comparison": {"condition_group": "lateral_elbow", "measure": "PRTEE"},
    f"{API}/insight/outcomes": {"measure": "PRTEE"},
    f"{API}/catalog/icd10": {"q": "M77"},
    f"{API}/appointments": {"since": "2026-12-07", "days": "7"},
    "/icd10": {"q": "M77"},
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str

    @property
    def params(self) -> list[str]:
        return re.findall(r"\{([a-z_]+)\}", self.path)

    def url(self, ids: dict[str, str]) -> str:
        """The path with every parameter filled; a parameter we cannot fill is a failure."""
        out = self.path
        for name in self.params:
            if name not in ids:
                raise AssertionError(
                    f"{self.method} {self.path}: no real object for path parameter {name!r}; "
                    "add it to tests/security/conftest.py"
                )
            out = out.replace("{" + name + "}", ids[name])
        return out


def _flatten(routes: list[Any]) -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of every route, looking inside included routers."""
    for route in routes:
        candidates = getattr(route, "effective_candidates", None)
        if candidates is not None:
            yield from _flatten(list(candidates()))
            continue
        original = getattr(route, "original_route", route)
        path = getattr(route, "path", None) or getattr(original, "path", None)
        methods = getattr(original, "methods", None) or set()
        if path is not None:
            yield path, set(methods)


def app_routes(app: FastAPI) -> list[Route]:
    """Every method+path the app answers right now, minus sign-in, static files and docs."""
    out: set[Route] = set()
    for path, methods in _flatten(list(app.routes)):
        if path in EXCLUDED_PATHS or path.startswith(EXCLUDED_PREFIXES):
            continue
        out |= {Route(m, path) for m in methods if m != "HEAD"}
    return sorted(out, key=lambda r: (r.path, r.method))


def ordered(routes: list[Route]) -> list[Route]:
    """Harmless routes first, then state-changing ones (stop, sign, logout...) in order."""
    return sorted(routes, key=lambda r: (RULES[(r.method, r.path)].late, r.path, r.method))


def unclassified(routes: list[Route]) -> list[str]:
    return [f"{r.method} {r.path}" for r in routes if (r.method, r.path) not in RULES]
