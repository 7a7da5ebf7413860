"""`strigil db`: migrations (backup and restore live beside them)."""

from __future__ import annotations

import typer

from strigil.cli.common import settings
from strigil.store import migrate

app = typer.Typer(help="Database migrations, backup and restore.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head")) -> None:
    """Migrate the database up to REVISION (default: the newest)."""
    migrate.upgrade(settings().resolved_database_url, revision)
    typer.echo(f"database at {revision}")


@app.command()
def downgrade(revision: str = typer.Argument("-1")) -> None:
    """Migrate the database down to REVISION (default: one step)."""
    migrate.downgrade(settings().resolved_database_url, revision)
    typer.echo(f"database at {revision}")
