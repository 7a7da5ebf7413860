"""Two clinics, each with a user of every role and one of every clinical object.

The role matrix and the audit walk fill route path parameters from these real rows; the
second clinic supplies the ids another clinic must never reach.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_episode, make_patient, make_user
from tests.flow import recheck_answers

from strigil.config import Settings
from strigil.core import catalog
from strigil.core.screening import Answer
from strigil.services import (
    admin,
    adverse_events,
    appointments,
    auth,
    consents,
    drafts,
    measurements,
    merges,
    patient_links,
    screenings,
    treatment,
    visit_templates,
    visits,
)
from strigil.services.actors import Actor, Role
from strigil.store.clinics import Clinic, User

_seq = itertools.count(1)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """A mail server is named so the route that emails a patient link is walked too; it is
    never contacted (the outbox sender does not run here)."""
    return Settings(
        database_url=db_url,
        data_dir=tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=1,
        smtp_from="desk@clinic.example.org",
    )


@dataclass
class Site:
    """One clinic: its users by role, their API token ids, and ids of its clinical rows."""

    clinic: Clinic
    users: dict[Role, User]
    ids: dict[str, str] = field(default_factory=dict)
    tokens: dict[Role, str] = field(default_factory=dict)


@dataclass
class World:
    home: Site
    other: Site


def all_clear() -> dict[str, Answer]:
    """Every screening rule answered 'absent' (synthetic patient, nothing to report)."""
    return {r.id: Answer(present=False) for r in catalog.screening_rules()}


def recheck_clear() -> dict[str, Answer]:
    """The per-visit re-check (medications, skin) answered 'no change'; a normal reading."""
    return recheck_answers()


def build_site(session: Session) -> Site:
    """A clinic with one user per role and a treatable episode with an open visit and area."""
    clinic = make_clinic(session)
    users = {role: make_user(session, clinic, role=role.value) for role in Role}
    site = Site(clinic=clinic, users=users)
    for role, user in users.items():
        _, token = auth.issue_token(session=session, actor=actor(user), name=f"t{next(_seq)}")
        site.tokens[role] = str(token.external_id)
    therapist = users[Role.THERAPIST]
    who = actor(therapist)
    patient = make_patient(session, therapist)
    episode = make_episode(session, therapist, patient)
    screenings.screen(
        session=session, actor=who, episode_id=episode.external_id, answers=all_clear()
    )
    consents.record(session=session, actor=who, episode_id=episode.external_id, decision="granted")
    visit = visits.start(
        session=session,
        actor=who,
        episode_id=episode.external_id,
        data=visits.VisitStart(tolerance_limit=6, recheck=recheck_clear()),
    )
    area = treatment.add_area(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        data=treatment.AreaInput(
            body_site="lateral_elbow",
            side="right",
            instrument_type="stainless_steel",
            intensity="gentle",
            strokes=("sweep",),
            angle_deg=45,
        ),
    )
    event = adverse_events.report(
        session=session,
        actor=who,
        patient_id=patient.external_id,
        data=adverse_events.EventInput("bruise", "mild", "Small bruise after treatment."),
    )
    finding = treatment.add_finding(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        data=treatment.FindingInput("back", 0.3, 0.4, "lateral_elbow", "gravelly", 2),
    )
    measurement = measurements.add(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        data=measurements.MeasurementInput(kind="ppt", pre_value=300.0),
    )
    instrument = admin.add_instrument(
        session=session,
        actor=actor(users[Role.ADMIN]),
        data=admin.InstrumentInput(label=f"Blade {next(_seq)}", type_code="stainless_steel"),
    )
    template = visit_templates.save_from_visit(
        session=session, actor=who, visit_id=visit.external_id, name="Elbow", condition_prefix="M77"
    )
    draft = drafts.save(
        session=session,
        actor=actor(users[Role.ASSISTANT]),
        kind="screening",
        episode_id=episode.external_id,
        fields={"ans_R1": ["yes"]},
    )
    spare = [
        make_patient(session, therapist, given_name=name, birth_date=date(1970, 1, 1))
        for name in ("Merged", "Kept")
    ]
    merge = merges.merge(
        session=session,
        actor=who,
        source_id=spare[0].external_id,
        target_id=spare[1].external_id,
        reason="Registered twice",
    )
    [appointment] = appointments.book(
        session=session,
        actor=who,
        data=appointments.AppointmentInput(
            patient.external_id, therapist.external_id, datetime(2026, 12, 7, 9, tzinfo=UTC)
        ),
    )
    link, checkin = checkin_for(session, who, visit.external_id)
    site.ids = {
        "link_id": str(link.external_id),
        "checkin_id": str(checkin.external_id),
        "draft_id": str(draft.external_id),
        "template_id": str(template.external_id),
        "appointment_id": str(appointment.external_id),
        "patient_id": str(patient.external_id),
        "episode_id": str(episode.external_id),
        "visit_id": str(visit.external_id),
        "area_id": str(area.external_id),
        "event_id": str(event.external_id),
        "instrument_id": str(instrument.external_id),
        "finding_id": str(finding.external_id),
        "measurement_id": str(measurement.external_id),
        "merge_id": str(merge.external_id),
        "user_id": str(therapist.external_id),
        "comparison": "hands_on_mfr",  # not records: literature keys for the forest plot
        "outcome": "pain",
    }
    session.flush()
    return site


WORRYING_CHECKIN = {
    "soreness": "5",
    "bruising": "spreading",
    "skin_broken": "no",
    "calf_pain": "no",
    "numbness": "no",
}


def checkin_for(
    session: Session, who: Actor, visit_id: object
) -> tuple[patient_links.PatientLink, patient_links.Checkin]:
    """A used check-in link and the worrying check-in sent through it; the open link the
    issue returns is revoked or used by the routes under test."""
    token, link = patient_links.issue_checkin(session=session, actor=who, visit_id=visit_id)
    checkin = patient_links.submit_checkin(
        session=session,
        token=token,
        fields=WORRYING_CHECKIN,
        client_ip=None,
        throttle=patient_links.Throttle(),
    )
    return link, checkin


@pytest.fixture
def world(session: Session) -> World:
    return World(home=build_site(session), other=build_site(session))


def unique_email() -> str:
    return f"new{next(_seq)}-{uuid.uuid4().hex[:6]}@clinic.test"
