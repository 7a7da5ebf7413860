"""Slow computations run once per distinct input, off the request path.

Why: fitting the clinic-comparison mixed model takes seconds, and a request that did it
inline would hold its database transaction (on SQLite, the write lock) and a request slot all
that time. A request reads its (fast) input, then asks here: the answer for an input seen
before comes from the cache; a new input is computed on a background thread, and the request
waits only a moment before telling the caller that the result is being prepared. The key is
a digest of the input itself, so a result is recomputed exactly when the data changed.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Generic, TypeVar

log = logging.getLogger("strigil.services")

T = TypeVar("T")

WAIT_SECONDS = 0.5
"""How long a request waits for a new computation before answering "pending"."""


def digest(*parts: object) -> str:
    """A stable key for a computation's input (plain data: numbers, strings, tuples)."""
    return hashlib.sha256(pickle.dumps(parts, protocol=5)).hexdigest()


class ResultCache(Generic[T]):
    """At most ``size`` results, computed by one background thread, waited for ``wait`` s."""

    def __init__(self, name: str, *, size: int = 64, wait: float | None = None) -> None:
        self.size, self._wait = size, wait
        self._results: OrderedDict[str, T] = OrderedDict()
        self._pending: dict[str, Future[T]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def get(self, key: str, compute: Callable[[], T]) -> T | None:
        """The result for ``key``; None while it is still being computed."""
        with self._lock:
            if key in self._results:
                self._results.move_to_end(key)
                return self._results[key]
            future = self._pending.get(key)
            if future is None:
                future = self._pending[key] = self._pool.submit(self._run, key, compute)
        try:
            return future.result(timeout=self.wait)
        except FutureTimeout:
            return None

    def peek(self, key: str) -> T | None:
        """The result for ``key`` if it is already computed; never starts a computation (so a
        caller can skip loading the input when the answer is known)."""
        with self._lock:
            return self._results.get(key)

    @property
    def wait(self) -> float:
        return WAIT_SECONDS if self._wait is None else self._wait

    def _run(self, key: str, compute: Callable[[], T]) -> T:
        try:
            result = compute()
        except BaseException:
            with self._lock:
                self._pending.pop(key, None)
            raise
        with self._lock:
            self._results[key] = result
            self._pending.pop(key, None)
            while len(self._results) > self.size:
                self._results.popitem(last=False)
        return result

    def remember(self, key: str, result: T) -> None:
        """Keep ``result`` under another key too (e.g. the data revision it was read at), so
        the next request can skip reading the input that the content key is made from."""
        with self._lock:
            self._results[key] = result
            while len(self._results) > self.size:
                self._results.popitem(last=False)

    def clear(self) -> None:
        """Forget every result (tests)."""
        with self._lock:
            self._results.clear()


def cache_of(name: str, **kwargs: Any) -> ResultCache[Any]:
    """A named cache shared by the process."""
    with _registry_lock:
        if name not in _registry:
            _registry[name] = ResultCache(name, **kwargs)
        return _registry[name]


_registry: dict[str, ResultCache[Any]] = {}
_registry_lock = threading.Lock()
