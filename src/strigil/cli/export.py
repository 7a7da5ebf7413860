"""`strigil export`: records leaving Strigil. The de-identified research export is here; the
FHIR export joins this group from ``cli/interchange.py``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import Progress

from strigil.cli.common import reported, session_scope
from strigil.services import research

app = typer.Typer(
    help="Export records: FHIR R4, or de-identified for research.", no_args_is_help=True
)


@app.command("research")
def research_export(
    clinic: str = typer.Option(..., "--clinic", help="The clinic, by name or its slug"),
    out: Path = typer.Option(..., "--out", help="A new or empty folder for the files"),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON"),
) -> None:
    """Write a clinic's de-identified episodes, visits, areas, findings, readings, outcomes and
    adverse events as Parquet, with a data dictionary and a manifest."""
    with reported(), session_scope() as session:
        total = sum(research.count(session=session, clinic=clinic).values())
        with Progress(transient=True, disable=as_json) as bar:
            task = bar.add_task("exporting rows", total=total)
            summary = research.export(
                session=session,
                clinic=clinic,
                out=out,
                progress=lambda n: bar.advance(task, n),
            )
    if as_json:
        payload = {"export_id": summary.export_id, "out": str(out), "counts": summary.counts}
        typer.echo(json.dumps(payload))
        return
    typer.echo(f"research export {summary.export_id} of {summary.clinic} written to {out}")
    for table, n in summary.counts.items():
        typer.echo(f"  {table:<15} {n:>8} rows")
