"""`strigil instruments check` and `list`: a pack is judged as the server's start-up would
judge it. The pack's texts are synthetic test strings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.factories import synthetic_pack
from typer.testing import CliRunner

from strigil.cli import app

runner = CliRunner()


def write_pack(path: Path, **changes: Any) -> Path:
    data = synthetic_pack(**({"measure": "PRTEE", "item_count": 15} | changes))
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_check_accepts_a_good_pack(tmp_path: Path) -> None:
    result = runner.invoke(app, ["instruments", "check", str(write_pack(tmp_path / "p.json"))])
    assert result.exit_code == 0, result.output
    assert "ok: p.json: PRTEE in Español (es)" in result.output and "15 items" in result.output


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"items": ["Elemento de prueba"] * 14}, "error (items): bad.json: items: PRTEE has 15"),
        ({"measure": "NPRS"}, "error (measure): bad.json: measure: NPRS is not a published"),
        ({"language": "de"}, "error (language): bad.json: language: must be one of"),
    ],
)
def test_check_refuses_naming_file_field_and_rule(
    tmp_path: Path, changes: dict[str, Any], expected: str
) -> None:
    result = runner.invoke(
        app, ["instruments", "check", str(write_pack(tmp_path / "bad.json", **changes))]
    )
    assert result.exit_code == 2 and expected in result.output


def test_check_refuses_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["instruments", "check", str(tmp_path / "none.json")])
    assert result.exit_code == 2 and "none.json" in result.output and "(file)" in result.output


def test_list_shows_installed_packs_and_refuses_a_broken_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STRIGIL_INSTRUMENT_TRANSLATIONS", raising=False)
    assert "no folder is configured" in runner.invoke(app, ["instruments", "list"]).output
    write_pack(tmp_path / "prtee-es.json")
    monkeypatch.setenv("STRIGIL_INSTRUMENT_TRANSLATIONS", str(tmp_path))
    listed = runner.invoke(app, ["instruments", "list"])
    assert listed.exit_code == 0 and "PRTEE in Español (es)" in listed.output
    write_pack(tmp_path / "again.json")  # a second PRTEE pack in Spanish
    refused = runner.invoke(app, ["instruments", "list"])
    assert refused.exit_code == 2 and "again.json and prtee-es.json" in refused.output
