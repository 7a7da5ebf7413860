"""Closed-form intercept-only fits equal the general matrix path; bad input is refused."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from strigil.evidence import (
    EvidenceInputError,
    effect_size,
    gosh,
    influence,
    meta_analyze,
    permutest,
    trimfill,
)
from strigil.evidence.batch import reml_many
from strigil.evidence.heterogeneity import ConvergenceError, Design
from strigil.evidence.meta import fit_model

CLOSED_FORM_METHODS = ("EE", "DL", "REML", "PM", "ML", "HE", "SJ")


@st.composite
def meta_data(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    k = draw(st.integers(min_value=3, max_value=30))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.005, 0.5, k)
    tau2 = draw(st.sampled_from([0.0, 0.02, 0.3, 4.0]))
    return rng.normal(draw(st.floats(-2, 2)), np.sqrt(v + tau2)), v


# Data on which REML's Fisher scoring does not converge in 100 iterations; metafor 3.8-1's
# rma(y, v, method = "REML") stops with "Fisher scoring algorithm did not converge" too.
UNCONVERGED_Y = [-0.13644202344387324, 0.04375139353563291, -0.07353864413091159,
                 -0.3671009936857201, -0.2445409602337871, 0.0974830445382765,
                 0.3468359770010797, -0.393266744562781, 0.1630302159537292, 0.8190319202714827,
                 0.19029675672533208, 0.7927662387851997, 0.007026761061433431,
                 -0.14477478273803343, 0.15803435620542075, 0.09229781391102906,
                 0.2666718522058179, 0.12303244323407708, 0.3595742661733472,
                 -0.05530199087528628, -0.6855034837134777, 0.13782785761030328]  # fmt: skip
UNCONVERGED_V = [0.12363710814784541, 0.39540305717309804, 0.3624120526906889,
                 0.02766010788129249, 0.16808118015636353, 0.1347460852810633,
                 0.28431538667443684, 0.44397248277746393, 0.15625530964317966,
                 0.48619603827578645, 0.25184284090623327, 0.40507372899835675,
                 0.4372604693379601, 0.0747094835161646, 0.23939191166628798,
                 0.17619447591229673, 0.2587713454893699, 0.08462826613423306,
                 0.09013893851882465, 0.16975761801622075, 0.3103277786625542,
                 0.0751408830329116]  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(data=meta_data(), method=st.sampled_from(CLOSED_FORM_METHODS))
@example(data=(np.array(UNCONVERGED_Y), np.array(UNCONVERGED_V)), method="REML")
def test_closed_form_equals_matrix_path(data: tuple[np.ndarray, np.ndarray], method: str) -> None:
    """X = 2·1 spans the same model but takes the k×k matrix path: τ², Q, I², SEs agree, and
    where one path's iteration does not converge, neither does the other's."""
    y, v = data
    try:
        closed = fit_model(Design(y, v, np.ones((len(y), 1))), method, "knha", 0.95)
    except ConvergenceError:
        with pytest.raises(ConvergenceError):
            fit_model(Design(y, v, np.full((len(y), 1), 2.0)), method, "knha", 0.95)
        return
    general = fit_model(Design(y, v, np.full((len(y), 1), 2.0)), method, "knha", 0.95)
    np.testing.assert_allclose(closed.tau2, general.tau2, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(closed.beta[0], 2 * general.beta[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(closed.se[0], 2 * general.se[0], rtol=1e-9, atol=1e-12)
    for name in ("q", "i2", "h2", "q_pvalue"):
        np.testing.assert_allclose(getattr(closed, name), getattr(general, name), rtol=1e-9)
    if general.se_tau2 is not None:
        assert closed.se_tau2 is not None
        np.testing.assert_allclose(closed.se_tau2, general.se_tau2, rtol=1e-8)


def test_common_effect_i2_is_zero_not_nan_when_q_is_zero() -> None:
    res = meta_analyze([0.3, 0.3, 0.3, 0.3], [0.1, 0.2, 0.3, 0.4], method="FE")
    assert res.q == 0
    assert res.i2 == 0
    assert res.h2 == 0


def test_no_warnings_for_an_ordinary_fit() -> None:
    assert meta_analyze([0.1, 0.4, 0.3], [0.1, 0.2, 0.3]).warnings == ()


def test_md_with_both_sds_zero_is_refused() -> None:
    with pytest.raises(EvidenceInputError, match=r"sd1i\[1\] and sd2i\[1\] are both 0") as err:
        effect_size(
            "MD", m1i=[1, 2], sd1i=[1, 0], n1i=[10, 10], m2i=[0, 1], sd2i=[1, 0], n2i=[10, 10]
        )
    assert err.value.field == "sd1i"


def test_md_with_one_sd_zero_is_allowed() -> None:
    es = effect_size("MD", m1i=[1], sd1i=[0], n1i=[10], m2i=[0], sd2i=[2], n2i=[10])
    assert es.vi[0] == pytest.approx(0.4)


@pytest.mark.parametrize("cell", ["ai", "bi", "ci", "di"])
def test_fractional_counts_are_refused(cell: str) -> None:
    counts = {"ai": [3, 4], "bi": [7, 6], "ci": [2, 5], "di": [8, 5]}
    counts[cell] = [counts[cell][0], counts[cell][1] + 0.5]
    with pytest.raises(EvidenceInputError, match=rf"{cell}\[1\].*whole number") as err:
        effect_size("OR", **counts)
    assert err.value.field == cell


Y, V = [0.1, 0.5, 0.3, 0.2, 0.4], [0.1, 0.2, 0.1, 0.3, 0.2]
CALLS = {
    "meta_analyze": lambda y, v: meta_analyze(y, v),
    "influence": lambda y, v: influence(y, v),
    "trimfill": lambda y, v: trimfill(y, v),
    "permutest": lambda y, v: permutest(y, v, iter=100),
    "gosh": lambda y, v: gosh(y, v),
}


@pytest.mark.parametrize("call", CALLS, ids=str)
def test_zero_variance_is_refused_everywhere(call: str) -> None:
    with pytest.raises(EvidenceInputError, match=r"vi\[2\] = 0.0: a sampling variance") as err:
        CALLS[call](Y, [0.1, 0.2, 0.0, 0.3, 0.2])
    assert err.value.field == "vi"


@pytest.mark.parametrize("call", CALLS, ids=str)
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_data_is_refused_everywhere(call: str, bad: float) -> None:
    with pytest.raises(EvidenceInputError, match="yi contains") as err:
        CALLS[call]([0.1, bad, 0.3, 0.2, 0.4], V)
    assert err.value.field == "yi"


def test_batched_reml_refuses_zero_variance() -> None:
    with pytest.raises(EvidenceInputError, match="sampling variance must be positive"):
        reml_many(np.ones((2, 3)), np.array([[0.1, 0.2, 0.3], [0.1, 0.0, 0.3]]))


def test_gosh_refuses_all_subsets_beyond_k_20_and_samples_on_request() -> None:
    rng = np.random.default_rng(3)
    v = rng.uniform(0.01, 0.1, 21)
    y = rng.normal(0, 0.3, 21)
    with pytest.raises(EvidenceInputError, match=r"k = 21.*subsets=N") as err:
        gosh(y, v)
    assert err.value.field == "subsets"
    sampled = gosh(y, v, subsets=500, seed=1)
    assert sampled.membership.shape == (500, 21)
    assert not sampled.exact
    assert (sampled.k >= 1).all()


def test_gosh_and_permutest_refuse_bad_options() -> None:
    with pytest.raises(EvidenceInputError, match="gosh\\(\\) supports") as err:
        gosh(Y, V, method="REML")
    assert err.value.field == "method"
    with pytest.raises(EvidenceInputError, match="iter must be") as err:
        permutest(Y, V, iter=1)
    assert err.value.field == "iter"
    with pytest.raises(EvidenceInputError, match="k = 21") as err:
        permutest(np.ones(21), np.ones(21), exact=True)
    assert err.value.field == "exact"


def test_trimfill_refuses_unknown_estimator_and_side() -> None:
    with pytest.raises(EvidenceInputError, match="'Q9': expected one of L0, R0, Q0") as err:
        trimfill(Y, V, estimator="Q9")
    assert err.value.field == "estimator"
    with pytest.raises(EvidenceInputError) as err:
        trimfill(Y, V, side="up")
    assert err.value.field == "side"


@pytest.mark.parametrize(
    ("ilim", "message"),
    [
        ((0.5,), "pair"),
        ((0.0, 0.5, 1.0), "pair"),
        ("01", "pair"),
        (("low", 1.0), "pair"),
        ((1.0, 0.0), r"lower < upper; got \(1, 0\)"),
        ((0.3, 0.3), r"lower < upper; got \(0.3, 0.3\)"),
        ((float("-inf"), 1.0), "finite numbers"),
        ((0.15, 1.0), r"contain every observed yi \(range 0.1 to 0.5\)"),
    ],
)
def test_trimfill_refuses_bad_limits_naming_the_field(ilim: Any, message: str) -> None:
    with pytest.raises(EvidenceInputError, match=message) as err:
        trimfill(Y, V, ilim=ilim)
    assert err.value.field == "ilim"


def test_trimfill_limits_move_only_imputed_values() -> None:
    """Wide limits change nothing; tight ones clip the imputed values and nothing else."""
    y = np.array([0.9, 1.1, 0.5, 0.7, 0.35, 0.6, 0.45])
    v = np.array([0.2, 0.25, 0.02, 0.1, 0.01, 0.05, 0.03])
    free = trimfill(y, v, method="EE")
    assert free.k0 > 0 and free.side == "left"
    wide = trimfill(y, v, method="EE", ilim=(-10.0, 10.0))
    np.testing.assert_array_equal(wide.filled_yi, free.filled_yi)
    lower = float(y.min())
    assert free.filled_yi.min() < lower
    tight = trimfill(y, v, method="EE", ilim=(lower, 2.0))
    np.testing.assert_array_equal(tight.filled_yi, np.maximum(free.filled_yi, lower))
    assert tight.fit.estimate > free.fit.estimate
