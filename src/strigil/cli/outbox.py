"""`strigil outbox send`: deliver queued patient-link emails through the configured server."""

from __future__ import annotations

import time
from datetime import timedelta

import typer

from strigil.cli.common import session_scope, settings
from strigil.config import Settings
from strigil.services import outbox
from strigil.services.mail import SmtpConfig, SmtpMailer

app = typer.Typer(help="Patient-link emails waiting to be sent.", no_args_is_help=True)

BATCH = 20  # messages per transaction: a crash re-sends at most this many


def mailer_from(config: Settings) -> SmtpMailer:
    """The SMTP mailer the settings describe (the caller checked they are complete)."""
    password = config.smtp_password.get_secret_value() if config.smtp_password else None
    return SmtpMailer(
        SmtpConfig(
            host=config.smtp_host or "",
            port=config.smtp_port,
            sender=config.smtp_from or "",
            user=config.smtp_user,
            password=password,
            security=config.smtp_security,
            timeout=config.smtp_timeout_seconds,
        )
    )


def policy_from(config: Settings) -> outbox.RetryPolicy:
    return outbox.RetryPolicy(
        max_attempts=config.outbox_max_attempts,
        first_delay=timedelta(seconds=config.outbox_first_retry_seconds),
    )


def send_due(config: Settings) -> outbox.Delivery:
    """One pass over what is due, a batch per transaction."""
    mailer, policy = mailer_from(config), policy_from(config)
    sent = retrying = failed = 0
    while True:
        with session_scope(config.resolved_admin_database_url) as session:
            done = outbox.deliver_due(session=session, mailer=mailer, policy=policy, limit=BATCH)
        sent, retrying, failed = sent + done.sent, retrying + done.retrying, failed + done.failed
        if done.sent + done.retrying + done.failed < BATCH:
            return outbox.Delivery(sent=sent, retrying=retrying, failed=failed)


@app.command("send")
def send(
    once: bool = typer.Option(False, "--once", help="Send what is due now, then stop"),
    every: float = typer.Option(30.0, "--every", min=1.0, help="Seconds between passes"),
) -> None:
    """Send queued emails; failures are retried with doubling pauses until the attempt limit."""
    config = settings()
    if not config.smtp_configured:
        typer.secho(
            "error: no mail server is configured (set STRIGIL_SMTP_HOST and STRIGIL_SMTP_FROM)",
            err=True,
            fg="red",
        )
        raise typer.Exit(2)
    while True:
        done = send_due(config)
        typer.echo(f"sent {done.sent}, retrying {done.retrying}, failed {done.failed}")
        if once:
            return
        time.sleep(every)
