"""``strigil instruments``: check a clinic's checked questionnaire translation before it is
installed, and list the installed ones.

A thin adapter over :mod:`strigil.services.instrument_translations`; a refused pack prints
the file, the field and the rule and exits 2, as the server's start-up would refuse it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strigil.cli.common import reported, settings
from strigil.core import i18n
from strigil.services import instrument_translations
from strigil.services.instrument_translations import Pack

app = typer.Typer(
    help="Checked translations of published questionnaires, supplied by the clinic.",
    no_args_is_help=True,
)


def _describe(pack: Pack) -> str:
    language = i18n.LANGUAGES.get(pack.language, pack.language)
    extras = [name for name in ("prompt", "low", "high") if getattr(pack, name)]
    given = f"; also {', '.join(extras)}" if extras else ""
    return (
        f"{pack.measure} in {language} ({pack.language}): {pack.title}; {pack.citation}; "
        f"{len(pack.items)} items{given}"
    )


@app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="The pack file (JSON) to check.")],
) -> None:
    """Check one pack file against the measure registry; nothing is installed."""
    with reported():
        pack = instrument_translations.read_pack(file)
    typer.echo(f"ok: {file.name}: {_describe(pack)}")


@app.command("list")
def list_installed(
    folder: Annotated[
        Path | None,
        typer.Option(help="The pack folder (default: STRIGIL_INSTRUMENT_TRANSLATIONS)."),
    ] = None,
) -> None:
    """List the installed packs, refusing the folder as the server's start-up would."""
    chosen = folder or settings().instrument_translations
    if chosen is None:
        typer.echo("no folder is configured (STRIGIL_INSTRUMENT_TRANSLATIONS); items are shown "
                   "as published")  # fmt: skip
        return
    with reported():
        installed = instrument_translations.load_folder(chosen)
    packs = installed.all()
    if not packs:
        typer.echo(f"no packs in {chosen.name}; items are shown as published")
    for pack in packs:
        typer.echo(_describe(pack))
