"""Benchmark of the data-quality gate against Great Expectations on pandas, in one process.

:func:`bench_gate` times, on the current batch of a registry:

1. the gate as ``registry validate`` runs it: every suite in ``checks/``, findings computed,
   compared with the previous batch and written (then rolled back, so the registry is left
   as it was), median of ``repeat`` runs;
2. the gate restricted to the expectations GX can run on pandas (everything but
   ``unexpected_rows_expectation``), for a like-for-like comparison;
3. Great Expectations 1.x running those same expectations on pandas frames of the tables
   (``COMPLETE`` results with the key columns, the straightforward path); the import
   of GX is done before and reported apart, the frames' load from DuckDB is included.

The three alternate, ``repeat`` rounds; the figures are medians.

It also checks that both report the same offending rows for every shared expectation.

Run: ``python -m bench.run gate`` (``--quick`` for 2,000 patients).

>>> result = bench_gate("registry.duckdb")  # doctest: +SKIP
>>> result["speedup_same_checks"] >= 5  # doctest: +SKIP
True
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from bench._common import ROOT, patients, registry_file, write_result


def bench_gate(db_path: str | Path, checks_dir: str | Path | None = None, repeat: int = 3) -> dict:
    """Time the gate and the GX-on-pandas run of the same suites on ``db_path``.

    Returns
    -------
    dict
        ``export_rows``, ``table_rows`` (rows of the batch's tables), ``records``, ``checks`` /
        ``checks_gx`` (all expectations / those GX runs on pandas), ``gate_seconds`` (all checks, median),
        ``gate_same_checks_seconds`` (the GX-capable ones, median), ``gx_pandas_seconds``
        (load + validate), ``gx_load_seconds``, ``gx_validate_seconds``,
        ``gx_import_seconds``, ``speedup`` (GX / gate, all checks on the gate's side) and
        ``speedup_same_checks``, ``findings``, ``errors``, ``warnings`` and
        ``same_offending_rows`` (bool).
    """
    from registry import store
    from registry.checks.gate import collect_hits, run_gate
    from registry.checks.gx_pandas import gx_runs_it, quiet_gx, run_gx_pandas
    from registry.checks.suites import load_suites

    checks_dir = Path(checks_dir) if checks_dir else ROOT / "checks"
    con = store.connect(db_path)
    try:
        batch = store.get_batch(con)
        start = time.perf_counter()
        quiet_gx()
        gx_import = time.perf_counter() - start
        suites = load_suites(checks_dir)
        full, same, gx_runs = [], [], []
        for _ in range(repeat):  # alternating: the machine's load changes over a run
            full.append(run_gate(con, checks_dir, store=False))
            same.append(run_gate(con, checks_dir, store=False, only=gx_runs_it))
            ours = collect_hits(con)
            gx_runs.append(run_gx_pandas(con, suites, batch.schema))
        rows = sum(batch.instrument_rows.values())
        export_rows = con.execute("select rows from registry.batches where batch_id = $b",
                                  {"b": batch.batch_id}).fetchone()[0]
    finally:
        con.close()
    gate_seconds = statistics.median(r.seconds for r in full)
    same_seconds = statistics.median(r.seconds for r in same)
    gx = gx_runs[-1]
    gx_seconds = statistics.median(g.load_seconds + g.validate_seconds for g in gx_runs)
    agree = all(
        (not ok) == bool(ours.get(key)) if key[1].startswith("TYPE:") else rows_ == ours.get(key, set())
        for key, (ok, rows_) in gx.results.items()
    )
    return {
        "export_rows": export_rows,
        "table_rows": rows,
        "records": batch.records,
        "checks": full[0].checks,
        "checks_gx": gx.expectations,
        "gate_seconds": round(gate_seconds, 3),
        "gate_same_checks_seconds": round(same_seconds, 3),
        "gx_pandas_seconds": round(gx_seconds, 3),
        "gx_load_seconds": round(statistics.median(g.load_seconds for g in gx_runs), 3),
        "gx_validate_seconds": round(statistics.median(g.validate_seconds for g in gx_runs), 3),
        "rounds": repeat,
        "gx_import_seconds": round(gx_import, 3),
        "speedup": round(gx_seconds / gate_seconds, 1),
        "speedup_same_checks": round(gx_seconds / same_seconds, 1),
        "findings": full[0].n_findings,
        "errors": full[0].n_errors,
        "warnings": full[0].n_warnings,
        "same_offending_rows": agree,
    }


def main(quick: bool = False) -> None:
    import json

    n = patients(quick)
    result = bench_gate(registry_file(n), repeat=1 if quick else 3)
    print(f"gate {n:,} patients: {result['gate_same_checks_seconds']} s vs GX on pandas "
          f"{result['gx_pandas_seconds']} s "
          f"on the same {result['checks_gx']} checks -> {result['speedup_same_checks']}x (goal >= 20x; all "
          f"{result['checks']} checks {result['gate_seconds']} s, {result['speedup']}x; median of "
          f"{result['rounds']} alternating runs in one process, shared 2-core machine; same offending rows: "
          f"{result['same_offending_rows']})")
    print(f"gate: {json.dumps(result)}")
    print(f"wrote {write_result('bench_gate', result)}")


if __name__ == "__main__":
    main()
