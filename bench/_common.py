"""What the benchmarks share: the output folder, the generated export and its registry.

A full run uses 20,000 patients (``BENCH_PATIENTS`` overrides it), ``--quick`` 2,000. The
export and the registry built from it are generated once into ``bench_out/`` and reused.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench_out"
BIN = Path(sys.executable).parent
QUICK_PATIENTS = 2000


def patients(quick: bool) -> int:
    """Patients of the generated export: ``BENCH_PATIENTS`` if set, else 2,000 quick / 20,000 full."""
    return int(os.environ.get("BENCH_PATIENTS", QUICK_PATIENTS if quick else 20000))


def export_file(n: int) -> Path:
    """The seeded synthetic export of ``n`` patients, generated on first use."""
    OUT.mkdir(exist_ok=True)
    export = OUT / f"export_{n}.csv"
    if not export.exists():
        cmd = ["-m", "sample_data.generate", "--patients", str(n), "--seed", "1", "--out", str(export)]
        subprocess.run([sys.executable, *cmd], check=True, cwd=ROOT)
    return export


def registry_file(n: int) -> Path:
    """A registry with that export ingested (one batch), built on first use."""
    db = OUT / f"registry_{n}.duckdb"
    if not db.exists():
        cmd = [str(BIN / "registry"), "ingest", str(export_file(n)), "--db", str(db)]
        subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)
    return db


def remove_database(db: Path) -> None:
    """Delete the DuckDB file ``db`` and its write-ahead log, where they are."""
    db.unlink(missing_ok=True)
    Path(f"{db}.wal").unlink(missing_ok=True)


def write_result(name: str, result: dict) -> Path:
    """Write ``bench_out/<name>.json`` and return its path."""
    import json

    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


# Runs the command and writes its peak RSS (KB) and CPU seconds (user + system) to the file named
# first. The benchmark process itself may hold gigabytes (GX, a 20k analysis in process): a child
# forked from it starts with that RSS on Linux, so its ru_maxrss would be the parent's. Forked from
# this small launcher, the peak is the command's own.
_LAUNCHER = (
    "import os, subprocess, sys\n"
    "proc = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(proc.pid, 0)\n"
    "open(sys.argv[1], 'w').write(f'{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}')\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


class Measured(NamedTuple):
    """One command's run: wall seconds, peak RSS in MB, its stdout, and the CPU seconds (user + system,
    all threads) of the whole process."""

    wall: float
    peak_mb: float
    stdout: str
    cpu: float


def run_measured(cmd: list[str]) -> Measured:
    """Run ``cmd`` in a fresh process and measure it (:class:`Measured`).

    Raises SystemExit with the command's stderr if it fails.
    """
    import tempfile
    import time

    with tempfile.TemporaryDirectory() as tmp:
        rss, out, err = Path(tmp) / "rss", Path(tmp) / "out", Path(tmp) / "err"
        with out.open("w") as fout, err.open("w") as ferr:
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", _LAUNCHER, str(rss), *map(str, cmd)],
                                  stdout=fout, stderr=ferr, cwd=ROOT)
            wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"bench: {' '.join(map(str, cmd))} failed:\n{err.read_text()}")
        peak_kb, cpu = rss.read_text().split()
        return Measured(wall, int(peak_kb) / 1024, out.read_text(), float(cpu))
