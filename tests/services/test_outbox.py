"""Patient-link emails through a real SMTP server started by the test (aiosmtpd): delivery,
a refused connection retried with doubling pauses, giving up, and what a message may say."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_user
from tests.flow import iastm_visit

from strigil.errors import Conflict, InvalidInput
from strigil.services import outbox, patient_links
from strigil.services.mail import SmtpConfig, SmtpMailer
from strigil.store.base import utcnow
from strigil.store.clinics import User
from strigil.store.patient_links import PatientLink

BASE = "https://clinic.example.org"
# Words that would tell a reader of the email about the patient's body or care.
CLINICAL = (
    "iastm", "elbow", "epicondyl", "tennis", "m77", "bruis", "sore", "pain", "swell", "numb",
    "tingl", "treat", "therap", "condition", "diagnos", "check-in", "visit", "injur",
    "moretón", "dolor", "codo", "tratamiento",
)  # fmt: skip


@dataclass
class Inbox:
    """What the test's SMTP server received."""

    messages: list[tuple[str, list[str], Message]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content))
        )
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(port: int) -> tuple[Controller, Inbox]:
    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    return server, inbox


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    port = free_port()
    server, inbox = start_server(port)
    yield port, inbox
    server.stop()


@pytest.fixture
def therapist(session: Session) -> User:
    return make_user(session, make_clinic(session, "Harbour Physio"))


def mailer(port: int) -> SmtpMailer:
    return SmtpMailer(
        SmtpConfig(host="127.0.0.1", port=port, sender="desk@harbour.example.org",
                   security="none", timeout=5)
    )  # fmt: skip


def issued(
    session: Session, therapist: User, language: str | None = None, email: str | None = None
) -> tuple[str, PatientLink]:
    visit = iastm_visit(session, therapist)
    visit.episode.patient.email = email
    return patient_links.issue_checkin(
        session=session, actor=actor(therapist), visit_id=visit.external_id, language=language
    )


def queue(session: Session, therapist: User, token: str, link: PatientLink, **kw: Any) -> Any:
    return outbox.queue_link_email(
        session=session,
        actor=actor(therapist),
        link_id=link.external_id,
        token=token,
        base_url=BASE,
        **kw,
    )


