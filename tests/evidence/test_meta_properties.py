"""Input validation, hand-checked values and hypothesis properties of the meta-analysis engine."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strigil.errors import InvalidInput
from strigil.evidence import (
    Control,
    EvidenceInputError,
    cumulative,
    egger_test,
    meta_analyze,
    subgroups,
)
from strigil.evidence.batch import reml_many
from strigil.evidence.heterogeneity import brent_root

Y = [0.1, 0.3, 0.35, -0.2, 0.5]
V = [0.02, 0.05, 0.01, 0.08, 0.04]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"yi": [0.1, 0.2], "vi": [0.1]}, "lengths differ"),
        ({"yi": [0.1], "vi": [0.1]}, "at least 2 studies"),
        ({"yi": [0.1, 0.2], "vi": [0.1, 0.0]}, "must be positive"),
        ({"yi": [0.1, 0.2], "vi": [0.1, -1.0]}, "must be positive"),
        ({"yi": [0.1, 0.2], "vi": [0.1, np.inf]}, "non-finite"),
        ({"yi": [0.1, np.nan], "vi": [0.1, 0.2]}, "NaN"),
        ({"yi": [0.1, 0.2], "vi": [0.1, 0.2], "method": "XX"}, "unknown method"),
        ({"yi": [0.1, 0.2], "vi": [0.1, 0.2], "test": "t"}, "unknown test"),
        ({"yi": [0.1, 0.2], "vi": [0.1, 0.2], "level": 1.5}, "level"),
    ],
)
def test_bad_input_raises_value_error_naming_the_problem(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        meta_analyze(**kwargs)
    assert isinstance(info.value, InvalidInput)


def test_common_effect_allows_a_single_study() -> None:
    res = meta_analyze([0.4], [0.04], method="EE")
    assert res.estimate == pytest.approx(0.4)
    assert res.se == pytest.approx(0.2)


def test_fe_alias_and_hand_computed_common_effect() -> None:
    w = 1 / np.array(V)
    mu = float(np.sum(w * np.array(Y)) / w.sum())
    q = float(np.sum(w * (np.array(Y) - mu) ** 2))
    res = meta_analyze(Y, V, method="FE")
    assert res.method == "EE"
    assert res.estimate == pytest.approx(mu, rel=1e-12)
    assert res.se == pytest.approx(1 / np.sqrt(w.sum()), rel=1e-12)
    assert res.q == pytest.approx(q, rel=1e-12)
    assert (res.pi_low, res.pi_high) == (res.ci_low, res.ci_high)
    assert res.weights.sum() == pytest.approx(100.0)


def test_dersimonian_laird_by_hand() -> None:
    y, v = np.array(Y), np.array(V)
    w = 1 / v
    mu = np.sum(w * y) / w.sum()
    q = np.sum(w * (y - mu) ** 2)
    tau2 = max(0.0, (q - 4) / (w.sum() - np.sum(w**2) / w.sum()))
    assert meta_analyze(Y, V, method="DL").tau2 == pytest.approx(tau2, rel=1e-12)


def test_result_is_immutable() -> None:
    res = meta_analyze(Y, V)
    with pytest.raises(AttributeError):
        res.estimate = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        res.weights[0] = 1.0


def test_knha_uses_t_with_k_minus_1_df_and_is_not_truncated() -> None:
    y = [0.30, 0.31, 0.29, 0.30, 0.305]
    v = [0.04, 0.05, 0.03, 0.06, 0.045]
    z = meta_analyze(y, v, method="DL")
    kh = meta_analyze(y, v, method="DL", test="knha")
    assert kh.df == 4 and z.df is None
    # homogeneous data: s^2 < 1, so (untruncated) Knapp-Hartung SE is *smaller* than Wald's
    assert kh.se < z.se


def test_tight_control_moves_reml_closer_to_the_exact_root() -> None:
    rng = np.random.default_rng(3)
    v = rng.uniform(0.01, 0.2, 15)
    y = rng.normal(0.2, np.sqrt(v + 0.1))
    tight = meta_analyze(y, v, control=Control.tight())
    from strigil.evidence.heterogeneity import Design, _scoring_step

    step = _scoring_step(Design(y, v, np.ones((15, 1))), tight.tau2, reml=True)
    assert abs(step) < 1e-9


def test_brent_root_finds_a_known_root() -> None:
    root = brent_root(lambda x: x**3 - 2, 0.0, 2.0, -2.0, 6.0, 1e-14, 100)
    assert root == pytest.approx(2 ** (1 / 3), rel=1e-12)


def test_egger_needs_three_studies() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        egger_test([0.1, 0.2], [0.1, 0.2])


def test_subgroups_ee_equals_q_total_minus_q_within() -> None:
    groups = ["a", "a", "b", "b", "b"]
    res = subgroups(Y, V, groups, method="EE")
    total = meta_analyze(Y, V, method="EE").q
    within = sum(g.q for g in res.groups.values())
    assert res.q_between == pytest.approx(total - within, rel=1e-10)
    with pytest.raises(ValueError, match="lengths differ"):
        subgroups(Y, V, ["a"])


def test_cumulative_last_row_is_the_full_analysis() -> None:
    rows = cumulative(Y, V, labels=list("abcde"))
    full = meta_analyze(Y, V)
    assert rows[-1].estimate == pytest.approx(full.estimate, rel=1e-12)
    assert rows[0].tau2 == 0 and rows[0].k == 1


def test_batch_reml_equals_single_fits() -> None:
    rng = np.random.default_rng(5)
    v = rng.uniform(0.01, 0.1, (50, 12))
    y = rng.normal(0.3, np.sqrt(v + 0.2))
    batch = reml_many(y, v)
    for i in range(50):
        single = meta_analyze(y[i], v[i])
        assert batch.tau2[i] == pytest.approx(single.tau2, rel=1e-10, abs=1e-14)
        assert batch.estimate[i] == pytest.approx(single.estimate, rel=1e-10)
        assert batch.se[i] == pytest.approx(single.se, rel=1e-10)


def test_batch_rejects_bad_shapes() -> None:
    with pytest.raises(EvidenceInputError, match="2-D"):
        reml_many([0.1, 0.2], [0.1, 0.2])


studies_strategy = st.integers(min_value=2, max_value=15).flatmap(
    lambda k: st.tuples(
        st.lists(st.floats(-3, 3, allow_nan=False), min_size=k, max_size=k),
        st.lists(st.floats(1e-3, 2.0, allow_nan=False), min_size=k, max_size=k),
    )
)
ROBUST_METHODS = ["EE", "DL", "HE", "SJ", "PM"]


@settings(max_examples=60, deadline=None)
@given(
    data=studies_strategy,
    method=st.sampled_from(ROBUST_METHODS),
    test=st.sampled_from(["z", "knha"]),
)
def test_properties_of_every_fit(
    data: tuple[list[float], list[float]], method: str, test: str
) -> None:
    yi, vi = data
    res = meta_analyze(yi, vi, method=method, test=test)
    assert res.tau2 >= 0
    assert 0 <= res.i2 <= 100 or (method == "EE" and res.q == 0)
    assert res.ci_low <= res.estimate <= res.ci_high
    assert res.pi_low <= res.ci_low + 1e-12 and res.pi_high >= res.ci_high - 1e-12


@settings(max_examples=40, deadline=None)
@given(data=studies_strategy, method=st.sampled_from(ROBUST_METHODS), seed=st.integers(0, 10**6))
def test_permutation_invariance(
    data: tuple[list[float], list[float]], method: str, seed: int
) -> None:
    yi, vi = np.array(data[0]), np.array(data[1])
    perm = np.random.default_rng(seed).permutation(len(yi))
    a = meta_analyze(yi, vi, method=method)
    b = meta_analyze(yi[perm], vi[perm], method=method)
    assert b.estimate == pytest.approx(a.estimate, rel=1e-7, abs=1e-9)
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-6, abs=1e-9)
    np.testing.assert_allclose(b.weights, a.weights[perm], rtol=1e-6, atol=1e-9)
