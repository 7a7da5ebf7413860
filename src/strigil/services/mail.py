"""Sending one email through the clinic's SMTP server (stdlib ``smtplib``).

Why stdlib: one message at a time to one configured relay needs no more; STARTTLS and
implicit TLS verify the server's certificate with the system's trust store.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal, Protocol

Security = Literal["starttls", "tls", "none"]


class Mailer(Protocol):
    """Anything that can deliver one plain-text email or raise."""

    def send(self, recipient: str, subject: str, body: str) -> None: ...


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None
    security: Security = "starttls"
    timeout: float = 15.0


@dataclass(frozen=True, slots=True)
class SmtpMailer:
    """Delivers through ``config``; a refused connection or a refusal by the server raises
    ``OSError`` or ``smtplib.SMTPException`` for the outbox to retry."""

    config: SmtpConfig

    def send(self, recipient: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.config.sender, recipient, subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.config.sender.rpartition("@")[2] or None)
        message.set_content(body)
        with self._connect() as smtp:
            if self.config.user:
                smtp.login(self.config.user, self.config.password or "")
            smtp.send_message(message)

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        if cfg.security == "tls":
            context = ssl.create_default_context()
            return smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=context)
        smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
        if cfg.security == "starttls":
            try:
                smtp.starttls(context=ssl.create_default_context())
            except BaseException:
                smtp.close()
                raise
        return smtp
