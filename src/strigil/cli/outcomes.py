"""``strigil outcomes``: score an outcome measure and list the registry from the command line.

A thin adapter over :mod:`strigil.core.scoring`: it parses text, calls the core and prints.
Bad input prints the error's detail on stderr and exits with code 2 (usage error).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any, NoReturn

import typer

from strigil.core.measures import Measure, catalog_version, measures
from strigil.core.scoring import Score, score
from strigil.errors import InvalidInput

app = typer.Typer(
    help="Outcome measures: score a questionnaire or measurement, list the measures.",
    no_args_is_help=True,
)

EXIT_BAD_INPUT = 2


def _fail(detail: str, field: str | None = None, code: str = "invalid_input") -> NoReturn:
    """Word the error as the API does (detail, field, code) on stderr and exit 2."""
    where = f" ({field})" if field else ""
    typer.echo(f"error{where}: {detail} [{code}]", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def parse_answers(text: str) -> list[float | None]:
    """Split "a1,a2,…" into numbers; "-" (or an empty slot) is a missing item."""
    out: list[float | None] = []
    for i, part in enumerate(text.split(",")):
        token = part.strip()
        if token in ("-", ""):
            out.append(None)
            continue
        try:
            out.append(float(token))
        except ValueError:
            _fail(f"answer {i + 1} '{token}' is not a number (use '-' for a missing item)",
                  f"answers[{i}]")  # fmt: skip
    return out


def _score_dict(result: Score) -> dict[str, Any]:
    body = asdict(result)
    body["notes"] = list(result.notes)
    body["catalog_version"] = catalog_version()
    return body


def _print_score(result: Score) -> None:
    better = "lower" if result.direction == "lower_is_better" else "higher"
    typer.echo(
        f"{result.measure}: {result.score:.4g} {result.unit} "
        f"(range {result.min:g}-{result.max:g}, {better} is better)"
    )
    for name, value in result.subscores.items():
        typer.echo(f"  {name}: {value:.4g}")
    typer.echo(f"  answered {result.answered}, missing {result.missing}")
    for note in result.notes:
        typer.echo(f"  note: {note}")


@app.command("score")
def score_command(
    measure: Annotated[str, typer.Argument(help="Measure code, e.g. ODI, NDI, LEFS, ROM.")],
    answers: Annotated[
        str, typer.Option("--answers", "-a", help='Comma-separated answers; "-" = missing.')
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    unit: Annotated[str | None, typer.Option(help="Unit (VAS mm|cm, PPT kPa|kg/cm2).")] = None,
    joint: Annotated[str | None, typer.Option(help="ROM joint, e.g. knee.")] = None,
    motion: Annotated[str | None, typer.Option(help="ROM motion, e.g. flexion.")] = None,
    side: Annotated[str | None, typer.Option(help="ROM side: left|right|midline.")] = None,
    item8_branch: Annotated[str | None, typer.Option(help="VISA item 8 branch: A|B|C.")] = None,
) -> None:
    """Score one completed measure."""
    given = {"unit": unit, "joint": joint, "motion": motion, "side": side,
             "item8_branch": item8_branch}  # fmt: skip
    options = {k: v for k, v in given.items() if v is not None}
    try:
        result = score(measure, parse_answers(answers), **options)
    except InvalidInput as exc:
        _fail(exc.detail, exc.field, exc.code)
    if as_json:
        typer.echo(json.dumps(_score_dict(result), indent=2))
    else:
        _print_score(result)


def _measure_dict(m: Measure) -> dict[str, Any]:
    mcid, mdc = m.default_mcid, m.default_mdc
    return {
        "code": m.code,
        "name": m.name,
        "unit": m.unit,
        "min": m.min,
        "max": m.max,
        "direction": m.direction,
        "items": len(m.items) if m.min_items == m.max_items else f"{m.min_items}-{m.max_items}",
        "mcid": asdict(mcid) if mcid else None,
        "mdc": asdict(mdc) if mdc else None,
        "loinc": m.loinc.get("code") if m.loinc.get("verified") else None,
    }


@app.command("measures")
def measures_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the registered outcome measures with their range, direction and default MCID."""
    rows = [_measure_dict(m) for m in measures()]
    if as_json:
        typer.echo(json.dumps({"version": catalog_version(), "measures": rows}, indent=2))
        return
    typer.echo(f"{'code':<12} {'range':<14} {'direction':<17} {'MCID':<8} name")
    for r in rows:
        mcid = r["mcid"]
        shown = "-" if not mcid or mcid["value"] is None else f"{mcid['value']:g}"
        span = f"{r['min']:g}-{r['max']:g} {r['unit']}"
        typer.echo(f"{r['code']:<12} {span:<14} {r['direction']:<17} {shown:<8} {r['name']}")
