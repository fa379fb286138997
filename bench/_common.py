"""What the benchmarks share: the output folder, the generated export and its registry.

A full run uses 20,000 patients (``BENCH_PATIENTS`` overrides it), ``--quick`` 2,000. The
export and the registry built from it are generated once into ``bench_out/`` and reused.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def write_result(name: str, result: dict) -> Path:
    """Write ``bench_out/<name>.json`` and return its path."""
    import json

    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path
