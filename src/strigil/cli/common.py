"""Shared CLI plumbing: settings, a session per command, error printing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.orm import Session

from strigil.config import Settings
from strigil.errors import StrigilError
from strigil.services.database import UnitOfWork, make_engine, make_sessionmaker


def settings() -> Settings:
    return Settings()


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One unit of work for one command, as the database owner (admin commands): committed
    on success, rolled back on error."""
    engine = make_engine(url or settings().resolved_admin_database_url)
    try:
        with UnitOfWork(make_sessionmaker(engine), restricted=False) as session:
            yield session
    finally:
        engine.dispose()


def fail(error: StrigilError) -> None:
    """Print an error the way the API words it."""
    where = f" ({error.field})" if error.field else ""
    typer.secho(f"error{where}: {error.detail} [{error.code}]", err=True, fg="red")


@contextmanager
def reported() -> Iterator[None]:
    """Turn a StrigilError into a message and exit code 2."""
    try:
        yield
    except StrigilError as error:
        fail(error)
        raise typer.Exit(2) from None
