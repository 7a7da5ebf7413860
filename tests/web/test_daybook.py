"""Day book pages and API: book, refuse clashes and endless series, statuses, start the visit,
the dashboard's Today, iCalendar over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session
from tests.factories import actor, login, make_clinic, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, recheck_clear
from tests.web.test_query_counts import counting

from strigil.core.screening import visit_recheck_rules
from strigil.services import appointments
from strigil.services.appointments import AppointmentInput
from strigil.store.appointments import Appointment
from strigil.store.clinics import User
from strigil.store.patients import Patient

API = "/api/v1/appointments"
NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = NOW.date()


@pytest.fixture
def therapist(session: Session) -> User:
    return make_user(session, make_clinic(session))


@pytest.fixture
def patient(session: Session, therapist: User) -> Patient:
    return make_patient(session, therapist, given_name="Dora", family_name="Daybook")


def _count(session: Session, clinic_id: int) -> int:
    session.expire_all()
    query = select(func.count()).select_from(Appointment)
    return int(session.scalar(query.where(Appointment.clinic_id == clinic_id)) or 0)


def _book(session: Session, therapist: User, patient: Patient, hour: int) -> Appointment:
    start = datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=hour)
    [row] = appointments.book(
        session=session,
        actor=actor(therapist),
        data=AppointmentInput(patient.external_id, therapist.external_id, start),
    )
    session.flush()
    return row


def _form(therapist: User, patient: Patient, **extra: str) -> dict[str, str]:
    return {
        "patient": patient.record_number,
        "therapist": str(therapist.external_id),
        "day": TODAY.isoformat(),
        "time": "09:00",
        "minutes": "45",
        **extra,
    }


def test_book_on_the_page_and_see_it_in_the_day(
    client: TestClient, session: Session, therapist: User, patient: Patient
) -> None:
    login(client, therapist)
    res = client.post("/daybook/appointments", data=_form(therapist, patient, note="New knee"))
    assert res.status_code == 200 and "Dora Daybook" in res.text  # followed the redirect
    assert "09:00" in res.text and "booked" in res.text
    assert _count(session, therapist.clinic_id) == 1
    week = client.get(f"/daybook?therapist={therapist.external_id}&day={TODAY}&view=week")
    assert week.status_code == 200 and "Dora Daybook" in week.text


def test_a_clash_on_the_page_is_refused_and_named(
    client: TestClient, session: Session, therapist: User, patient: Patient
) -> None:
    _book(session, therapist, patient, 9)
    login(client, therapist)
    res = client.post("/daybook/appointments", data=_form(therapist, patient, time="09:30"))
    assert res.status_code == 409
    assert "already has an appointment from" in res.text and "09:00" in res.text
    assert _count(session, therapist.clinic_id) == 1


def test_a_series_without_end_is_refused_on_the_page(
    client: TestClient, session: Session, therapist: User, patient: Patient
) -> None:
    login(client, therapist)
    res = client.post("/daybook/appointments", data=_form(therapist, patient, every_weeks="1"))
    assert res.status_code == 422
    assert 'data-field="repeat"' in res.text and "must end" in res.text
    assert _count(session, therapist.clinic_id) == 0
    res = client.post(
        "/daybook/appointments", data=_form(therapist, patient, every_weeks="1", count="3")
    )
    assert res.status_code == 200 and _count(session, therapist.clinic_id) == 3


def test_status_buttons_and_move(
    client: TestClient, session: Session, therapist: User, patient: Patient
) -> None:
    row = _book(session, therapist, patient, 9)
    session.commit()
    login(client, therapist)
    page = client.get(f"/daybook/appointments/{row.external_id}")
    assert page.status_code == 200 and "No-show" in page.text
    res = client.post(
        f"/daybook/appointments/{row.external_id}/edit",
        data={"day": TODAY.isoformat(), "time": "11:15", "minutes": "30", "version": "1"},
    )
    assert res.status_code == 200 and "11:15" in res.text
    res = client.post(
        f"/daybook/appointments/{row.external_id}/status",
        data={"status": "no_show", "version": "2"},
    )
    assert res.status_code == 200 and "no-show" in res.text
    stale = client.post(
        f"/daybook/appointments/{row.external_id}/status",
        data={"status": "booked", "version": "1"},
    )
    assert stale.status_code == 409


def test_start_visit_from_the_dashboard(
    client: TestClient, session: Session, therapist: User, patient: Patient
) -> None:
    episode = make_episode(session, therapist, patient)
    ready_for_iastm(session, therapist, episode)
    row = _book(session, therapist, patient, 0)
    session.commit()
    login(client, therapist)
    home = client.get("/")
    assert 'data-testid="today-appointments"' in home.text and "Start visit" in home.text
    start = client.get(f"/daybook/appointments/{row.external_id}/visit")
    assert start.status_code == 200
    assert f'name="appointment" value="{row.external_id}"' in start.text
    form = {
        "appointment": str(row.external_id),
        "tolerance_limit": "6",
        **{f"ans_{r.id}": "no" for r in visit_recheck_rules()},
        "ans_A9": "reading",
        "bp_A9_systolic": "124",
        "bp_A9_diastolic": "78",
    }
    res = client.post(f"/episodes/{episode.external_id}/visits", data=form)
    assert res.status_code == 200, res.text[:300]
    session.expire_all()
    stored = session.scalar(select(Appointment).where(Appointment.id == row.id))
    assert stored is not None and stored.visit_id is not None and stored.status == "arrived"
    home = client.get("/")
    assert "Open visit" in home.text and "arrived" in home.text


def test_api_book_list_status_and_refusals(
    client: TestClient, session: Session, therapist: User, patient: Patient
) -> None:
    login(client, therapist)
    body = {
        "patient_id": str(patient.external_id),
        "therapist_id": str(therapist.external_id),
        "starts_at": "2026-12-07T09:00:00+00:00",
        "minutes": 45,
        "repeat": {"every_weeks": 1, "count": 2},
    }
    res = client.post(API, json=body)
    assert res.status_code == 201, res.text
    booked = res.json()
    assert len(booked["ids"]) == 2 and booked["series_id"]
    clash = client.post(
        API, json={**body, "starts_at": "2026-12-14T09:30:00+00:00", "repeat": None}
    )
    assert clash.status_code == 409 and clash.json()["code"] == "appointment_overlap"
    assert clash.json()["conflict"]["appointment_id"] == booked["ids"][1]
    endless = client.post(API, json={**body, "repeat": {"every_weeks": 1}})
    assert endless.status_code == 422
    assert endless.json()["field"] == "repeat" and endless.json()["code"] == "series_without_end"
    assert _count(session, therapist.clinic_id) == 2
    listed = client.get(API, params={"since": "2026-12-07", "days": 14})
    assert [a["id"] for a in listed.json()] == booked["ids"]
    one = client.get(f"{API}/{booked['ids'][0]}").json()
    changed = client.post(
        f"{API}/{one['id']}/status", json={"status": "cancelled", "version": one["version"]}
    )
    assert changed.status_code == 200 and changed.json()["status"] == "cancelled"
    again = client.post(f"{API}/{one['id']}/status", json={"status": "booked", "version": 2})
    assert again.status_code == 409 and again.json()["code"] == "status_transition"


def test_api_start_visit_links_it(
    client: TestClient, session: Session, therapist: User, patient: Patient
) -> None:
    episode = make_episode(session, therapist, patient)
    ready_for_iastm(session, therapist, episode)
    row = _book(session, therapist, patient, 1)
    session.commit()
    login(client, therapist)
    res = client.post(
        f"{API}/{row.external_id}/visit", json={"tolerance_limit": 6, "recheck": recheck_clear()}
    )
    assert res.status_code == 201, res.text
    one = client.get(f"{API}/{row.external_id}").json()
    assert one["visit_id"] == res.json()["id"] and one["status"] == "arrived"
    assert one["episode_id"] == str(episode.external_id)


def test_api_roles(client: TestClient, session: Session, therapist: User, patient: Patient) -> None:
    body = {
        "patient_id": str(patient.external_id),
        "therapist_id": str(therapist.external_id),
        "starts_at": "2026-12-07T09:00:00+00:00",
    }
    login(client, make_user(session, therapist.clinic, role="researcher"))
    assert client.post(API, json=body).status_code == 403
    login(client, make_user(session, therapist.clinic, role="assistant"))
    assert client.post(API, json=body).status_code == 201
    assert (
        client.post(
            f"{API}/import", json={"therapist_id": body["therapist_id"], "calendar": "x"}
        ).status_code
        == 422
    )
    login(client, make_user(session, make_clinic(session)))
    assert client.post(API, json=body).status_code == 404


def test_ics_over_http_round_trip_and_bad_file(
    client: TestClient, session: Session, therapist: User, patient: Patient
) -> None:
    _book(session, therapist, patient, 9)
    session.commit()
    login(client, therapist)
    res = client.get(f"{API}.ics", params={"therapist_id": str(therapist.external_id)})
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/calendar")
    assert f"({patient.record_number})" in res.text
    page_export = client.get(f"/daybook.ics?therapist={therapist.external_id}")
    assert "BEGIN:VEVENT" in page_export.text
    before = _count(session, therapist.clinic_id)
    bad = client.post(
        "/daybook/import",
        data={"therapist": str(therapist.external_id)},
        files={"file": ("notes.ics", b"just some notes", "text/calendar")},
    )
    assert bad.status_code == 422 and "not iCalendar" in bad.text
    assert _count(session, therapist.clinic_id) == before
    colleague = make_user(session, therapist.clinic)
    session.commit()
    moved = res.content.replace(b"@strigil", b"@elsewhere")
    good = client.post(
        "/daybook/import",
        data={"therapist": str(colleague.external_id)},
        files={"file": ("day.ics", moved, "text/calendar")},
    )
    assert good.status_code == 200 and "1 appointment(s) booked" in good.text
    assert _count(session, therapist.clinic_id) == before + 1


def test_dashboard_queries_do_not_grow_with_appointments(
    client: TestClient, session: Session, connection: Connection
) -> None:
    counts = []
    for n in (1, 8):
        user = make_user(session, make_clinic(session))
        for hour in range(n):
            _book(session, user, make_patient(session, user), hour)
        session.commit()
        login(client, user)
        with counting(connection) as seen:
            res = client.get("/", headers={"accept": "text/html"})
        assert res.status_code == 200 and res.text.count("Start visit") == n
        counts.append(len(seen))
    assert counts[0] == counts[1]


def test_another_clinic_cannot_reach_an_appointment(
    client: TestClient, session: Session, therapist: User, patient: Patient
) -> None:
    row = _book(session, therapist, patient, 9)
    session.commit()
    login(client, make_user(session, make_clinic(session)))
    assert client.get(f"{API}/{row.external_id}").status_code == 404
    assert client.get(f"/daybook/appointments/{row.external_id}").status_code == 404
    res = client.post(f"{API}/{row.external_id}/status", json={"status": "cancelled", "version": 1})
    assert res.status_code == 404
    session.expire_all()
    stored = session.scalar(select(Appointment).where(Appointment.id == row.id))
    assert stored is not None and stored.status == "booked"


def test_dashboard_overview_is_reused_only_while_nothing_changed(
    client: TestClient,
    session: Session,
    connection: Connection,
    therapist: User,
    patient: Patient,
) -> None:
    from strigil.store.audit import AuditEvent

    def dashboard_reads() -> int:
        session.expire_all()
        query = select(func.count(AuditEvent.id)).where(AuditEvent.entity_type == "dashboard")
        return int(session.scalar(query.where(AuditEvent.user_id == therapist.id)) or 0)

    _book(session, therapist, patient, 9)
    session.commit()
    login(client, therapist)
    with counting(connection) as fresh:
        assert client.get("/").text.count("Dora Daybook") >= 1
    with counting(connection) as reused:
        second = client.get("/")  # nothing changed: the same overview, read audited again
    assert second.text.count("Dora Daybook") >= 1 and dashboard_reads() == 2
    assert len(reused) < len(fresh) - 4
    other = make_patient(session, therapist, given_name="Eve", family_name="Latecomer")
    _book(session, therapist, other, 10)
    session.commit()  # a change moves the clinic's revision on: the next overview is fresh
    assert "Eve Latecomer" in client.get("/").text and dashboard_reads() == 3


def test_times_typed_in_the_day_book_are_the_clinics_own(
    client: TestClient, session: Session, therapist: User, patient: Patient
) -> None:
    """A clinic in Chicago books 09:00 on 2026-12-07: stored as 15:00 UTC, shown as 09:00."""
    therapist.clinic.timezone = "America/Chicago"
    session.flush()
    login(client, therapist)
    form = _form(therapist, patient) | {"day": "2026-12-07"}
    res = client.post("/daybook/appointments", data=form)
    assert res.status_code == 200
    session.expire_all()
    row = session.scalars(select(Appointment).where(Appointment.clinic_id == therapist.clinic_id))
    assert row.one().starts_at.astimezone(UTC).hour == 15
    day = client.get(f"/daybook?therapist={therapist.external_id}&day=2026-12-07").text
    assert "09:00–09:45" in day and "America/Chicago" in day
