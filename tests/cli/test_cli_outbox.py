"""`strigil outbox send --once` delivers what is due through the configured server, and
refuses to run without one."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_user
from tests.flow import iastm_visit
from tests.services.test_outbox import free_port, start_server
from typer.testing import CliRunner

from strigil.cli import app
from strigil.services import outbox, patient_links
from strigil.store import migrate
from strigil.store.outbox import OutboxMessage

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    monkeypatch.setenv("STRIGIL_DATABASE_URL", url)
    migrate.upgrade(url, "head")
    engine = create_engine(url)
    with Session(engine) as session:
        therapist = make_user(session, make_clinic(session, "Harbour Physio"))
        visit = iastm_visit(session, therapist)
        token, link = patient_links.issue_checkin(
            session=session, actor=actor(therapist), visit_id=visit.external_id
        )
        outbox.queue_link_email(
            session=session,
            actor=actor(therapist),
            link_id=link.external_id,
            token=token,
            base_url="https://clinic.example.org",
            recipient="ana@example.org",
        )
        session.commit()
    engine.dispose()
    return url


def test_send_once_delivers_the_queue(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("STRIGIL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("STRIGIL_SMTP_PORT", str(port))
    monkeypatch.setenv("STRIGIL_SMTP_SECURITY", "none")
    monkeypatch.setenv("STRIGIL_SMTP_FROM", "desk@harbour.example.org")
    refused = runner.invoke(app, ["outbox", "send", "--once"])
    assert refused.exit_code == 0 and "sent 0, retrying 1, failed 0" in refused.output
    engine = create_engine(db)
    with Session(engine) as session:  # due again now, as if the pause had passed
        row = session.scalars(select(OutboxMessage)).one()
        row.next_attempt_at = row.created_at
        session.commit()
    server, inbox = start_server(port)
    try:
        result = runner.invoke(app, ["outbox", "send", "--once"])
    finally:
        server.stop()
    assert result.exit_code == 0 and "sent 1, retrying 0, failed 0" in result.output
    assert len(inbox.messages) == 1 and inbox.messages[0][1] == ["ana@example.org"]
    with Session(engine) as session:
        row = session.scalars(select(OutboxMessage)).one()
        assert row.status == "sent" and row.attempts == 2
    engine.dispose()


def test_send_without_a_mail_server_is_refused(db: str) -> None:
    result = runner.invoke(app, ["outbox", "send", "--once"])
    assert result.exit_code == 2 and "no mail server is configured" in result.output
