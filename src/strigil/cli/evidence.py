"""``strigil evidence``: list the bundled IASTM evidence, pool a comparison, draw a forest plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from strigil.web.lazy import lazy

if TYPE_CHECKING:
    from strigil import evidence
    from strigil.evidence import studies
    from strigil.evidence.studies import Pooled
    from strigil.services import evidence as published
else:  # scipy, statsmodels and matplotlib load only when an evidence command runs
    evidence = lazy("strigil.evidence")
    studies = lazy("strigil.evidence.studies")
    published = lazy("strigil.services.evidence")

app = typer.Typer(help="Evidence synthesis")

DEFAULT_PLOT = Path("evidence-forest.svg")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


@app.command("studies")
def list_studies(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """List the bundled studies and whether their numbers can be pooled."""
    base = studies.load_evidence()
    if as_json:
        rows = [
            {"id": s.id, "year": s.year, "design": s.design,
             "design_text": published.design_label(s.design), "comparison": s.comparison,
             "outcome": s.outcome, "measure": s.measure, "timepoint": s.timepoint,
             "has_numbers": s.has_numbers, "usable": s.usable, "doi": s.doi,
             "rob2_overall": s.rob2.overall if s.rob2 else None}
            for s in base.studies
        ]  # fmt: skip
        typer.echo(json.dumps({"version": base.version, "studies": rows}, indent=2))
        return
    typer.echo(f"IASTM evidence base, version {base.version}")
    for s in base.studies:
        typer.echo(f"{s.id} ({published.short_ref(s)}): {_numbers_flag(s)}")
        typer.echo(f"    design:     {published.design_label(s.design)}")
        typer.echo(f"    compared:   {published.comparison_label(s.comparison or '-')}")
        outcome = published.outcome_label(s.outcome) if s.outcome else "-"
        typer.echo(f"    outcome:    {outcome}{f' - {s.measure}' if s.measure else ''}")
        typer.echo(f"    time point: {s.timepoint or 'not stated'}")


def _numbers_flag(study: studies.Study) -> str:
    """Whether a study's numbers enter :func:`pool`, and if not, why not in the sources' words."""
    if study.usable:
        return "poolable"
    if not study.has_numbers:
        return "no usable numbers read"
    if study.design.endswith(("review", "analysis")):
        return "review estimate"
    return f"numbers listed, not pooled ({published.design_label(study.design)})"


def _pool(outcome: str, comparison: str, method: str, test: str) -> Pooled:
    if method not in evidence.METHODS:
        raise _fail(f"unknown method {method!r}; choose from {', '.join(evidence.METHODS)}")
    if test not in evidence.TESTS:
        raise _fail(f"unknown test {test!r}; choose from {', '.join(evidence.TESTS)}")
    try:
        return studies.pool(outcome, comparison, method=method, test=test)
    except ValueError as exc:
        raise _fail(str(exc)) from exc


def _plot(pooled: Pooled, path: Path) -> None:
    try:
        published.draw_forest(pooled, path)
    except ValueError as exc:
        raise _fail(str(exc)) from exc


def _headline(info: dict[str, Any]) -> str:
    numbers = f"SMD {info['estimate']:.2f} [{info['ci_low']:.2f}, {info['ci_high']:.2f}]"
    if not info["pooled"]:
        return (
            f"1 trial, not pooled ({info['studies'][0]}): {numbers}, heterogeneity not "
            f"estimable, certainty {info['certainty']}"
        )
    return (
        f"{info['k']} trials, {info['method']}/{info['test']}: {numbers}, "
        f"I² {info['i2']:.0f}%, certainty {info['certainty']}"
    )


@app.command("pool")
def pool_command(
    outcome: str = typer.Option("pain", help="pain, function or rom"),
    comparison: str = typer.Option(..., help="Comparator slug, e.g. hands_on_mfr"),
    method: str = typer.Option("REML", help="tau^2 estimator"),
    test: str = typer.Option("z", help="z or knha"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
    plot: Path = typer.Option(DEFAULT_PLOT, help="Forest plot path (.svg or .png)"),
) -> None:
    """Pool the trials of one comparison, print the result and write a forest plot.

    A comparison with one usable trial prints that trial on its own (not pooled).
    """
    pooled = _pool(outcome, comparison, method, test)
    _plot(pooled, plot)
    info = published.pooled_json(pooled)
    if as_json:
        typer.echo(json.dumps({**info, "plot": str(plot)}, indent=2))
        return
    typer.echo(_headline(info))
    typer.echo(info["summary"])
    _print_grade(info["grade"])
    typer.echo(f"forest plot: {plot}")


def _print_grade(table: dict[str, Any]) -> None:
    typer.echo(f"GRADE: certainty {table['certainty']}. {table['reason']}")
    for d in table["domains"]:
        typer.echo(f"  {d['domain']:<17} {d['judgement']:<15} {d['reason']}")


@app.command("forest")
def forest_command(
    outcome: str = typer.Option("pain", help="pain, function or rom"),
    comparison: str = typer.Option(..., help="Comparator slug, e.g. hands_on_mfr"),
    method: str = typer.Option("REML", help="tau^2 estimator"),
    test: str = typer.Option("z", help="z or knha"),
    plot: Path = typer.Option(DEFAULT_PLOT, help="Forest plot path (.svg or .png)"),
) -> None:
    """Only write the forest plot of a pooled comparison."""
    _plot(_pool(outcome, comparison, method, test), plot)
    typer.echo(str(plot))
