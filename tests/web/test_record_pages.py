"""The visit page as a record: pre/post tests, typed time, undo, billing, sign, PDFs, CSV."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories import actor, login, make_clinic, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, recheck_answers

from strigil.services import treatment, visits
from strigil.store.visits import BillingLine, TreatedArea, Visit, VisitMeasurement

HTML = {"Accept": "text/html"}


def _visit(session: Session, client: TestClient) -> tuple[Visit, TreatedArea]:
    clinic = make_clinic(session)
    therapist = make_user(session, clinic, display_name="Kim Lee")
    therapist.credentials = "PT"
    patient = make_patient(session, therapist)
    episode = make_episode(session, therapist, patient)
    ready_for_iastm(session, therapist, episode)
    who = actor(therapist)
    visit = visits.start(
        session=session,
        actor=who,
        episode_id=episode.external_id,
        data=visits.VisitStart(tolerance_limit=6, recheck=recheck_answers()),
    )
    area = treatment.add_area(
        session=session,
        actor=who,
        visit_id=visit.external_id,
        data=treatment.AreaInput("lateral_elbow", "right", "stainless_steel", "gentle", ("fan",)),
    )
    session.flush()
    login(client, therapist)
    return visit, area


def test_a_visit_recorded_corrected_billed_signed_and_printed(
    session: Session, client: TestClient
) -> None:
    visit, area = _visit(session, client)
    url = f"/visits/{visit.external_id}"
    page = client.get(url, headers=HTML)
    assert page.status_code == 200
    assert 'data-testid="zero-time-warning"' in page.text and 'data-testid="test-form"' in page.text
    form = {"kind": "rom", "joint": "elbow", "motion": "extension", "side": "right"}
    assert client.post(f"{url}/measurements", data=form | {"pre_value": "-12"}).status_code < 400
    measurement = session.scalars(
        select(VisitMeasurement).where(VisitMeasurement.visit_id == visit.id)
    ).one()
    client.post(f"/measurements/{measurement.external_id}/post", data={"post_value": "-5"})
    reading = client.post(f"/areas/{area.external_id}/readings", data={"value": "8"})
    assert reading.status_code < 400
    session.expire_all()
    assert session.get_one(TreatedArea, area.id).status == "stopped"
    wrong = treatment.readings(session, visit, [area.id])[area.id][-1]
    client.post(
        f"{url}/in-error",
        data={"kind": "reading", "record_id": str(wrong.external_id), "reason": "meant 3"},
    )
    session.expire_all()
    assert session.get_one(TreatedArea, area.id).status == "active"
    client.post(f"/areas/{area.external_id}/stop", data={"reason": "completed"})
    session.expire_all()
    typed = {"time": "7:59", "version": str(session.get_one(TreatedArea, area.id).version)}
    assert client.post(f"/areas/{area.external_id}/time", data=typed).status_code < 400
    client.post(f"{url}/billing-lines", data={"code": "97110", "time": "15:30"})
    page = client.get(url, headers=HTML).text
    assert "-12" in page and "+7" in page  # the test with its change
    assert re.search(r'data-testid="units-97140">0<', page)  # 7 min: no unit on its own
    # 7:59 + 15:30 counted down is 22 min → 1 unit (rounded it would be 24 min → 2 units)
    assert re.search(r'data-testid="units-97110">1<', page)
    assert re.search(r'data-testid="timed-minutes">22<', page)
    assert 'data-testid="zero-time-warning"' not in page
    draft = client.get(f"/api/v1/visits/{visit.external_id}/note-draft").json()
    note = {k: draft[k] for k in ("subjective", "objective", "assessment")} | {"plan": "Continue."}
    signed = client.post(f"{url}/sign", data=note | {"version": str(visit.version)})
    assert signed.status_code < 400, signed.text
    page = client.get(url, headers=HTML).text
    assert "Kim Lee, PT" in page and 'data-testid="digest"' in page
    pdf = client.get(f"{url}/note.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert client.get(f"{url}/aftercare.pdf").content.startswith(b"%PDF")
    superbill = client.get(f"{url}/superbill", headers=HTML)
    assert superbill.status_code == 200 and "97110" in superbill.text
    day = visit.started_at.date().isoformat()
    csv = client.get(f"/charges.csv?day={day}").text
    assert csv.splitlines()[0].startswith("date,visit_id") and ",97110," in csv


def test_bad_input_names_the_field_and_changes_nothing(
    session: Session, client: TestClient
) -> None:
    visit, area = _visit(session, client)
    url = f"/visits/{visit.external_id}"
    unknown = client.post(
        f"{url}/billing-lines", data={"code": "99999", "time": "10:00"}, headers=HTML
    )
    assert unknown.status_code == 422 and 'data-field="code"' in unknown.text
    assert "not in the catalogue" in unknown.text
    at = {"version": str(area.version)}
    bad_time = client.post(f"/areas/{area.external_id}/time", data={"time": "7:75"} | at)
    assert bad_time.status_code == 422 and 'data-field="time"' in bad_time.text
    over = client.post(f"/areas/{area.external_id}/time", data={"time": "61:00"} | at)
    assert over.status_code == 422 and 'data-field="seconds"' in over.text
    unversioned = client.post(f"/areas/{area.external_id}/time", data={"time": "20:00"})
    assert unversioned.status_code == 422 and 'data-field="version"' in unversioned.text
    client.post(f"/areas/{area.external_id}/time", data={"time": "20:00"} | at)
    start = visit.started_at.strftime("%H:%M")
    ends = {"started": start, "ended": start, "version": str(visit.version)}
    short = client.post(f"{url}/times", data=ends, headers=HTML)
    assert short.status_code == 422 and 'data-field="ended_at"' in short.text
    bad = client.post(f"{url}/times", data={"started": "25:99", "version": str(visit.version)})
    assert bad.status_code == 422 and 'data-field="started_at"' in bad.text
    session.expire_all()
    assert session.get_one(TreatedArea, area.id).seconds == 20 * 60
    assert session.get_one(Visit, visit.id).ended_at is None
    assert session.query(BillingLine).filter_by(visit_id=visit.id).count() == 0


def test_admin_sets_letterhead_billing_rule_and_credentials(
    session: Session, client: TestClient
) -> None:
    clinic = make_clinic(session)
    admin = make_user(session, clinic, role="admin")
    therapist = make_user(session, clinic)
    session.flush()
    login(client, admin)
    bad = client.post("/admin/clinic", data={"billing_rule": "medicaid"}, headers=HTML)
    assert bad.status_code == 422 and "billing rule" in bad.text
    form = {
        "address": "3 Synthetic Lane",
        "phone": "555-0199",
        "billing_rule": "ama",
        "assistant_notes_need_cosign": "yes",
    }
    assert client.post("/admin/clinic", data=form).status_code < 400
    cred = client.post(
        f"/admin/users/{therapist.external_id}/credentials",
        data={"credentials": "DPT", "licence_number": "PT 4711"},
    )
    assert cred.status_code < 400
    session.expire_all()
    assert (clinic.address, clinic.phone, clinic.billing_rule) == (
        "3 Synthetic Lane",
        "555-0199",
        "ama",
    )
    assert clinic.assistant_notes_need_cosign
    assert (therapist.credentials, therapist.licence_number) == ("DPT", "PT 4711")
    bad_cred = client.post(
        f"/admin/users/{therapist.external_id}/credentials",
        data={"credentials": "<b>PT</b>", "licence_number": ""},
    )
    assert bad_cred.status_code == 422 and 'data-field="credentials"' in bad_cred.text
    session.expire_all()
    assert therapist.credentials == "DPT"


def test_a_reading_counts_even_when_the_timers_time_is_refused(
    session: Session, client: TestClient
) -> None:
    visit, area = _visit(session, client)
    visit.ended_at = visit.started_at + timedelta(minutes=5)
    session.flush()
    posted = client.post(
        f"/areas/{area.external_id}/readings", data={"value": "7", "elapsed_seconds": "900"}
    )
    assert posted.status_code < 400
    session.expire_all()
    stopped = session.get_one(TreatedArea, area.id)
    assert stopped.status == "stopped" and stopped.seconds == 0  # 15 min > the 5-min visit
