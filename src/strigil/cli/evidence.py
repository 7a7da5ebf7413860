"""``strigil evidence``: list the bundled IASTM evidence, pool a comparison, draw a forest plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from strigil.web.lazy import lazy

if TYPE_CHECKING:
    from strigil import evidence
    from strigil.evidence import plots, studies
    from strigil.evidence.studies import Pooled
else:  # scipy, statsmodels and matplotlib load only when an evidence command runs
    evidence = lazy("strigil.evidence")
    plots = lazy("strigil.evidence.plots")
    studies = lazy("strigil.evidence.studies")

app = typer.Typer(help="Evidence synthesis")

DEFAULT_PLOT = Path("evidence-forest.svg")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


@app.command("studies")
def list_studies(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """List the bundled studies and whether they carry usable numbers."""
    base = studies.load_evidence()
    if as_json:
        rows = [
            {"id": s.id, "year": s.year, "design": s.design, "comparison": s.comparison,
             "outcome": s.outcome, "usable": s.usable, "doi": s.doi}
            for s in base.studies
        ]  # fmt: skip
        typer.echo(json.dumps({"version": base.version, "studies": rows}, indent=2))
        return
    typer.echo(f"IASTM evidence base, version {base.version}")
    for s in base.studies:
        flag = "data" if s.usable else "no data"
        typer.echo(
            f"  {s.id:<30} {s.year or '----'}  {s.design:<18} {s.comparison or '-':<22} {flag}"
        )


def _pool(outcome: str, comparison: str, method: str, test: str) -> Pooled:
    if method not in evidence.METHODS:
        raise _fail(f"unknown method {method!r}; choose from {', '.join(evidence.METHODS)}")
    if test not in evidence.TESTS:
        raise _fail(f"unknown test {test!r}; choose from {', '.join(evidence.TESTS)}")
    try:
        return studies.pool(outcome, comparison, method=method, test=test)
    except ValueError as exc:
        raise _fail(str(exc)) from exc


def _plot(pooled: Pooled, path: Path, comparison: str) -> None:
    labels = [f"{s.id} ({s.year})" for s in pooled.studies]
    style = plots.ForestStyle(
        xlabel="Standardised mean difference (positive favours IASTM)",
        favours_left=comparison.replace("_", " "),
        favours_right="IASTM",
        title=f"IASTM vs {comparison.replace('_', ' ')}: {pooled.outcome}",
    )
    try:
        plots.forest_plot(pooled.result, labels, path, style)
    except ValueError as exc:
        raise _fail(str(exc)) from exc


def _summary(pooled: Pooled) -> dict[str, Any]:
    r = pooled.result
    return {
        "outcome": pooled.outcome, "comparison": pooled.comparison, "k": r.k,
        "method": r.method, "test": r.test, "estimate": r.estimate, "ci_low": r.ci_low,
        "ci_high": r.ci_high, "pvalue": r.pvalue, "tau2": r.tau2, "i2": r.i2,
        "pi_low": r.pi_low, "pi_high": r.pi_high, "certainty": studies.certainty(r),
        "studies": [s.id for s in pooled.studies],
        "summary": studies.plain_language_summary(
            r, pooled.comparison.replace("_", " "), pooled.outcome
        ),
    }  # fmt: skip


@app.command("pool")
def pool_command(
    outcome: str = typer.Option("pain", help="pain, function or rom"),
    comparison: str = typer.Option(..., help="Comparator slug, e.g. hands_on_mfr"),
    method: str = typer.Option("REML", help="tau^2 estimator"),
    test: str = typer.Option("z", help="z or knha"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
    plot: Path = typer.Option(DEFAULT_PLOT, help="Forest plot path (.svg or .png)"),
) -> None:
    """Pool the trials of one comparison, print the result and write a forest plot."""
    pooled = _pool(outcome, comparison, method, test)
    _plot(pooled, plot, comparison)
    info = _summary(pooled)
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    typer.echo(
        f"{info['k']} trials, {method}/{test}: SMD {info['estimate']:.2f} "
        f"[{info['ci_low']:.2f}, {info['ci_high']:.2f}], I² {info['i2']:.0f}%, "
        f"certainty {info['certainty']}"
    )
    typer.echo(info["summary"])
    typer.echo(f"forest plot: {plot}")


@app.command("forest")
def forest_command(
    outcome: str = typer.Option("pain", help="pain, function or rom"),
    comparison: str = typer.Option(..., help="Comparator slug, e.g. hands_on_mfr"),
    method: str = typer.Option("REML", help="tau^2 estimator"),
    test: str = typer.Option("z", help="z or knha"),
    plot: Path = typer.Option(DEFAULT_PLOT, help="Forest plot path (.svg or .png)"),
) -> None:
    """Only write the forest plot of a pooled comparison."""
    _plot(_pool(outcome, comparison, method, test), plot, comparison)
    typer.echo(str(plot))
