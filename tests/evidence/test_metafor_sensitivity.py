"""influence, trimfill, permutest, gosh and rma()'s warnings against R's metafor.

Pinned numbers come from scripts/reference/metafor_sensitivity.R; the live test re-runs that
script and checks this code against the fresh output too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from strigil.evidence import EvidenceInputError, gosh, influence, meta_analyze, permutest, trimfill

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "reference" / "metafor_sensitivity.R"
PINNED = Path(__file__).parent / "data" / "metafor_sensitivity.json"
REL_TOL = 1e-6
ABS_TOL = 1e-9

REF: dict[str, Any] = json.loads(PINNED.read_text())


def _data(ref: dict[str, Any], name: str) -> tuple[np.ndarray, np.ndarray]:
    ds = next(d for d in ref["datasets"] if d["name"] == name)
    return np.asarray(ds["yi"], dtype=float), np.asarray(ds["vi"], dtype=float)


def close(mine: Any, theirs: Any, what: str) -> None:
    theirs_arr = np.asarray([np.nan if t is None else t for t in np.atleast_1d(theirs)], float)
    np.testing.assert_allclose(
        np.atleast_1d(mine), theirs_arr, rtol=REL_TOL, atol=ABS_TOL, err_msg=what
    )


def check_edges(ref: dict[str, Any]) -> None:
    eq = ref["rma_edges"]["equal_yi"]
    res = meta_analyze(eq["yi"], eq["vi"], method="EE")
    close([res.i2, res.h2, res.q], [eq["I2"], eq["H2"], eq["QE"]], "equal yi")
    for case in ref["rma_edges"]["warnings"]:
        res = meta_analyze(case["yi"], case["vi"], method=case["method"], test=case["test"])
        assert list(res.warnings) == list(case["warnings"]), case


INFLUENCE_COLUMNS = {
    "rstudent": "rstudent",
    "dffits": "dffits",
    "cook.d": "cook_d",
    "cov.r": "cov_r",
    "tau2.del": "tau2_del",
    "QE.del": "q_del",
    "hat": "hat",
    "weight": "weight",
    "dfbetas": "dfbetas",
}


def check_influence(ref: dict[str, Any], case: dict[str, Any]) -> None:
    y, v = _data(ref, case["data"])
    res = influence(y, v, method=case["method"], test=case["test"])
    for rname, attr in INFLUENCE_COLUMNS.items():
        close(getattr(res, attr), case[rname], f"influence {rname}")
    assert res.influential.tolist() == case["is_infl"]


def check_trimfill(ref: dict[str, Any], case: dict[str, Any]) -> None:
    y, v = _data(ref, case["data"])
    ilim = tuple(case["ilim"]) if case["ilim"] is not None else None
    kwargs: dict[str, Any] = {"method": case["method"], "estimator": case["estimator"]}
    if case["error"]:  # metafor stops (Q0's square root of a negative number); so must we
        with pytest.raises(EvidenceInputError, match="Q0 estimator is undefined") as err:
            trimfill(y, v, side=case["side_arg"], ilim=ilim, **kwargs)
        assert err.value.field == "estimator"
        return
    res = trimfill(y, v, side=case["side_arg"], ilim=ilim, **kwargs)
    assert (res.k0, res.side) == (case["k0"], case["side"])
    close(res.se_k0, case["se_k0"], "se.k0")
    close(np.sort(res.filled_yi), np.sort(case["filled_yi"]), "filled yi")
    close(np.sort(res.filled_vi), np.sort(case["filled_vi"]), "filled vi")
    fit = res.fit
    close(
        [fit.estimate, fit.se, fit.tau2, fit.ci_low, fit.ci_high, fit.pvalue],
        [case[n] for n in ("estimate", "se", "tau2", "ci_lb", "ci_ub", "pval")],
        "adjusted fit",
    )
    assert res.is_filled.sum() == res.k0


def check_permutest_exact(ref: dict[str, Any], case: dict[str, Any]) -> None:
    y, v = _data(ref, case["data"])
    res = permutest(y, v, method=case["method"], test=case["test"], exact=True)
    assert res.exact
    assert res.iter == case["iter"]
    close([res.zval, res.pvalue, res.qm_pvalue], [case["zval"], case["pval"], case["QMp"]], "p")


def check_gosh(ref: dict[str, Any], case: dict[str, Any]) -> None:
    y, v = _data(ref, case["data"])
    res = gosh(y, v, method=case["method"])
    assert res.exact
    assert len(res) == len(case["code"]) == 2 ** len(y) - 1
    # our row r is the subset with code r + 1 (bit j = study j); metafor sorts rows by size
    row = np.asarray(case["code"], dtype=np.int64) - 1
    codes = res.membership @ (1 << np.arange(len(y)))
    assert (codes[row] == row + 1).all()
    for rname, attr in {
        "k": "k",
        "QE": "q",
        "I2": "i2",
        "H2": "h2",
        "tau2": "tau2",
        "estimate": "estimate",
    }.items():
        close(getattr(res, attr)[row], case[rname], f"gosh {rname}")


def test_rma_i2_and_warnings_match_metafor() -> None:
    check_edges(REF)


@pytest.mark.parametrize(
    "case", REF["influence"], ids=lambda c: f"{c['data']}-{c['method']}-{c['test']}"
)
def test_influence_matches_metafor(case: dict[str, Any]) -> None:
    check_influence(REF, case)


def _trimfill_id(case: dict[str, Any]) -> str:
    side = case["side_arg"] or "auto"
    limits = "-ilim" if case["ilim"] is not None else ""
    return f"{case['data']}-{case['method']}-{case['estimator']}-{side}{limits}"


@pytest.mark.parametrize("case", REF["trimfill"], ids=_trimfill_id)
def test_trimfill_matches_metafor(case: dict[str, Any]) -> None:
    check_trimfill(REF, case)


def test_trimfill_reference_covers_q0_on_both_sides_and_cut_imputed_values() -> None:
    """The pinned cases exercise what they claim: Q0 filling each side, chosen and forced,
    and limits that actually move imputed values."""
    q0 = [c for c in REF["trimfill"] if c["estimator"] == "Q0" and not c["error"]]
    for side in ("left", "right"):
        assert any(c["side"] == side and c["k0"] > 0 and c["side_arg"] is None for c in q0)
        assert any(c["side"] == side and c["k0"] > 0 and c["side_arg"] == side for c in q0)
    limited = [c for c in REF["trimfill"] if c["ilim"] is not None and not c["error"]]
    at_bound = [c for c in limited if c["k0"] and set(c["filled_yi"]) & set(c["ilim"])]
    assert {c["estimator"] for c in at_bound} == {"L0", "R0", "Q0"}
    assert {c["side"] for c in at_bound} == {"left", "right"}


EXACT = [c for c in REF["permutest"] if c["exact"]]
RANDOM = [c for c in REF["permutest"] if not c["exact"]]


@pytest.mark.parametrize("case", EXACT, ids=lambda c: f"{c['data']}-{c['method']}-{c['test']}")
def test_exact_permutest_matches_metafor(case: dict[str, Any]) -> None:
    check_permutest_exact(REF, case)


@pytest.mark.parametrize("case", RANDOM, ids=lambda c: f"{c['data']}-{c['method']}")
def test_random_permutest_agrees_with_metafor_within_monte_carlo_error(
    case: dict[str, Any],
) -> None:
    """Different random sign flips: the two p-values estimate one number, each ± its MC SE."""
    y, v = _data(REF, case["data"])
    res = permutest(y, v, method=case["method"], iter=20_000, seed=5)
    assert not res.exact
    p = case["pval"]
    mc_se = np.sqrt(max(p * (1 - p), 1e-4) * (1 / case["iter"] + 1 / res.iter))
    assert abs(res.pvalue - p) <= 4 * mc_se
    np.testing.assert_allclose(res.zval, case["zval"], rtol=REL_TOL)


@pytest.mark.parametrize("case", REF["gosh"], ids=lambda c: f"{c['data']}-{c['method']}")
def test_gosh_matches_metafor(case: dict[str, Any]) -> None:
    check_gosh(REF, case)


@pytest.mark.reference
def test_live_metafor_run_reproduces_sensitivity_reference(tmp_path: Path) -> None:
    """Re-run the R script now; this code must match the fresh numbers as well."""
    if shutil.which("Rscript") is None:  # `make test` installs Debian's r-cran-metafor
        pytest.fail("Rscript is required to re-run the metafor sensitivity reference")
    out = tmp_path / "live.json"
    subprocess.run(["Rscript", str(SCRIPT), str(out)], check=True, cwd=ROOT, timeout=1800)
    live: dict[str, Any] = json.loads(out.read_text())
    check_edges(live)
    for case in live["influence"]:
        check_influence(live, case)
    for case in live["trimfill"]:
        check_trimfill(live, case)
    for case in (c for c in live["permutest"] if c["exact"]):
        check_permutest_exact(live, case)
    for case in live["gosh"]:
        check_gosh(live, case)
