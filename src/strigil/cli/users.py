"""`strigil user`: add users from the command line (first admin, scripted set-up)."""

from __future__ import annotations

import typer

from strigil.cli.common import reported, session_scope
from strigil.errors import NotFound
from strigil.services import clinics

app = typer.Typer(help="Users and their roles.", no_args_is_help=True)


@app.command("add")
def add(
    email: str = typer.Option(..., help="Sign-in email"),
    name: str = typer.Option(..., "--name", help="Display name"),
    role: str = typer.Option("therapist", help="admin, therapist, assistant or researcher"),
    clinic: str = typer.Option(..., help="Clinic name (created if --create-clinic)"),
    create_clinic: bool = typer.Option(False, "--create-clinic", help="Create the clinic"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Add a user to a clinic."""
    with reported(), session_scope() as session:
        found = clinics.find_clinic_by_name(session=session, name=clinic)
        if found is None and not create_clinic:
            raise NotFound(f"no clinic named {clinic!r}; pass --create-clinic", field="clinic")
        target = found or clinics.create_clinic(session=session, name=clinic)
        user = clinics.add_user(
            session=session,
            clinic=target,
            email=email,
            display_name=name,
            role=role,
            password=password,
        )
        typer.echo(f"added {user.email} ({user.role}) to {target.name}")
