"""Benchmark of the data manager's month (issue 11): the gate (`registry validate`: suites,
findings with query ids, values and sentences, stored) and `registry queries export` (xlsx
and csv, one file per site, warnings included) on the generated registry (20,000 patients;
2,000 quick). Medians of 3 runs; writes ``bench_out/bench_queries.json``.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench._common import patients, registry_file, write_result

ROUNDS = 3


def main(quick: bool = False) -> None:
    from registry import resources, store
    from registry.checks.gate import run_gate
    from registry.queries.sheets import export_queries

    n = patients(quick)
    db = registry_file(n)
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
        "patients": n, "findings": result.n_findings, "errors": result.n_errors, "warnings": result.n_warnings,
        "gate_s": statistics.median(gate), "queries_export_xlsx_s": statistics.median(sheets["xlsx"]),
        "queries_export_csv_s": statistics.median(sheets["csv"]), "sites": len(written),
    }
    print(f"data queries, {n} patients: gate {out['gate_s']:.2f} s ({out['findings']} findings: "
          f"{out['errors']} errors, {out['warnings']} warnings); queries export of every query "
          f"(warnings included, {out['sites']} sites): xlsx {out['queries_export_xlsx_s']:.2f} s, "
          f"csv {out['queries_export_csv_s']:.2f} s (medians of {ROUNDS})")
    write_result("bench_queries", out)


if __name__ == "__main__":
    main()
