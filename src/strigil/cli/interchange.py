"""`strigil export` and `strigil import`: records in and out as FHIR R4.

Each command is one unit of work: an import that fails anywhere writes nothing.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.progress import Progress

from strigil.cli.common import reported, session_scope, settings
from strigil.cli.export import app as export_app
from strigil.errors import InvalidInput
from strigil.services import fhir_export, fhir_import

import_app = typer.Typer(help="Import records (FHIR R4).", no_args_is_help=True)


@export_app.command("fhir")
def export_fhir(
    patient: str | None = typer.Option(None, "--patient", help="One patient's id (UUID)"),
    out: Path | None = typer.Option(None, "--out", help="The Bundle file to write (--patient)"),
    clinic: str | None = typer.Option(None, "--clinic", help="The clinic (name or id)"),
    ndjson: Path | None = typer.Option(None, "--ndjson", help="Folder for NDJSON (--clinic)"),
    since: str | None = typer.Option(None, "--since", help="Only changed since (ISO 8601)"),
    types: str | None = typer.Option(None, "--type", help="Only these types: Patient,Observation"),
) -> None:
    """One patient as a Bundle (--patient, --out), or a clinic as NDJSON (--clinic, --ndjson)."""
    with reported():
        if patient is not None:
            if out is None or ndjson is not None:
                raise InvalidInput("--patient writes one Bundle: give --out FILE", field="out")
            _export_patient(patient, out, clinic)
        elif clinic is not None and ndjson is not None:
            _export_clinic(clinic, ndjson, since, types)
        else:
            raise InvalidInput(
                "give --patient ID --out FILE, or --clinic NAME --ndjson DIR", field="patient"
            )


def _export_patient(patient: str, out: Path, clinic: str | None) -> None:
    with session_scope() as session:
        bundle = fhir_export.patient_bundle_for_operator(
            session=session, patient_id=patient, clinic=clinic, data_dir=settings().data_dir
        )
    out.write_text(json.dumps(bundle, indent=1, ensure_ascii=False), encoding="utf-8")
    counts: dict[str, int] = {}
    for entry in bundle["entry"]:
        kind = entry["resource"]["resourceType"]
        counts[kind] = counts.get(kind, 0) + 1
    typer.echo(f"wrote {out}")
    _print_counts(counts)


def _export_clinic(clinic: str, directory: Path, since: str | None, types: str | None) -> None:
    started = time.perf_counter()
    filters = fhir_export.parse_filter(since=since, types=types)
    with session_scope() as session, Progress(transient=True) as bar:
        target = fhir_export.find_clinic(session, clinic)
        total = fhir_export.count_patients(session=session, clinic=target, filters=filters)
        task = bar.add_task("exporting patients", total=total)
        counts = fhir_export.write_clinic(
            session=session,
            clinic=target,
            directory=directory,
            filters=filters,
            progress=lambda done: bar.update(task, completed=done),
            data_dir=settings().data_dir,
        )
    typer.echo(f"wrote {directory} in {time.perf_counter() - started:.1f} s")
    _print_counts(counts)


@import_app.command("fhir")
def import_fhir(
    path: Path = typer.Argument(..., help="A Bundle file or a folder of NDJSON files"),
    clinic: str = typer.Option(..., "--clinic", help="The clinic to import into (name or id)"),
) -> None:
    """Validate the whole input, then import it into the clinic; nothing is written if any
    resource is invalid. Patients already present (same record number) are not added again."""
    started = time.perf_counter()
    with reported():
        try:
            with session_scope() as session, Progress(transient=True) as bar:
                task = bar.add_task("importing", total=None)
                result = fhir_import.import_path(
                    session=session,
                    clinic=clinic,
                    path=path,
                    progress=lambda step: bar.update(task, description=f"importing: {step}"),
                )
        except InvalidInput as error:
            for line in error.extra.get("errors", []):
                typer.secho(f"  {line}", err=True, fg="red")
            raise
    typer.echo(f"imported {path} into {clinic} in {time.perf_counter() - started:.1f} s")
    _print_counts(result.counts)
    for kind, n in sorted(result.skipped.items()):
        if n:
            typer.echo(f"  skipped {n} {kind} (already present or not linked to a new patient)")


def _print_counts(counts: dict[str, int]) -> None:
    for kind, n in sorted(counts.items()):
        typer.echo(f"  {kind:<24} {n:>9}")
