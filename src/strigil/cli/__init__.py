"""The `strigil` command: thin adapters over the services; each command owns its transaction."""

from __future__ import annotations

import copy
import sys
from typing import Any

import typer

from strigil.cli import (
    db,
    demo,
    export,
    instruments,
    interchange,
    notes,
    outbox,
    reports,
    sensors,
    users,
)
from strigil.cli.common import fail
from strigil.config import LogLevel, get_settings
from strigil.errors import StrigilError

app = typer.Typer(help="Strigil: a clinical workbench for IASTM.", no_args_is_help=True)
app.add_typer(db.app, name="db")
app.add_typer(demo.app, name="demo")
app.add_typer(users.app, name="user")
app.add_typer(notes.app, name="notes")
app.add_typer(export.app, name="export")  # research here, FHIR from cli/interchange.py
app.add_typer(interchange.import_app, name="import")
app.add_typer(reports.app, name="reports")
app.add_typer(outbox.app, name="outbox")
app.add_typer(sensors.app, name="sensors")
app.add_typer(instruments.app, name="instruments")


def _optional_groups() -> None:
    """Groups whose modules pull in heavier numerics load only when present."""
    from strigil.cli import evidence, insight, outcomes

    app.add_typer(evidence.app, name="evidence")
    app.add_typer(insight.app, name="insight")
    app.add_typer(outcomes.app, name="outcomes")


_optional_groups()


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(8000, help="Port to listen on"),
    workers: int = typer.Option(1, help="Worker processes"),
) -> None:
    """Serve the web app and the API."""
    import uvicorn

    level = get_settings().log_level
    uvicorn.run(
        "strigil.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=level.lower(),
        log_config=log_config(level),
    )


def log_config(level: LogLevel) -> dict[str, Any]:
    """The web server's logging set-up with Strigil's own loggers added at ``level``.

    Why: the web server configures only its own loggers, so without this Strigil's records
    below WARNING were dropped whatever ``STRIGIL_LOG_LEVEL`` said, and the access log was
    written even when it asked for warnings only.
    """
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["strigil"] = {"handlers": ["default"], "level": level, "propagate": False}
    return config


def main() -> None:
    """Entry point: a StrigilError prints its message and exits non-zero."""
    try:
        app()
    except StrigilError as error:
        fail(error)
        sys.exit(2)
