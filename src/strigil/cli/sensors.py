"""``strigil sensors``: the dose of a recording from an instrumented tool, simulated
recordings, and attaching a recording to a treated area as its measured dose.

``analyze`` and ``simulate`` need no database; ``attach`` records through the services with
the named user's permissions and an audit row.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from strigil.cli.common import reported, session_scope, settings
from strigil.sensors import Dose, analyze, read_recording
from strigil.sensors.simulate import simulate, write

app = typer.Typer(
    help="Instrumented IASTM: analyse, simulate and attach tool recordings.",
    no_args_is_help=True,
)


def _print_dose(dose: Dose) -> None:
    typer.echo(dose.summary())
    if dose.strokes:
        typer.echo(f"  stroke rate {dose.stroke_rate_hz:.2f} Hz, impulse {dose.impulse_ns:.1f} N·s")
    if dose.mean_angle_deg is not None:
        typer.echo(f"  mean angle {dose.mean_angle_deg:.0f}°")
    typer.echo(f"  contact threshold {dose.threshold_n:g} N")


@app.command("analyze")
def analyze_command(
    file: Annotated[Path, typer.Argument(help="The recording (CSV); a sidecar .json beside it")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON")] = False,
) -> None:
    """The dose of one recording: strokes, rate, time under load, mean and peak force."""
    with reported():
        dose = analyze(read_recording(file))
    if as_json:
        typer.echo(json.dumps(dose.to_json()))
    else:
        _print_dose(dose)


@app.command("simulate")
def simulate_command(
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same file)")],
    out: Annotated[Path, typer.Option("--out", help="The CSV to write")],
    strokes: Annotated[int, typer.Option("--strokes", min=0, max=10_000)] = 40,
    rate_hz: Annotated[float, typer.Option("--rate-hz", min=0.05, max=2.0)] = 0.5,
    peak_n: Annotated[float, typer.Option("--peak-n", min=0.5, max=50.0)] = 8.9,
    noise_n: Annotated[float, typer.Option("--noise-n", min=0.0, max=5.0)] = 0.1,
    sample_hz: Annotated[float, typer.Option("--sample-hz", min=20.0, max=10_000.0)] = 1000.0,
) -> None:
    """Write a simulated recording, its sidecar and its ground truth (<name>.truth.json)."""
    sim = simulate(
        seed, strokes=strokes, rate_hz=rate_hz, peak_n=peak_n, noise_n=noise_n, sample_hz=sample_hz
    )
    paths = write(sim, out)
    typer.echo("wrote " + ", ".join(p.name for p in paths))


@app.command("attach")
def attach_command(
    file: Annotated[Path, typer.Argument(help="The recording (CSV); a sidecar .json beside it")],
    area: Annotated[str, typer.Option("--area", help="The treated area's id (UUID)")],
    user: Annotated[str, typer.Option("--user", help="The therapist recording it (email)")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the stored dose as JSON")] = False,
    phase: Annotated[
        str,
        typer.Option(
            "--phase",
            help="treating (the dose, compared with the intended one) or exploring (a light "
            "pass to find the restriction, stated but not compared)",
        ),
    ] = "treating",
) -> None:
    """Record a file as a treated area's measured dose (kept under the data folder)."""
    from strigil.services import sensors as service

    config = settings()
    with reported(), session_scope() as session:
        stored = service.attach_file(
            session=session,
            user_email=user,
            treated_area_id=area,
            path=file,
            data_dir=config.data_dir,
            cap_overrides=config.sensors_force_caps,
            phase=phase,
        )
        body = service.recording_json(stored)
    if as_json:
        typer.echo(json.dumps(body))
    else:
        typer.echo(f"attached {file.name} to area {area}: {body['summary']}")
        if body["cap_exceeded"]:
            typer.secho(f"  force cap exceeded: {body['cap_note']}", fg="yellow")
