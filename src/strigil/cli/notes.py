"""`strigil notes`: check that signed notes are unchanged, seal old ones, print one as a PDF."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from strigil.cli.common import reported, session_scope
from strigil.services import documents, notes

app = typer.Typer(help="Signed visit notes.", no_args_is_help=True)


@app.command("verify")
def verify(
    clinic: str | None = typer.Option(None, "--clinic", help="Only this clinic (by name)"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """Recompute every signed note's digest; exit 1 naming each visit whose content changed."""
    with reported(), session_scope() as session:
        result = notes.verify(session=session, clinic_name=clinic)
    if as_json:
        typer.echo(json.dumps({"checked": result.checked, "changed": list(result.changed)}))
    else:
        for visit in result.changed:
            typer.secho(
                f"CHANGED visit {visit}: signed content no longer matches its digest",
                err=True,
                fg="red",
            )
        typer.echo(f"{result.checked} signed notes checked, {len(result.changed)} changed")
    if result.changed:
        raise typer.Exit(1)


@app.command("seal")
def seal(
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation"),
) -> None:
    """Record a digest for signed notes that have none (signed before digests existed).

    Run once after upgrading: from then on `strigil notes verify` checks them too. A digest
    sealed now vouches for the content as it is now, not as it was signed.
    """
    if not yes:
        typer.confirm("Seal every signed note that has no digest, as it stands now?", abort=True)
    with reported(), session_scope() as session:
        sealed = notes.seal_unsealed(session=session)
    typer.echo(f"{sealed} signed notes sealed")


@app.command("pdf")
def pdf(
    visit_id: str = typer.Argument(..., help="The visit's id (UUID)"),
    out: Path = typer.Option(..., "--out", help="Where to write the PDF"),
) -> None:
    """Write the signed note of a visit as a PDF."""
    with reported(), session_scope() as session:
        data = documents.note_pdf_for_operator(session=session, visit_id=visit_id)
    out.write_bytes(data)
    typer.echo(f"wrote {out} ({len(data)} bytes)")
