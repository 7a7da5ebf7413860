"""`strigil insight network`: the operator's comparison of clinics from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from strigil.cli import app

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("STRIGIL_DATABASE_URL", url)
    monkeypatch.setenv("STRIGIL_DATA_DIR", str(tmp_path / "data"))
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["demo", "load", "--patients", "6", "--json"]).exit_code == 0
    return url


def test_a_small_network_is_told_why_nothing_is_compared(db: str) -> None:
    shown = runner.invoke(app, ["insight", "network", "--measure", "NPRS"])
    assert shown.exit_code == 0, shown.output
    assert "not enough data" in shown.output
    as_json = runner.invoke(app, ["insight", "network", "--measure", "NPRS", "--json"])
    body = json.loads(as_json.output)
    assert body["clinics"] == [] and "not enough data" in body["message"]


def test_a_bad_measure_is_named(db: str) -> None:
    refused = runner.invoke(app, ["insight", "network", "--measure", "NOPE"])
    assert refused.exit_code == 2
    assert "(measure)" in refused.output
