"""`strigil sensors simulate` then `analyze`: files, JSON keys, and errors on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from strigil.cli import app

runner = CliRunner()
KEYS = ["strokes", "stroke_rate_hz", "time_under_load_s", "mean_force_n", "peak_force_n",
        "impulse_ns", "mean_angle_deg", "stroke_list"]  # fmt: skip


def test_simulate_then_analyze_json(tmp_path: Path) -> None:
    out = tmp_path / "rec.csv"
    made = runner.invoke(app, ["sensors", "simulate", "--seed", "4", "--out", str(out),
                               "--strokes", "12", "--rate-hz", "0.5", "--peak-n", "7",
                               "--noise-n", "0.1"])  # fmt: skip
    assert made.exit_code == 0, made.output
    assert (tmp_path / "rec.json").is_file()
    truth = json.loads((tmp_path / "rec.truth.json").read_text())
    result = runner.invoke(app, ["sensors", "analyze", str(out), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert list(body) == KEYS
    assert body["strokes"] == truth["figures"]["strokes"] == 12
    assert body["mean_force_n"] == pytest.approx(truth["figures"]["mean_force_n"], rel=0.02)
    assert set(body["stroke_list"][0]) == {"start_s", "duration_s", "peak_force_n", "impulse_ns"}


def test_analyze_prints_the_note_sentence(tmp_path: Path) -> None:
    out = tmp_path / "rec.csv"
    runner.invoke(app, ["sensors", "simulate", "--seed", "1", "--out", str(out), "--strokes", "5"])
    result = runner.invoke(app, ["sensors", "analyze", str(out)])
    assert result.exit_code == 0
    assert result.stdout.startswith("5 strokes, mean ")
    assert "s under load" in result.stdout


def test_bad_file_exits_2_naming_the_rule(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("t_s,fz_n\n0,1\n0.01,10000\n", encoding="utf-8")
    result = runner.invoke(app, ["sensors", "analyze", str(bad)])
    assert result.exit_code == 2
    assert "fz_n" in result.output and "physical range" in result.output
