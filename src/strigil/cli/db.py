"""`strigil db`: migrations (backup and restore live beside them)."""

from __future__ import annotations

from pathlib import Path

import typer

from strigil.cli.common import reported, settings
from strigil.services import backups, database

app = typer.Typer(help="Database migrations, backup and restore.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head")) -> None:
    """Migrate the database up to REVISION (default: the newest)."""
    database.upgrade(settings().resolved_admin_database_url, revision)
    typer.echo(f"database at {revision}")


@app.command()
def downgrade(revision: str = typer.Argument("-1")) -> None:
    """Migrate the database down to REVISION (default: one step)."""
    database.downgrade(settings().resolved_admin_database_url, revision)
    typer.echo(f"database at {revision}")


def _print_report(report: backups.BackupReport) -> None:
    typer.echo(f"backup written: {report.path} ({report.size_bytes} bytes)")
    typer.echo("verification (restored into a scratch database):")
    for check in report.tables:
        mark = "ok  " if check.ok else "FAIL"
        typer.echo(
            f"  {mark} {check.table:<28} rows {check.source_rows:>7} -> {check.restored_rows:<7}"
            f" sha256 {check.restored_sha256[:12]}"
        )
    for problem in report.problems:
        typer.secho(f"  problem: {problem}", err=True, fg="red")


@app.command()
def backup(
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Backup file (default: <data dir>/backups/strigil-<time>)"
    ),
) -> None:
    """Back up the database and verify the copy by restoring it into a scratch database."""
    conf = settings()
    url = conf.resolved_admin_database_url
    with reported():
        report = backups.backup(url, output or backups.default_path(conf.data_dir, url))
    _print_report(report)
    if not report.verified:
        typer.secho("backup verification FAILED", err=True, fg="red")
        raise typer.Exit(1)
    typer.echo(f"backup verified: {len(report.tables)} tables match")


@app.command()
def restore(
    path: Path = typer.Argument(..., help="A backup made by `strigil db backup`"),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation"),
) -> None:
    """Replace the database with a backup (stop the app first)."""
    url = settings().resolved_admin_database_url
    if not yes:
        typer.confirm(f"Replace the database with {path}? Everything since is lost", abort=True)
    with reported():
        tables = backups.restore(url, path)
    for table, (rows, digest) in sorted(tables.items()):
        typer.echo(f"  {table:<28} rows {rows:>7} sha256 {digest[:12]}")
    typer.echo(f"restored {len(tables)} tables from {path}")


@app.command("app-login")
def app_login(
    name: str = typer.Argument("strigil_web", help="Login role the application connects as"),
    password_env: str | None = typer.Option(
        None, help="Environment variable holding the role's password (none: trust/peer auth)"
    ),
) -> None:
    """Create the PostgreSQL login role the application connects as (run as the owner).

    The role is a member of strigil_app only: row-level security applies to it, it cannot
    delete clinical or audit rows, and it cannot become the owner.
    """
    import os

    from sqlalchemy import create_engine

    url = settings().resolved_admin_database_url
    password = os.environ.get(password_env) if password_env else None
    if password_env and not password:
        typer.secho(f"error: {password_env} is empty or unset", err=True, fg="red")
        raise typer.Exit(2)
    engine = create_engine(url)
    if engine.dialect.name != "postgresql":
        typer.echo("SQLite has no roles; nothing to do")
        return
    try:
        with engine.begin() as conn:
            new = database.create_login_role(conn, name, password)
    finally:
        engine.dispose()
    typer.echo(f"login role {name} {'created' if new else 'updated'}; connect the app as it")
