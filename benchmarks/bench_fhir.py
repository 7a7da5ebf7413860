"""FHIR bulk export and import: wall time and peak memory at 1,000 and 10,000 demo patients.

For each size a fresh database gets `strigil demo load --patients N`; then
`strigil export fhir --clinic "Northside Physical Therapy" --ndjson DIR` is timed (half the
patients are that clinic's) and the same folder is imported with `strigil import fhir` into an
empty clinic. Peak memory is the child's maximum RSS (GNU time, else rusage). Memory is flat
when the export's peak at 10,000 patients is within 1.5 times its peak at 1,000.

Targets (2-core machine): export <= 60 s and <= 300 MB at 10,000 patients, import <= 120 s.
Exits non-zero when a target is missed or a figure could not be measured.

    python benchmarks/bench_fhir.py [--sizes 1000,10000] [--database sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _server import fresh_database, pg_available, server_env

CLINIC = "Northside Physical Therapy"
TARGET = "Imported copy"
TIMEOUT_SECONDS = 3600
EXPORT_SECONDS, EXPORT_MB, IMPORT_SECONDS, FLAT_RATIO = 60.0, 300.0, 120.0, 1.5


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float
    output: str
    cpu_seconds: float | None = None  # user + system: what a shared machine's load does not change


def run(argv: list[str], env: dict[str, str]) -> Run:
    """One `strigil` command in a child process: wall seconds, peak RSS in MB, its output."""
    command = [sys.executable, "-m", "strigil", *argv]
    gnu_time = Path("/usr/bin/time")
    if gnu_time.exists():
        command = [str(gnu_time), "-f", "MAXRSS_KB=%M CPU_S=%U %S", *command]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603
        command, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"strigil {' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    peak_kb = next(
        (
            int(line.split("MAXRSS_KB=")[1].split()[0])
            for line in done.stderr.splitlines()
            if "MAXRSS_KB=" in line
        ),
        max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss),
    )
    cpu = next(
        (
            float(a) + float(b)
            for a, b in (
                ln.split("CPU_S=")[1].split()[:2]
                for ln in done.stderr.splitlines()
                if "CPU_S=" in ln
            )
        ),
        None,
    )
    return Run(wall, peak_kb / 1024, done.stdout, cpu)


def empty_clinic(url: str) -> None:
    """The clinic the export is imported into (created as the set-up commands do)."""
    from strigil.services import clinics
    from strigil.services.database import UnitOfWork, make_engine, make_sessionmaker

    engine = make_engine(url)
    try:
        with UnitOfWork(make_sessionmaker(engine), restricted=False) as session:
            clinics.create_clinic(session=session, name=TARGET)
    finally:
        engine.dispose()


def export(kind: str, patients: int, workdir: Path) -> tuple[Run, str, Path, dict[str, str]]:
    """A fresh demo of ``patients`` patients, exported; the run, the URL, folder and env."""
    url = fresh_database(kind, workdir)
    env = server_env(url, workdir)
    env["STRIGIL_DATABASE_URL"] = url  # the operator's commands run as the owner
    run(["demo", "load", "--patients", str(patients), "--json"], env)
    out = workdir / f"ndjson-{kind}-{patients}"
    return run(["export", "fhir", "--clinic", CLINIC, "--ndjson", str(out)], env), url, out, env


def import_(url: str, out: Path, env: dict[str, str]) -> Run:
    empty_clinic(url)
    return run(["import", "fhir", str(out), "--clinic", TARGET], env)


def _cpu(done: Run | None) -> str:
    return "-" if done is None or done.cpu_seconds is None else f"{done.cpu_seconds:.1f}"


def resources(output: str) -> int:
    """The resource total from a command's per-type counts."""
    total = 0
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            total += int(parts[1])
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--database", default="both", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--import-sizes", default=None, help="sizes to import (default: all)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    importing = [int(s) for s in args.import_sizes.split(",")] if args.import_sizes else sizes
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    if "postgresql" in kinds and not pg_available():
        print("PostgreSQL on 127.0.0.1:5432 not reachable: cannot measure it")
        return 1
    ok = True
    print(
        f"targets at {max(sizes)} patients: export <= {EXPORT_SECONDS:.0f} s and "
        f"<= {EXPORT_MB:.0f} MB, import <= {IMPORT_SECONDS:.0f} s; export memory flat"
    )
    print(
        f"{'database':<11} {'patients':>8} {'resources':>10} {'export s':>9} {'export MB':>10} "
        f"{'import s':>9} {'import MB':>10}"
    )
    for kind in kinds:
        peaks: dict[int, float] = {}
        for n in sizes:
            with tempfile.TemporaryDirectory(prefix="strigil-bench-fhir-") as tmp:
                exported, url, out, env = export(kind, n, Path(tmp))
                print(
                    f"{kind:<11} {n:>8} {resources(exported.output):>10} "
                    f"{exported.seconds:>9.1f} {exported.peak_mb:>10.0f}",
                    end="",
                    flush=True,
                )
                imported = import_(url, out, env) if n in importing else None
            peaks[n] = exported.peak_mb
            if imported is not None:
                print(f" {imported.seconds:>9.1f} {imported.peak_mb:>10.0f}", end="")
            else:
                print(f" {'not run':>9} {'':>10}", end="")
            print(f"  (CPU s: export {_cpu(exported)}, import {_cpu(imported)})")
            if n == max(sizes):
                ok &= exported.seconds <= EXPORT_SECONDS and exported.peak_mb <= EXPORT_MB
                ok &= imported is not None and imported.seconds <= IMPORT_SECONDS
        flat = max(peaks.values()) <= FLAT_RATIO * min(peaks.values())
        print(f"{kind}: export memory {'flat' if flat else 'NOT flat'} across {sizes}")
        ok &= flat
    print("verdict:", "ok" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
