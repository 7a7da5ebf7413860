"""`strigil export research`: counts per table at the end; bad input is refused, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from strigil.cli import app
from strigil.core import research as spec
from strigil.store import migrate

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("STRIGIL_DATABASE_URL", url)
    migrate.upgrade(url)
    assert runner.invoke(app, ["demo", "load", "--patients", "6"]).exit_code == 0
    return url


def test_export_research_prints_counts_per_table(db: str, tmp_path: Path) -> None:
    out = tmp_path / "export"
    result = runner.invoke(
        app, ["export", "research", "--clinic", "Northside Physical Therapy", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    for table in spec.TABLES:
        assert table.name in result.output
        assert (out / f"{table.name}.parquet").exists()
    again = runner.invoke(
        app,
        [
            "export",
            "research",
            "--clinic",
            "riverside-sports-rehab",
            "--out",
            str(tmp_path / "r"),
            "--json",
        ],
    )
    counts = json.loads(again.output.strip().splitlines()[-1])["counts"]
    assert set(counts) == {t.name for t in spec.TABLES} and counts["episodes"] > 0


def test_export_research_refuses_bad_input(db: str, tmp_path: Path) -> None:
    unknown = runner.invoke(
        app, ["export", "research", "--clinic", "Nowhere", "--out", str(tmp_path / "a")]
    )
    assert unknown.exit_code == 2 and "clinic_not_found" in unknown.output
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "mine.txt").write_text("keep")
    full = runner.invoke(
        app, ["export", "research", "--clinic", "northside-physical-therapy", "--out", str(busy)]
    )
    assert full.exit_code == 2 and "out_not_empty" in full.output
    assert [p.name for p in busy.iterdir()] == ["mine.txt"]
    assert not (tmp_path / "a").exists()
