"""Patient-link emails: queued by the clinic, delivered by the sender with retries.

Why this shape: issuing a link must not wait on a mail server, so the request only queues a
row; ``deliver_due`` (run by ``strigil outbox send``) sends what is due, and a failed attempt
waits twice as long as the one before until the clinic's attempt limit, then the message is
marked failed for the clinic to see. The message carries the link and the clinic's name and
phone only: no patient name, no condition, no visit details (ADR 0018), because email is
read on shared screens and lock screens and may be forwarded. Once a message is sent or given
up, the link is blanked from its body, so the outbox never becomes a store of open links. The
sender logs message ids, never an address, a body or a link.
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from strigil.core import i18n
from strigil.errors import Conflict, InvalidInput
from strigil.services import audit
from strigil.services.actors import Actor, Permission, require
from strigil.services.mail import Mailer
from strigil.services.patient_links import digest, is_open, link_path
from strigil.services.records import get_owned
from strigil.store import clinics as clinic_store
from strigil.store import outbox as store
from strigil.store import patient_links as link_store
from strigil.store.base import utcnow
from strigil.store.outbox import FAILED, QUEUED, SENT
from strigil.store.outbox import OutboxMessage as OutboxMessage
from strigil.store.patient_links import PatientLink

log = logging.getLogger("strigil.outbox")

# One @, something before it, a dot after it, no spaces: enough to catch typing slips; the
# mail server is the judge of the rest.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
_LINK = re.compile(r"/p/[A-Za-z0-9_\-]+")
_SCRUBBED = "/p/[link removed after sending]"
_ERROR_MAX = 500


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a message is retried."""

    max_attempts: int = 6
    first_delay: timedelta = timedelta(minutes=1)
    longest: timedelta = timedelta(hours=6)

    def delay(self, attempts: int) -> timedelta:
        """The pause after the ``attempts``-th failure: the first delay, doubling."""
        return min(self.first_delay * (2 ** min(attempts - 1, 20)), self.longest)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one run of the sender did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0


def compose(
    *, clinic: str, phone: str, url: str, expires_at: datetime, language: str | None
) -> tuple[str, str]:
    """The subject and body of a link email in the patient's language: the clinic, the link
    and when it closes, and nothing about the patient or their care."""
    with i18n.using(language):
        subject = i18n.gettext("A message from {clinic}").format(clinic=clinic)
        lines = [
            i18n.gettext("Hello,"),
            "",
            i18n.gettext(
                "{clinic} has sent you a short form to fill in on your phone or computer."
                " It takes about a minute."
            ).format(clinic=clinic),
            "",
            i18n.gettext("Open it here: {url}").format(url=url),
            "",
            i18n.gettext(
                "The link works until {expires} (UTC). It is meant only for you: please do not"
                " forward this email."
            ).format(expires=expires_at.strftime("%Y-%m-%d %H:%M")),
        ]
        if phone:
            lines += [
                "",
                i18n.gettext("Questions? Call {clinic} on {phone}.").format(
                    clinic=clinic, phone=phone
                ),
            ]
        lines += ["", i18n.gettext("This message was sent automatically; replies are not read.")]
    return subject, "\n".join(lines) + "\n"


