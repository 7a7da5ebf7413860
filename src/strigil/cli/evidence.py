"""``strigil evidence``: list the bundled IASTM evidence, pool a comparison, draw a forest plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from strigil.errors import InvalidInput
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


@app.command("sensitivity")
def sensitivity_command(
    comparison: str = typer.Argument(..., help="Comparator slug, e.g. hands_on_mfr"),
    outcome: str = typer.Option("pain", help="pain, function or rom"),
    method: str = typer.Option("REML", help="tau^2 estimator"),
    test: str = typer.Option("z", help="z or knha"),
    estimator: str = typer.Option("L0", help="Trim-and-fill estimator: L0, R0 or Q0"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """Sensitivity of a pooled comparison: influence, trim-and-fill, permutation test, GOSH.

    Parts that need more trials (influence and trim-and-fill need 3) say so instead.

    A comparison without usable trials exits 2.
    """
    try:
        published.check_estimator(estimator)
    except InvalidInput as exc:
        raise _fail(f"{exc.field}: {exc.detail}") from exc
    report = published.sensitivity_of(_pool(outcome, comparison, method, test), estimator)
    info = published.sensitivity_json(report)
    if as_json:
        typer.echo(json.dumps({"comparison": comparison, "outcome": outcome, **info}, indent=2))
        return
    _print_sensitivity(comparison, outcome, info)


def _num(value: float | None, fmt: str) -> str:
    """A number as ``fmt``, or "NA" where it is undefined (null in the JSON), as R prints it."""
    return "NA" if value is None else format(value, fmt)


def _print_sensitivity(comparison: str, outcome: str, info: dict[str, Any]) -> None:
    k = info["k"]
    model = "not pooled" if k == 1 else f"{info['method']}/{info['test']}"
    typer.echo(
        f"IASTM vs {published.comparison_label(comparison)}: {published.outcome_label(outcome)}"
        f" - {k} trial{'s' if k != 1 else ''}, {model}, "
        f"SMD {info['estimate']:.2f} [{info['ci_low']:.2f}, {info['ci_high']:.2f}]"
    )
    for note in info["notes"]:
        typer.echo(f"note: {note}")
    if info["influence"] is not None:
        _print_influence(info["influence"])
    if info["trimfill"] is not None:
        _print_trimfill(info["trimfill"])
    if info["permutation"] is not None:
        p = info["permutation"]
        kind = "exact" if p["exact"] else "random"
        typer.echo(
            f"Permutation test: p = {p['pvalue']:.4f} ({kind}, {p['iterations']} sign flips); "
            f"model p = {p['model_pvalue']:.4f}"
        )
    if info["gosh"] is not None:
        _print_gosh(info["gosh"])


INFLUENCE_HEADER = ("study", "rstudent", "dffits", "cook.d", "cov.r", "tau2.del", "QE.del",
                    "hat", "weight", "infl")  # fmt: skip


def _print_influence(rows: list[dict[str, Any]]) -> None:
    width = max(len("study"), *(len(r["label"]) for r in rows))
    typer.echo("Influence (case deletion; * = influential by metafor's rule):")
    typer.echo(
        f"  {INFLUENCE_HEADER[0]:<{width}}" + "".join(f"{h:>10}" for h in INFLUENCE_HEADER[1:])
    )
    for r in rows:
        numbers = (r["rstudent"], r["dffits"], r["cook_d"], r["cov_r"], r["tau2_del"],
                   r["q_del"], r["hat"], r["weight"])  # fmt: skip
        cells = "".join(f"{_num(x, '.4f'):>10}" for x in numbers)
        typer.echo(f"  {r['label']:<{width}}{cells}{'*' if r['influential'] else '':>10}")


def _print_trimfill(tf: dict[str, Any]) -> None:
    typer.echo(
        f"Trim-and-fill ({tf['estimator']}): {tf['k0']} imputed on the {tf['side']} side "
        f"(SE {_num(tf['se_k0'], '.2f')}); adjusted SMD {tf['estimate']:.2f} "
        f"[{tf['ci_low']:.2f}, {tf['ci_high']:.2f}]"
    )
    typer.echo(f"  {tf['summary']}")


def _print_gosh(g: dict[str, Any]) -> None:
    def spread(q: dict[str, float], fmt: str) -> str:
        return ", ".join(f"{name} {_num(value, fmt)}" for name, value in q.items())

    typer.echo(f"GOSH ({g['method']}, all {g['subsets']} subsets):")
    typer.echo(f"  estimate: {spread(g['estimate'], '.2f')}")
    typer.echo(f"  I^2 (%):  {spread(g['i2'], '.1f')}")
