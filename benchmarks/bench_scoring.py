"""Scoring throughput per outcome measure (scores/second, median of repeats).

Run: .venv/bin/python benchmarks/bench_scoring.py [--calls 2000] [--repeats 7]

Each measure is scored with a fixed, valid answer set (one missing item where the measure's
rule allows it, so the missing-item path is timed too). All measures run in the same process
and command, one after another.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

from strigil.core.response import classify
from strigil.core.scoring import score

CASES: dict[str, tuple[list[float | None], dict[str, Any]]] = {
    "NPRS": ([6], {}),
    "VAS": ([4.5], {"unit": "cm"}),
    "ODI": ([2, 2, 2, 2, 2, 2, 2, 1, 1, None], {}),
    "NDI": ([1, 2, 3, 1, 2, 3, 1, 2, 3, None], {}),
    "LEFS": ([4] * 10 + [3] * 10, {}),
    "QUICKDASH": ([2, 3, 2, 3, 2, 3, 2, 3, 2, 3, None], {}),
    "PRTEE": ([5, 6, None, 3, 9] + [4] * 10, {}),
    "FFI": ([5.0] * 9 + [2.0] * 9 + [0, 0, 1, None, None], {}),
    "FAAM_ADL": ([4] * 19 + [3, None], {}),
    "FAAM_SPORTS": ([3, 3, 3, 3, 2, 2, None, None], {}),
    "VISA_A": ([7, 6, 8, 5, 6, 4, 7, 14], {"item8_branch": "A"}),
    "VISA_P": ([10, 9, 8, 7, 6, 5, 10, 30], {}),
    "PSFS": ([3, 5, 4, None, 8], {}),
    "ROM": ([120], {"joint": "knee", "motion": "flexion", "side": "left"}),
    "PPT": ([3], {"unit": "kg/cm2"}),
    "SIT_REACH": ([25], {}),
    "GROC": ([3], {}),
}


def _rate(fn: Any, calls: int, repeats: int) -> float:
    """Median calls/second over ``repeats`` timed batches of ``calls`` (after one warm-up)."""
    fn()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        rates.append(calls / (time.perf_counter() - start))
    return statistics.median(rates)


TARGET_PER_SECOND = 5_000
"""Every measure scores at least this many times a second on one core (a whole clinic's
questionnaires re-scored in well under a second); far below today's, so a miss means a
regression, not noise."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(f"scoring throughput, {args.calls} calls x {args.repeats} repeats (median)")
    print(f"{'measure':<12} {'items':>5} {'scores/s':>12} {'us/score':>9}")
    slow: list[str] = []
    for code, (answers, options) in CASES.items():
        rate = _rate(lambda a=answers, o=options, c=code: score(c, a, **o), args.calls,
                     args.repeats)  # fmt: skip
        print(f"{code:<12} {len(answers):>5} {rate:>12,.0f} {1e6 / rate:>9.1f}")
        slow += [code] if rate < TARGET_PER_SECOND else []
    rate = _rate(lambda: classify("ODI", 40, 28), args.calls, args.repeats)
    print(f"{'classify ODI':<12} {'':>5} {rate:>12,.0f} {1e6 / rate:>9.1f}")
    slow += ["classify ODI"] if rate < TARGET_PER_SECOND else []
    print(f"target: >= {TARGET_PER_SECOND:,} scores/s each; missed: {', '.join(slow) or 'none'}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
