"""``strigil insight network``: risk-adjusted outcomes per clinic across the whole network.

For the operator who runs the database (its owner's connection, like ``strigil db``): each
clinic's staff see their own clinic on the insight pages; this compares the clinics.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import typer

from strigil.cli.common import reported, session_scope
from strigil.services import network

app = typer.Typer(help="Clinic insight across a network of clinics.", no_args_is_help=True)


@app.command("network")
def compare(
    measure: str = typer.Option(..., "--measure", help="Outcome measure code, e.g. QUICKDASH"),
    min_episodes: int = typer.Option(20, "--min-episodes", help="Fewest episodes to fit"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """Each clinic's outcome on one measure, adjusted for its case mix, with its interval."""
    today = datetime.now(UTC).date()
    with reported(), session_scope() as session:
        result = network.compare_clinics(
            session=session, measure=measure, today=today, min_episodes=min_episodes
        )
    if as_json:
        typer.echo(json.dumps(_plain(result), indent=2))
        return
    typer.echo(f"{result.measure}: episodes that ended {result.since} to {result.until}")
    if result.message:
        typer.echo(result.message)
    if result.fit is not None:
        typer.echo(f"model: {result.fit.method}; n = {result.fit.n} episodes, "
                   f"{result.fit.n_clinics} clinics")  # fmt: skip
    if result.clinics:
        typer.echo(f"{'clinic':<32}{'n':>6}{'dropouts':>10}  adjusted effect (95 % interval)")
        for c in result.clinics:
            f = c.figures
            typer.echo(f"{c.clinic[:31]:<32}{f.n:>6}{f.n_dropouts:>10}  "
                       f"{f.effect:+.2f} ({f.ci_low:+.2f} to {f.ci_high:+.2f})")  # fmt: skip
        typer.echo("Positive: more change than the clinic's case mix predicts.")


def _plain(result: network.NetworkOutcomes) -> dict[str, Any]:
    out: dict[str, Any] = {
        "measure": result.measure,
        "since": result.since.isoformat(),
        "until": result.until.isoformat(),
        "message": result.message,
        "clinics": [asdict(c) for c in result.clinics],
    }
    if result.fit is not None:
        out["model"] = {"method": result.fit.method, "n": result.fit.n,
                        "clinics": result.fit.n_clinics}  # fmt: skip
    return out
