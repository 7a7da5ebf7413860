"""`strigil reports`: an episode's progress report or discharge summary as a PDF."""

from __future__ import annotations

from pathlib import Path

import typer

from strigil.cli.common import reported, session_scope
from strigil.services import reports

app = typer.Typer(help="Episode reports as PDFs.", no_args_is_help=True)


def _write(episode_id: str, out: Path, kind: reports.Kind) -> None:
    with reported(), session_scope() as session:
        data = reports.report_pdf_for_operator(session=session, episode_id=episode_id, kind=kind)
    out.write_bytes(data)
    typer.echo(f"wrote {out} ({len(data)} bytes)")


@app.command("progress")
def progress(
    episode: str = typer.Option(..., "--episode", help="The episode's id (UUID)"),
    out: Path = typer.Option(..., "--out", help="Where to write the PDF"),
) -> None:
    """Write an episode's progress report: outcome chart, responder status, expected course,
    visits, areas treated, adverse events and after-care."""
    _write(episode, out, "progress")


@app.command("discharge")
def discharge(
    episode: str = typer.Option(..., "--episode", help="The episode's id (UUID)"),
    out: Path = typer.Option(..., "--out", help="Where to write the PDF"),
) -> None:
    """Write a discharged episode's discharge summary."""
    _write(episode, out, "discharge")
