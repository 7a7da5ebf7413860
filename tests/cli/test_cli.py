"""The command line: each command honours STRIGIL_DATABASE_URL and reports errors plainly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import create_engine, func, select, update
from typer.testing import CliRunner
from uvicorn import config as uvicorn_config

from strigil.cli import app, log_config
from strigil.config import Settings
from strigil.store import migrate
from strigil.store.clinics import User
from strigil.store.visits import Visit

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("STRIGIL_DATABASE_URL", url)
    return url


def test_db_upgrade_then_demo_load_then_user_add(db: str) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["demo", "load", "--patients", "8", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["patients"] == 8
    again = runner.invoke(app, ["demo", "load", "--if-empty"])
    assert "already has data" in again.output
    added = runner.invoke(
        app,
        [
            "user",
            "add",
            "--email",
            "new@northside.example",
            "--name",
            "New Therapist",
            "--clinic",
            "Northside Physical Therapy",
            "--password",
            "long-enough-pass-1",
        ],
    )
    assert added.exit_code == 0, added.output
    engine = create_engine(db)
    with engine.connect() as conn:
        assert (
            conn.scalar(select(func.count(User.id)).where(User.email == "new@northside.example"))
            == 1
        )


def test_user_add_with_a_weak_password_fails_and_writes_nothing(db: str) -> None:
    migrate.upgrade(db)
    result = runner.invoke(
        app,
        [
            "user",
            "add",
            "--email",
            "x@clinic.example",
            "--name",
            "X",
            "--clinic",
            "Lonely",
            "--create-clinic",
            "--password",
            "short",
        ],
    )
    assert result.exit_code == 2
    assert "password must be at least 12 characters" in result.output
    with create_engine(db).connect() as conn:
        assert conn.scalar(select(func.count(User.id))) == 0


def test_outcomes_score_json(db: str) -> None:
    result = runner.invoke(app, ["outcomes", "score", "NPRS", "--answers", "7", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["score"] == 7 and body["max"] == 10 and body["direction"]


def test_unknown_measure_exits_non_zero(db: str) -> None:
    result = runner.invoke(app, ["outcomes", "score", "HAPPINESS", "--answers", "1"])
    assert result.exit_code == 2


def test_db_downgrade_and_upgrade(db: str) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["db", "downgrade", "base"]).exit_code == 0
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0


def test_make_run_prints_the_demo_logins_every_time(db: str) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    first = runner.invoke(app, ["demo", "load", "--patients", "4", "--if-empty"])
    again = runner.invoke(app, ["demo", "load", "--if-empty"])
    for output in (first.output, again.output):
        assert "therapist1@northside.example" in output and "strigil-demo-2026" in output


def test_notes_verify_passes_on_the_demo_and_names_a_changed_visit(db: str, tmp_path: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["demo", "load", "--patients", "4"]).exit_code == 0
    ok = runner.invoke(app, ["notes", "verify", "--json"])
    assert ok.exit_code == 0, ok.output
    checked = json.loads(ok.output.strip().splitlines()[-1])
    assert checked["checked"] > 0 and checked["changed"] == []
    engine = create_engine(db)
    with engine.begin() as conn:
        visit_id = conn.scalar(
            select(Visit.external_id).where(Visit.status == "signed").order_by(Visit.id).limit(1)
        )
        conn.execute(
            update(Visit).where(Visit.external_id == visit_id).values(assessment="Rewritten.")
        )
    engine.dispose()
    bad = runner.invoke(app, ["notes", "verify"])
    assert bad.exit_code == 1
    assert f"CHANGED visit {visit_id}" in bad.output
    one_clinic = runner.invoke(app, ["notes", "verify", "--clinic", "No Such Clinic", "--json"])
    assert one_clinic.exit_code == 0 and '"checked": 0' in one_clinic.output
    out = tmp_path / "note.pdf"
    printed = runner.invoke(app, ["notes", "pdf", str(visit_id), "--out", str(out)])
    assert printed.exit_code == 0, printed.output
    assert out.read_bytes().startswith(b"%PDF")
    missing = runner.invoke(app, ["notes", "pdf", "not-a-uuid", "--out", str(out)])
    assert missing.exit_code == 2 and "visit_id" in missing.output


def test_notes_seal_brings_notes_signed_before_digests_under_verify(db: str) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["demo", "load", "--patients", "4"]).exit_code == 0
    engine = create_engine(db)
    with engine.begin() as conn:  # as a database from before digests: signed, no digest
        conn.execute(update(Visit).where(Visit.status == "signed").values(note_digest=None))
    engine.dispose()
    unsealed = runner.invoke(app, ["notes", "verify", "--json"])
    assert unsealed.exit_code == 1
    sealed = runner.invoke(app, ["notes", "seal", "--yes"])
    assert sealed.exit_code == 0 and "signed notes sealed" in sealed.output
    assert not sealed.output.startswith("0 ")
    again = runner.invoke(app, ["notes", "verify", "--json"])
    assert again.exit_code == 0, again.output
    assert runner.invoke(app, ["notes", "seal", "--yes"]).output.startswith("0 signed notes")


def test_the_log_level_reaches_strigil_and_the_web_server() -> None:
    config = log_config("WARNING")
    assert config["loggers"]["strigil"]["level"] == "WARNING"
    assert config["loggers"]["strigil"]["handlers"] == ["default"]
    assert "strigil" not in uvicorn_config.LOGGING_CONFIG["loggers"]  # a copy was changed


def test_the_log_level_is_read_in_any_case_and_checked() -> None:
    assert Settings(log_level="warning").log_level == "WARNING"
    with pytest.raises(ValidationError, match="log_level"):
        Settings(log_level="LOUD")
