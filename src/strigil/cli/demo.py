"""`strigil demo load`: the synthetic demo clinic."""

from __future__ import annotations

import json
import time

import typer
from rich.progress import Progress

from strigil import demo
from strigil.cli.common import reported, session_scope, settings

app = typer.Typer(help="The synthetic demo clinic.", no_args_is_help=True)


@app.command("load")
def load(
    patients: int = typer.Option(240, min=1, max=200_000, help="How many synthetic patients"),
    seed: int = typer.Option(demo.DEFAULT_SEED, help="Same seed, same content"),
    if_empty: bool = typer.Option(False, "--if-empty", help="Only when the database is empty"),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON"),
) -> None:
    """Load two demo clinics with staff and synthetic patients."""
    started = time.perf_counter()
    with reported(), session_scope() as session:
        if if_empty and not demo.is_empty(session=session):
            typer.echo("database already has data; demo not loaded")
            _print_logins(demo.logins(session=session))
            return
        with Progress(transient=True, disable=as_json) as bar:
            task = bar.add_task("loading demo patients", total=patients)
            summary = demo.load(
                session=session,
                patients=patients,
                seed=seed,
                progress=lambda done: bar.update(task, completed=done),
                data_dir=settings().data_dir,
            )
    elapsed = time.perf_counter() - started
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "patients": summary.patients,
                    "rows": summary.rows,
                    "content_hash": summary.content_hash,
                    "seconds": elapsed,
                }
            )
        )
        return
    typer.echo(f"loaded {summary.patients} patients ({summary.rows} rows) in {elapsed:.1f} s")
    _print_logins(list(summary.logins))


def _print_logins(accounts: list[tuple[str, str, str]]) -> None:
    """The demo accounts a person can sign in with (synthetic clinics only)."""
    if not accounts:
        return
    typer.echo(f"demo sign-in password for every demo account: {demo.DEMO_PASSWORD}")
    for clinic, role, email in accounts:
        if role in ("therapist", "admin"):
            typer.echo(f"  {role:<10} {email:<40} {clinic}")
