"""How long `strigil demo load --patients 10000` takes, and its peak memory, per database.

Targets: at most 60 s and 500 MB. Each run starts from a freshly migrated database (a new
SQLite file; its own scratch database dropped and recreated on the loopback PostgreSQL).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _server import fresh_database, pg_available, server_env

PATIENTS = 10_000
TIMEOUT_SECONDS = 600
TARGET_SECONDS, TARGET_MB = 60.0, 500.0


def load(url: str, workdir: Path) -> tuple[float, float, dict[str, object]]:
    """Run the CLI once; wall seconds, peak RSS in MB (GNU time, else rusage), its summary."""
    argv = [sys.executable, "-m", "strigil", "demo", "load", "--patients", str(PATIENTS), "--json"]
    gnu_time = Path("/usr/bin/time")
    if gnu_time.exists():
        argv = [str(gnu_time), "-f", "MAXRSS_KB=%M", *argv]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603
        argv, env=server_env(url, workdir), capture_output=True, text=True,
        timeout=TIMEOUT_SECONDS, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"demo load failed:\n{done.stderr[-3000:]}")
    peak_kb = next(
        (int(line.split("=")[1]) for line in done.stderr.splitlines() if "MAXRSS_KB=" in line),
        max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss),
    )
    summary = json.loads(next(ln for ln in done.stdout.splitlines() if ln.startswith("{")))
    return wall, peak_kb / 1024, summary


def main() -> int:
    kinds = ["sqlite"] + (["postgresql"] if pg_available() else [])
    rows = []
    with tempfile.TemporaryDirectory(prefix="strigil-bench-") as tmp:
        for kind in kinds:
            url = fresh_database(kind, Path(tmp))
            wall, mb, summary = load(url, Path(tmp))
            rows.append((kind, wall, mb, summary))
    print(
        f"demo load --patients {PATIENTS} "
        f"(targets: <= {TARGET_SECONDS:.0f} s, <= {TARGET_MB:.0f} MB)"
    )
    print(f"{'database':<12} {'wall s':>8} {'CLI s':>8} {'peak MB':>9} {'rows':>10}  verdict")
    for kind, wall, mb, summary in rows:
        ok = wall <= TARGET_SECONDS and mb <= TARGET_MB
        print(
            f"{kind:<12} {wall:>8.1f} {float(summary['seconds']):>8.1f} {mb:>9.0f} "  # type: ignore[arg-type]
            f"{summary['rows']:>10}  {'ok' if ok else 'MISSED'}"
        )
    if "postgresql" not in kinds:
        print("PostgreSQL on 127.0.0.1:5432 not reachable: skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