def queue_link_email(
    *,
    session: Session,
    actor: Actor,
    link_id: object,
    token: str,
    base_url: str,
    recipient: str | None = None,
) -> OutboxMessage:
    """Queue the email that carries an open link to its patient.

    The token is shown to staff only once, when the link is issued, so the page that shows
    it sends it back here; it must match the link's stored digest. The address typed by
    staff wins; otherwise the patient's address on file is used.

    Raises:
        InvalidInput: the token does not belong to the link, or there is no valid address.
        Conflict: the link is used, revoked or expired.
    """
    require(actor, Permission.WRITE_PATIENT)
    link = get_owned(session, PatientLink, link_id, actor, field="link_id")
    if digest(token) != link.token_hash:
        raise InvalidInput("the token does not belong to this link", field="token", code="token")
    if not is_open(link):
        raise Conflict("this link is closed: issue a new one", code="link_closed", field="link_id")
    patient = link_store.patient_of(session, link.clinic_id, link.patient_id)
    address = (recipient or "").strip() or (patient.email or "").strip()
    if not _EMAIL.match(address):
        raise InvalidInput(
            "email must be an address like name@example.org", field="email", code="email"
        )
    clinic = clinic_store.get_clinic(session, link.clinic_id)
    subject, body = compose(
        clinic=clinic.name,
        phone=clinic.phone,
        url=base_url.rstrip("/") + link_path(token),
        expires_at=link.expires_at,
        language=link.language,
    )
    message = OutboxMessage(
        clinic_id=link.clinic_id,
        link_id=link.id,
        recipient=address,
        subject=subject,
        body=body,
        status=QUEUED,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(message)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="create",
        entity_type="outbox",
        entity_id=message.external_id,
        patient_id=patient.external_id,
        detail={"link": str(link.external_id), "purpose": link.purpose},
    )
    return message


def messages_for_links(
    *, session: Session, actor: Actor, links: Sequence[PatientLink]
) -> dict[int, OutboxMessage]:
    """The latest email about each link, by link id (the visit page shows its state)."""
    require(actor, Permission.READ_CLINICAL)
    latest: dict[int, OutboxMessage] = {}
    for message in store.for_links(session, actor.clinic_id, [link.id for link in links]):
        if message.link_id is not None:
            latest.setdefault(message.link_id, message)
    return latest


def deliver_due(
    *,
    session: Session,
    mailer: Mailer,
    policy: RetryPolicy,
    now: datetime | None = None,
    limit: int = 100,
) -> Delivery:
    """Try each due message once; the operator's session reaches every clinic's queue.

    Each outcome is flushed as it happens, so the caller may commit after each message.
    """
    moment = now or utcnow()
    sent = retrying = failed = 0
    for message in store.due(session, moment, limit):
        outcome = attempt(
            session=session, message=message, mailer=mailer, policy=policy, now=moment
        )
        sent += outcome == SENT
        retrying += outcome == QUEUED
        failed += outcome == FAILED
    return Delivery(sent=sent, retrying=retrying, failed=failed)


def attempt(
    *, session: Session, message: OutboxMessage, mailer: Mailer, policy: RetryPolicy, now: datetime
) -> str:
    """Send one message once and record the outcome; returns its new status."""
    message.attempts += 1
    try:
        mailer.send(message.recipient, message.subject, message.body)
    except (OSError, smtplib.SMTPException) as exc:
        message.last_error = _LINK.sub(_SCRUBBED, f"{type(exc).__name__}: {exc}")[:_ERROR_MAX]
        if message.attempts >= policy.max_attempts:
            message.status = FAILED
            message.body = scrub(message.body)
            log.warning("outbox message %s failed after %d attempts", message.external_id,
                        message.attempts)  # fmt: skip
        else:
            message.next_attempt_at = now + policy.delay(message.attempts)
            log.info("outbox message %s: attempt %d failed (%s); retrying at %s",
                     message.external_id, message.attempts, type(exc).__name__,
                     message.next_attempt_at.isoformat())  # fmt: skip
    else:
        message.status, message.sent_at, message.last_error = SENT, now, None
        message.body = scrub(message.body)
        log.info("outbox message %s sent", message.external_id)
    session.flush()
    return message.status


def scrub(body: str) -> str:
    """The body with every patient link blanked (kept for the record once sent)."""
    return _LINK.sub(_SCRUBBED, body)


def visit_external_id(session: Session, message: OutboxMessage) -> object:
    """The public id of the visit the emailed link was issued for (the page returns there)."""
    if message.link_id is None:
        return None
    link = link_store.link_by_id(session, message.clinic_id, message.link_id)
    if link.visit_id is None:
        return None
    return link_store.visit_of(session, link.clinic_id, link.visit_id).external_id
