"""Batched leave-one-out equals the one-model-at-a-time loop, and falls back where it must."""

from __future__ import annotations

from dataclasses import astuple

import numpy as np
import pytest

from strigil.evidence import meta_analyze
from strigil.evidence.loo import leave_one_out_arrays, subsets
from strigil.evidence.sensitivity import leave_one_out


def _loop(y: np.ndarray, v: np.ndarray, method: str, test: str) -> list[tuple[float, ...]]:
    rows = []
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        r = meta_analyze(y[keep], v[keep], method=method, test=test)
        rows.append((r.estimate, r.se, r.zval, r.pvalue, r.ci_low, r.ci_high, r.q,
                     r.q_pvalue, r.tau2, r.i2, r.h2))  # fmt: skip
    return rows


def test_subsets_drop_one_element_per_row() -> None:
    assert subsets(np.array([1.0, 2.0, 3.0])).tolist() == [[2.0, 3.0], [1.0, 3.0], [1.0, 2.0]]


@pytest.mark.parametrize("method", ["EE", "DL", "HE", "REML"])
@pytest.mark.parametrize("test", ["z", "knha"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batched_rows_equal_the_loop(method: str, test: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(4, 40))
    v = rng.uniform(0.01, 0.5, k)
    y = rng.normal(0.3, np.sqrt(v + rng.choice([0.0, 0.05, 0.5])))
    rows = leave_one_out(y, v, method=method, test=test)
    assert leave_one_out_arrays(y, v, method, test, 0.95, None) is not None
    for got, want in zip(rows, _loop(y, v, method, test), strict=True):
        assert astuple(got)[2:] == pytest.approx(want, rel=1e-10, abs=1e-13, nan_ok=True)


@pytest.mark.parametrize(("method", "k"), [("PM", 10), ("REML", 3), ("DL", 2)])
def test_other_cases_use_the_loop(method: str, k: int) -> None:
    y, v = np.linspace(0, 1, k), np.full(k, 0.1)
    assert leave_one_out_arrays(y, v, method, "z", 0.95, None) is None
    assert len(leave_one_out(y, v, method=method)) == k
