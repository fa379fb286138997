"""Benchmark of the data manager's month (issue 11) on the 20,000-patient registry: the gate
(`registry validate`: suites, findings, query ids, values and sentences, stored) and
`registry queries export` (xlsx and csv, one file per site, warnings included).

Builds ``bench_out/queries_<N>.duckdb`` from a generated export once (``sample_data.generate``,
seed 1, then ``registry ingest``); each step is timed as a median of 3 runs. Prints the times
and writes ``bench_out/bench_queries.json``.

Run:  .venv/bin/python bench/bench_queries.py     (BENCH_PATIENTS=2000 for a quick run)
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench_out"
PATIENTS = int(os.environ.get("BENCH_PATIENTS", "20000"))
ROUNDS = 3


def registry_file() -> Path:
    """The benchmark registry, generated and ingested on first use."""
    OUT.mkdir(exist_ok=True)
    db = OUT / f"queries_{PATIENTS}.duckdb"
    if db.exists():
        return db
    export = OUT / f"export_{PATIENTS}.csv"
    if not export.exists():
        cmd = ["-m", "sample_data.generate", "--patients", str(PATIENTS), "--seed", "1", "--out", str(export)]
        subprocess.run([sys.executable, *cmd], check=True, cwd=ROOT)
    from registry.ingest import ingest
    from registry.redcap.project import load_default_project

    ingest(export, load_default_project(), db)
    return db


def main() -> dict:
    from registry import resources, store
    from registry.checks.gate import run_gate
    from registry.queries.sheets import export_queries

    db = registry_file()
    checks = resources.default_checks_dir()
    gate, sheets = [], {"xlsx": [], "csv": []}
    for _ in range(ROUNDS):
        con = store.connect(db)
        try:
            start = time.perf_counter()
            result = run_gate(con, checks)
            gate.append(time.perf_counter() - start)
        finally:
            con.close()
        con = store.connect(db, read_only=True)
        try:
            for fmt in sheets:
                folder = Path(tempfile.mkdtemp(prefix="bench_queries_"))
                start = time.perf_counter()
                written = export_queries(con, folder, fmt, include_warnings=True)
                sheets[fmt].append(time.perf_counter() - start)
                shutil.rmtree(folder)
        finally:
            con.close()
    out = {
        "patients": PATIENTS,
        "findings": len(result.findings),
        "errors": result.n_errors,
        "warnings": result.n_warnings,
        "gate_s": statistics.median(gate),
        "queries_export_xlsx_s": statistics.median(sheets["xlsx"]),
        "queries_export_csv_s": statistics.median(sheets["csv"]),
        "sheets": len(written),
    }
    print(f"data queries, {PATIENTS} patients: gate {out['gate_s']:.2f} s ({out['findings']} findings: "
          f"{out['errors']} errors, {out['warnings']} warnings); queries export of every query "
          f"(warnings included, {out['sheets']} sites): xlsx {out['queries_export_xlsx_s']:.2f} s, "
          f"csv {out['queries_export_csv_s']:.2f} s (medians of {ROUNDS})")
    (OUT / "bench_queries.json").write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
