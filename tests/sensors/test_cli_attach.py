"""`strigil sensors attach`: a file becomes an area's dose in a real database; bad input and
an unknown area change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from tests.factories import actor, make_clinic, make_episode, make_patient, make_user
from tests.flow import ready_for_iastm, recheck_in_force
from typer.testing import CliRunner

from strigil.cli import app
from strigil.services import treatment, visits
from strigil.store.sensors import SensorRecording

runner = CliRunner()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, str]:
    """A migrated SQLite file with one in-progress visit and an area; (url, email, area id)."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("STRIGIL_DATABASE_URL", url)
    monkeypatch.setenv("STRIGIL_DATA_DIR", str(tmp_path / "data"))
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    engine = create_engine(url)
    with Session(engine) as session:
        user = make_user(session, make_clinic(session))
        patient = make_patient(session, user)
        episode = make_episode(session, user, patient, condition_code="M77.11", side="right")
        ready_for_iastm(session, user, episode)
        start = visits.VisitStart(tolerance_limit=6, recheck=recheck_in_force(session, episode))
        visit = visits.start(
            session=session, actor=actor(user), episode_id=episode.external_id, data=start
        )
        data = treatment.AreaInput(
            body_site="lateral_elbow",
            side="right",
            instrument_type="stainless_steel",
            intensity="gentle",
        )
        area = treatment.add_area(
            session=session, actor=actor(user), visit_id=visit.external_id, data=data
        )
        session.commit()
        found = (url, user.email, str(area.external_id))
    engine.dispose()
    return found


def _count(url: str) -> int:
    engine = create_engine(url)
    with Session(engine) as session:
        n = session.scalar(select(func.count()).select_from(SensorRecording)) or 0
    engine.dispose()
    return n


def test_attach_records_the_dose(world: tuple[str, str, str], tmp_path: Path) -> None:
    url, email, area = world
    rec = tmp_path / "rec.csv"
    assert runner.invoke(app, ["sensors", "simulate", "--seed", "3", "--out", str(rec),
                               "--strokes", "6", "--sample-hz", "200"]).exit_code == 0  # fmt: skip
    result = runner.invoke(
        app, ["sensors", "attach", str(rec), "--area", area, "--user", email, "--json"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["strokes"] == 6 and body["summary"].startswith("6 strokes, mean ")
    kept = tmp_path / "data" / "recordings"
    assert [p.name for p in kept.rglob("*.csv")] == [f"{body['file_digest']}.csv"]
    assert _count(url) == 1


def test_attach_refuses_bad_input(world: tuple[str, str, str], tmp_path: Path) -> None:
    url, email, area = world
    bad = tmp_path / "bad.csv"
    bad.write_text("t_s,force\n0,1\n", encoding="utf-8")
    result = runner.invoke(app, ["sensors", "attach", str(bad), "--area", area, "--user", email])
    assert result.exit_code == 2 and "unknown column 'force'" in result.output
    good = tmp_path / "good.csv"
    good.write_text("t_s,fz_n\n0,1\n", encoding="utf-8")
    unknown = "00000000-0000-4000-8000-000000000000"
    result = runner.invoke(app, ["sensors", "attach", str(good), "--area", unknown,
                                 "--user", email])  # fmt: skip
    assert result.exit_code == 2 and "treated_area" in result.output
    result = runner.invoke(app, ["sensors", "attach", str(good), "--area", area,
                                 "--user", "nobody@clinic.test"])  # fmt: skip
    assert result.exit_code == 2 and "no active user" in result.output
    result = runner.invoke(app, ["sensors", "attach", str(good), "--area", area,
                                 "--user", email, "--phase", "warming"])  # fmt: skip
    assert result.exit_code == 2 and "phase must be one of exploring, treating" in result.output
    assert _count(url) == 0


def test_attach_an_exploring_pass(world: tuple[str, str, str], tmp_path: Path) -> None:
    url, email, area = world
    rec = tmp_path / "light.csv"
    assert runner.invoke(app, ["sensors", "simulate", "--seed", "4", "--out", str(rec),
                               "--strokes", "4", "--peak-n", "2"]).exit_code == 0  # fmt: skip
    result = runner.invoke(app, ["sensors", "attach", str(rec), "--area", area, "--user", email,
                                 "--phase", "exploring", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["phase"] == "exploring"
    assert _count(url) == 1
