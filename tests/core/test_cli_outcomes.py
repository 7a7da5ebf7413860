"""`strigil outcomes` CLI, driven through typer's CliRunner on the group's own app."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from strigil.cli.outcomes import app, parse_answers

runner = CliRunner()


def test_score_text_output() -> None:
    result = runner.invoke(app, ["score", "ODI", "--answers", "2,2,2,2,2,2,2,1,1,0"])
    assert result.exit_code == 0, result.stderr
    assert "ODI: 32 %" in result.stdout


def test_score_json_with_missing_item() -> None:
    result = runner.invoke(app, ["score", "NDI", "--answers", "1,2,3,1,2,3,1,2,3,-", "--json"])
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert {"measure", "score", "max", "direction", "subscores"} <= body.keys()
    assert body["score"] == pytest.approx(20) and body["subscores"]["percent"] == pytest.approx(40)
    assert body["missing"] == 1 and body["max"] == 50


def test_score_rom_and_units() -> None:
    args = ["score", "ROM", "-a", "120", "--joint", "knee", "--motion", "flexion"]
    result = runner.invoke(app, [*args, "--side", "left", "--json"])
    assert json.loads(result.stdout)["subscores"]["normal"] == 135
    result = runner.invoke(app, ["score", "PPT", "-a", "3", "--unit", "kg/cm2", "--json"])
    assert json.loads(result.stdout)["score"] == pytest.approx(294.1995)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["score", "WOMAC", "-a", "1"], "unknown outcome measure"),
        (["score", "ODI", "-a", "1,2,x"], "not a number"),
        (["score", "ODI", "-a", "1,2,3,6,1,2,3,2,1,1"], "answers[3]"),
        (["score", "QUICKDASH", "-a", "1,1,1,1,1,1,1,1,1,-,-"], "more than its scoring rule"),
        (["score", "PPT", "-a", "300", "--unit", "kg/cm2"], "check the unit"),
    ],
)
def test_bad_input_exits_2_with_message_on_stderr(args: list[str], needle: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert needle in result.stderr and result.stdout == ""


def test_measures_listing() -> None:
    result = runner.invoke(app, ["measures", "--json"])
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert body["version"] and len(body["measures"]) == 17
    nprs = next(m for m in body["measures"] if m["code"] == "NPRS")
    assert nprs["loinc"] == "72514-3" and nprs["mcid"]["value"] == 2
    text = runner.invoke(app, ["measures"])
    assert text.exit_code == 0 and "QUICKDASH" in text.stdout


def test_parse_answers_dash_is_missing() -> None:
    assert parse_answers("1, -,2.5,") == [1.0, None, 2.5, None]
