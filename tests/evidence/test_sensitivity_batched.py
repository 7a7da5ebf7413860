"""The batched sensitivity analyses equal one ordinary fit per subset / permutation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strigil.evidence import gosh, influence, meta_analyze, permutest, trimfill
from strigil.evidence.gosh import all_subsets, subset_sums


def _data(seed: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.01, 0.3, k)
    return rng.normal(0.3, np.sqrt(v + 0.1)), v


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(2, 7), method=st.sampled_from(["FE", "DL"]))
def test_gosh_rows_equal_separate_fits(seed: int, k: int, method: str) -> None:
    y, v = _data(seed, k)
    res = gosh(y, v, method=method)
    assert len(res) == 2**k - 1
    for row, members in enumerate(res.membership):
        if members.sum() == 1:
            i = int(np.flatnonzero(members)[0])
            assert (res.estimate[row], res.q[row], res.i2[row], res.h2[row]) == (
                pytest.approx(y[i]),
                0.0,
                0.0,
                1.0,
            )
            continue
        fit = meta_analyze(y[members], v[members], method=method)
        # metafor's gosh() reports H² = Q/df for DL too (rma gives τ²/ṽ + 1, 1 when τ² = 0)
        np.testing.assert_allclose(
            [res.estimate[row], res.tau2[row], res.q[row], res.i2[row], res.h2[row]],
            [fit.estimate, fit.tau2, fit.q, fit.i2, fit.q / (members.sum() - 1)],
            rtol=1e-9,
            atol=1e-11,
        )


def test_subset_sums_by_doubling_equal_membership_products() -> None:
    cols = np.random.default_rng(1).normal(size=(9, 3))
    np.testing.assert_allclose(subset_sums(cols), all_subsets(9) @ cols, rtol=1e-12, atol=1e-12)


def test_gosh_sampled_rows_equal_separate_fits() -> None:
    y, v = _data(4, 24)
    res = gosh(y, v, method="DL", subsets=200, seed=3)
    for row in range(0, 200, 17):
        members = res.membership[row]
        if members.sum() < 2:
            continue
        fit = meta_analyze(y[members], v[members], method="DL")
        np.testing.assert_allclose(res.estimate[row], fit.estimate, rtol=1e-9)
        np.testing.assert_allclose(res.i2[row], fit.i2, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("method", ["EE", "DL", "HE", "REML", "PM"])
@pytest.mark.parametrize("test", ["z", "knha"])
def test_exact_permutest_equals_loop_over_sign_flips(method: str, test: str) -> None:
    y, v = _data(7, 6)
    res = permutest(y, v, method=method, test=test, iter=1000)
    assert res.exact and res.iter == 64
    z = []
    for code in range(64):
        signs = np.where((code >> np.arange(6)) & 1, -1.0, 1.0)
        z.append(meta_analyze(signs * y, v, method=method, test=test).zval)
    np.testing.assert_allclose(res.zval_perm, z, rtol=1e-8)
    expected = np.mean(np.abs(z) >= abs(res.zval) - np.sqrt(np.finfo(float).eps))
    assert res.pvalue == pytest.approx(expected)


def test_random_permutest_is_reproducible_and_starts_with_the_data() -> None:
    y, v = _data(8, 16)
    a = permutest(y, v, iter=500, seed=11)
    b = permutest(y, v, iter=500, seed=11)
    assert not a.exact
    np.testing.assert_array_equal(a.zval_perm, b.zval_perm)
    assert a.zval_perm[0] == pytest.approx(a.zval)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(3, 25))
def test_trimfill_mirrors_under_a_sign_flip(seed: int, k: int) -> None:
    """Negating every effect swaps the side and negates the filled studies and the estimate."""
    y, v = _data(seed, k)
    a, b = trimfill(y, v, method="DL"), trimfill(-y, v, method="DL")
    assert a.k0 == b.k0
    assert {a.side, b.side} == {"left", "right"}
    np.testing.assert_allclose(np.sort(a.filled_yi), np.sort(-b.filled_yi), atol=1e-12)
    np.testing.assert_allclose(a.fit.estimate, -b.fit.estimate, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(3, 30))
def test_influence_hat_values_sum_to_one_and_deletions_equal_refits(seed: int, k: int) -> None:
    y, v = _data(seed, k)
    res = influence(y, v, method="DL")
    assert res.hat.sum() == pytest.approx(1.0)
    for i in (0, k - 1):
        keep = np.arange(k) != i
        fit = meta_analyze(y[keep], v[keep], method="DL")
        assert res.tau2_del[i] == pytest.approx(fit.tau2, abs=1e-12)
        assert res.q_del[i] == pytest.approx(fit.q, rel=1e-9)
