"""Progress reports and discharge summaries: the recorded facts are on the page, nothing else.

A demo episode with outcome scores, treated areas, an adverse event and after-care is printed;
pdftotext reads the text back and each fact is looked up in the database. The pages are drawn
to PNG under artifacts/pdf (checked not blank) for people to look at.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from tests.documents.test_pdfs import _ink, _png_pages, _text
from tests.factories import actor, make_clinic, make_episode, make_patient, make_user
from typer.testing import CliRunner

from strigil import demo
from strigil.cli import app
from strigil.core import catalog, measures
from strigil.errors import Conflict, NotFound, NotPermitted
from strigil.services import outcomes, reports
from strigil.store import migrate
from strigil.store.adverse_events import AdverseEvent
from strigil.store.clinics import Clinic, User
from strigil.store.episodes import Episode
from strigil.store.visits import ExercisePrescription, TreatedArea, Visit

ANCHOR = date(2026, 11, 2)


def _words(text: str) -> str:
    """pdftotext output with line breaks and runs of spaces folded, so wrapped text matches."""
    return re.sub(r"\s+", " ", text)


def _rich_episode(session: Session) -> Episode:
    """A discharged demo episode with an adverse event on one of its treated areas, after-care
    and at least two scores of its primary measure."""
    demo.load(session=session, patients=24, anchor=ANCHOR)
    query = (
        select(Episode)
        .join(Visit, Visit.episode_id == Episode.id)
        .join(TreatedArea, TreatedArea.visit_id == Visit.id)
        .join(AdverseEvent, AdverseEvent.treated_area_id == TreatedArea.id)
        .join(ExercisePrescription, ExercisePrescription.visit_id == Visit.id, isouter=True)
        .where(Episode.status == "discharged")
        .order_by(Episode.id)
    )
    for episode in session.scalars(query).unique():
        m = measures.get_measure(episode.primary_measure)
        if len(outcomes.course(session, episode, m).points) >= 2:
            return episode
    raise AssertionError("the demo has no discharged episode with an adverse event")


def _therapist(session: Session, episode: Episode) -> User:
    user = session.get(User, episode.therapist_id)
    assert user is not None
    return user


@pytest.fixture
def episode(session: Session) -> Episode:
    return _rich_episode(session)


@pytest.mark.parametrize("kind", ["progress", "discharge"])
def test_report_states_the_recorded_facts(session: Session, episode: Episode, kind: str) -> None:
    who = actor(_therapist(session, episode))
    pdf = reports.report_pdf(session=session, actor=who, episode_id=episode.external_id, kind=kind)  # type: ignore[arg-type]
    text = _words(_text(pdf))
    title = "Progress report" if kind == "progress" else "Discharge summary"
    patient = episode.patient
    assert title in text
    assert patient.display_name in text and patient.birth_date.isoformat() in text
    assert f"{episode.condition_code} {episode.condition_title}" in text
    m = measures.get_measure(episode.primary_measure)
    progress = outcomes.course(session, episode, m)
    assert progress.classification is not None
    headline = reports.RESPONDER[progress.classification.category]
    assert _words(headline) in text
    assert f"baseline {reports._num(progress.points[0].score)}" in text
    assert "Expected course" in text and f"{m.name} ({m.code}) by visit" in text
    visits = session.scalars(
        select(Visit).where(Visit.episode_id == episode.id).order_by(Visit.number)
    ).all()
    assert f"{len(visits)} visits" in text
    assert all(v.started_at.date().isoformat() in text for v in visits)
    areas = session.scalars(
        select(TreatedArea).where(TreatedArea.visit_id.in_([v.id for v in visits]))
    ).all()
    assert all(catalog.body_site(a.body_site).label in text for a in areas)
    events = session.scalars(
        select(AdverseEvent).where(AdverseEvent.treated_area_id.in_([a.id for a in areas]))
    ).all()
    assert events and all(e.category.replace("_", " ") in text for e in events)
    assert all(_words(e.description) in text for e in events)
    assert "states only what was recorded" in text


def test_report_after_care_is_the_latest_prescription(session: Session, episode: Episode) -> None:
    who = actor(_therapist(session, episode))
    pdf = reports.report_pdf(
        session=session, actor=who, episode_id=episode.external_id, kind="progress"
    )
    text = _words(_text(pdf))
    number, rows = reports.store.list_latest_prescriptions(session, episode.clinic_id, episode.id)
    if number is None:
        assert "No after-care was prescribed" in text
        return
    assert f"As prescribed at visit {number}:" in text
    names = {e.code: e.name for e in catalog.exercises()}
    assert all(names[p.exercise_code] in text for p in rows)


def test_report_pages_render_and_are_not_blank(session: Session, episode: Episode) -> None:
    who = actor(_therapist(session, episode))
    for kind in ("progress", "discharge"):
        pdf = reports.report_pdf(
            session=session,
            actor=who,
            episode_id=episode.external_id,
            kind=kind,  # type: ignore[arg-type]
        )
        pages = _png_pages(pdf, f"{kind}-report")
        assert pages and all(_ink(p) > 0.005 for p in pages)


def test_report_of_a_new_episode_says_what_is_missing(session: Session) -> None:
    clinic = make_clinic(session)
    therapist = make_user(session, clinic)
    episode = make_episode(session, therapist, make_patient(session, therapist))
    who = actor(therapist)
    pdf = reports.report_pdf(
        session=session, actor=who, episode_id=episode.external_id, kind="progress"
    )
    text = _words(_text(pdf))
    assert "Response not yet judged: 0 PRTEE scores were recorded" in text
    assert "No visits were recorded." in text
    assert "No adverse events were recorded in this episode." in text
    assert "No after-care was prescribed in this episode." in text
    with pytest.raises(Conflict) as refused:
        reports.report_pdf(
            session=session, actor=who, episode_id=episode.external_id, kind="discharge"
        )
    assert refused.value.code == "episode_not_discharged"


def test_reports_need_clinical_read_and_the_same_clinic(session: Session, episode: Episode) -> None:
    clinic = session.get(Clinic, episode.clinic_id)
    assert clinic is not None
    for role in ("researcher", "admin"):
        outsider = actor(make_user(session, clinic, role=role))
        with pytest.raises(NotPermitted):
            reports.report_pdf(
                session=session, actor=outsider, episode_id=episode.external_id, kind="progress"
            )
    other = actor(make_user(session, make_clinic(session)))
    with pytest.raises(NotFound):
        reports.report_pdf(
            session=session, actor=other, episode_id=episode.external_id, kind="progress"
        )


def test_cli_writes_both_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("STRIGIL_DATABASE_URL", url)
    migrate.upgrade(url)
    runner = CliRunner()
    assert runner.invoke(app, ["demo", "load", "--patients", "6"]).exit_code == 0
    engine = create_engine(url)
    with engine.connect() as conn:
        discharged = conn.scalar(
            select(Episode.external_id).where(Episode.status == "discharged").limit(1)
        )
        active = conn.scalar(select(Episode.external_id).where(Episode.status == "active").limit(1))
    engine.dispose()
    for kind, episode_id in (("progress", active), ("discharge", discharged)):
        out = tmp_path / f"{kind}.pdf"
        result = runner.invoke(
            app, ["reports", kind, "--episode", str(episode_id), "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert out.read_bytes().startswith(b"%PDF")
    refused = runner.invoke(
        app, ["reports", "discharge", "--episode", str(active), "--out", str(tmp_path / "x.pdf")]
    )
    assert refused.exit_code == 2 and "episode_not_discharged" in refused.output
    assert not (tmp_path / "x.pdf").exists()
    missing = runner.invoke(app, ["reports", "progress", "--episode", "nope", "--out", "y.pdf"])
    assert missing.exit_code == 2 and "episode_id" in missing.output
