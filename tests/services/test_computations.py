"""Slow computations: once per distinct input, in the background, never cached on failure."""

from __future__ import annotations

import threading

import pytest

from strigil.services import computations
from strigil.services.computations import ResultCache, digest


def test_the_same_input_is_computed_once() -> None:
    cache: ResultCache[int] = ResultCache("t1", wait=5)
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return 42

    assert cache.get(digest("a", (1, 2)), compute) == 42
    assert cache.get(digest("a", (1, 2)), compute) == 42
    assert cache.get(digest("a", (1, 3)), compute) == 42
    assert len(calls) == 2


def test_a_slow_computation_answers_pending_then_the_result() -> None:
    cache: ResultCache[str] = ResultCache("t2", wait=0.01)
    release = threading.Event()

    def slow() -> str:
        release.wait(5)
        return "fitted"

    assert cache.get("k", slow) is None  # pending: the caller is not kept waiting
    assert cache.get("k", slow) is None  # still one computation in flight
    release.set()
    cache._pending["k"].result(5)  # noqa: SLF001 - wait for the background thread
    assert cache.get("k", slow) == "fitted"


def test_a_failed_computation_is_not_cached() -> None:
    cache: ResultCache[int] = ResultCache("t3", wait=5)
    with pytest.raises(ZeroDivisionError):
        cache.get("k", lambda: 1 // 0)
    assert cache.get("k", lambda: 7) == 7


def test_digest_changes_with_the_data() -> None:
    assert digest("x", [1.0, 2.0]) != digest("x", [1.0, 2.5])
    assert digest("x", [1.0, 2.0]) == digest("x", [1.0, 2.0])
    assert computations.WAIT_SECONDS > 0