def test_a_link_email_is_delivered_with_the_link_and_nothing_clinical(
    session: Session,
    therapist: User,
    smtp: tuple[int, Inbox],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    port, inbox = smtp
    token, link = issued(session, therapist, email="ada.patient@example.org")
    patient = patient_links.patient_email(session, link)
    assert patient == "ada.patient@example.org"
    message = queue(session, therapist, token, link)
    assert message.status == "queued" and message.recipient == "ada.patient@example.org"

    done = outbox.deliver_due(session=session, mailer=mailer(port), policy=outbox.RetryPolicy())
    assert done == outbox.Delivery(sent=1)
    assert len(inbox.messages) == 1
    sender, recipients, email = inbox.messages[0]
    assert sender == "desk@harbour.example.org" and recipients == ["ada.patient@example.org"]
    body = email.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert f"{BASE}/p/{token}" in body and "Harbour Physio" in body
    assert email["Subject"] == "A message from Harbour Physio"
    row = patient_links.store.patient_of(session, link.clinic_id, link.patient_id)
    words = (body + " " + email["Subject"]).lower()
    assert row.given_name.lower() not in words and row.family_name.lower() not in words
    assert [w for w in CLINICAL if w in words] == []

    assert message.status == "sent" and message.sent_at is not None and message.attempts == 1
    assert token not in message.body  # the stored copy no longer opens the form
    assert all(token not in r.getMessage() for r in caplog.records)


def test_a_refused_connection_is_retried_with_doubling_pauses(
    session: Session, therapist: User, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()  # nothing listens here yet
    token, link = issued(session, therapist)
    message = queue(session, therapist, token, link, recipient="someone@example.org")
    policy = outbox.RetryPolicy(max_attempts=4, first_delay=timedelta(seconds=60))
    start = utcnow()

    first = outbox.deliver_due(session=session, mailer=mailer(port), policy=policy, now=start)
    assert first == outbox.Delivery(retrying=1)
    assert message.status == "queued" and message.attempts == 1
    assert "ConnectionRefusedError" in (message.last_error or "")
    assert message.next_attempt_at == start + timedelta(seconds=60)
    assert token in message.body  # still needed to send

    not_yet = start + timedelta(seconds=30)
    assert outbox.deliver_due(session=session, mailer=mailer(port), policy=policy, now=not_yet) == (
        outbox.Delivery()
    )
    second = start + timedelta(seconds=61)
    outbox.deliver_due(session=session, mailer=mailer(port), policy=policy, now=second)
    assert message.attempts == 2 and message.next_attempt_at == second + timedelta(seconds=120)

    server, inbox = start_server(port)  # the mail server comes back
    try:
        third = second + timedelta(seconds=121)
        done = outbox.deliver_due(session=session, mailer=mailer(port), policy=policy, now=third)
    finally:
        server.stop()
    assert done == outbox.Delivery(sent=1) and len(inbox.messages) == 1
    assert message.status == "sent" and message.attempts == 3 and message.last_error is None
    assert all(token not in r.getMessage() for r in caplog.records)


def test_after_the_last_attempt_the_message_is_failed_and_the_link_blanked(
    session: Session, therapist: User
) -> None:
    port = free_port()
    token, link = issued(session, therapist)
    message = queue(session, therapist, token, link, recipient="someone@example.org")
    policy = outbox.RetryPolicy(max_attempts=2, first_delay=timedelta(seconds=1))
    moment = utcnow()
    for _ in range(2):
        outbox.deliver_due(session=session, mailer=mailer(port), policy=policy, now=moment)
        moment += timedelta(hours=1)
    assert message.status == "failed" and message.attempts == 2
    assert token not in message.body and "/p/[link removed after sending]" in message.body
    assert outbox.deliver_due(session=session, mailer=mailer(port), policy=policy, now=moment) == (
        outbox.Delivery()
    )


def test_the_email_speaks_the_language_of_the_link(
    session: Session, therapist: User, smtp: tuple[int, Inbox]
) -> None:
    port, inbox = smtp
    token, link = issued(session, therapist, language="es", email="ana@example.org")
    queue(session, therapist, token, link)
    outbox.deliver_due(session=session, mailer=mailer(port), policy=outbox.RetryPolicy())
    email = inbox.messages[0][2]
    body = email.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert email["Subject"] == "Un mensaje de Harbour Physio"
    assert "Ábralo aquí:" in body and f"/p/{token}" in body
    assert [w for w in CLINICAL if w in body.lower()] == []


def test_bad_requests_queue_nothing(session: Session, therapist: User) -> None:
    token, link = issued(session, therapist)
    with pytest.raises(InvalidInput) as no_address:
        queue(session, therapist, token, link)
    assert no_address.value.field == "email"
    with pytest.raises(InvalidInput) as typo:
        queue(session, therapist, token, link, recipient="ana@example")
    assert typo.value.field == "email"
    with pytest.raises(InvalidInput) as wrong:
        queue(session, therapist, "not-the-token", link, recipient="ana@example.org")
    assert wrong.value.field == "token"
    patient_links.revoke(session=session, actor=actor(therapist), link_id=link.external_id)
    with pytest.raises(Conflict):
        queue(session, therapist, token, link, recipient="ana@example.org")
    assert outbox.messages_for_links(session=session, actor=actor(therapist), links=[link]) == {}


def test_an_unknown_language_is_refused_when_issuing(session: Session, therapist: User) -> None:
    with pytest.raises(InvalidInput) as error:
        issued(session, therapist, language="xx")
    assert error.value.field == "language"
