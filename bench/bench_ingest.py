"""CLI start-up and ingest speed.

1. ``registry --help`` wall time, median of 5 (goal < 0.4 s).
2. Ingest of a generated 20,000-patient export against DuckDB's own ``read_csv`` of the same
   file into one table (into a DuckDB file, as the ingest writes, and in memory), each in a
   fresh process; peak memory of the ingest (goal: at most 1.0x, under 1 GB).
3. Ingest of the same project's CDISC ODM XML export (written from the CSV by
   :mod:`bench._odm_writer`, metadata and data as REDCap lays them out) against the CSV ingest,
   alternating, each in a fresh process (goal: at most 3x the CSV).

Results are printed and written to ``bench_out/bench_ingest.json``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench._common import BIN, OUT, export_file, patients, run_measured, write_result

READ_CSV = """
import duckdb, sys, time
t = time.perf_counter()
con = duckdb.connect(sys.argv[2])
con.execute("set enable_progress_bar = false")
con.execute("create or replace table export as select * from read_csv(?)", [sys.argv[1]])
con.close()
print(time.perf_counter() - t)
"""


def bench_help() -> dict:
    times = []
    for _ in range(6):
        t = time.perf_counter()
        subprocess.run([str(BIN / "registry"), "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    return {"help_median_s": round(statistics.median(times[1:]), 3), "help_runs_s": [round(x, 3) for x in times[1:]]}


def ingest_seconds(stdout: str) -> float:
    """The ingest's own seconds, from its last line ("… in 2.81 s"): opening the registry to closing it."""
    return float(stdout.split(" in ")[1].split(" s")[0])


def bench_ingest(export: Path, rounds: int = 3) -> tuple[dict, Path]:
    """Ingest and DuckDB's read_csv of the same file, interleaved, ``rounds`` times each; medians."""
    db = OUT / "bench.duckdb"
    read_file, read_mem, ingest, walls, rss, read_cpu, ingest_cpu = [], [], [], [], [], [], []
    for _ in range(rounds):
        for p in (db, OUT / "bench.duckdb.wal", OUT / "read_csv.duckdb", OUT / "read_csv.duckdb.wal"):
            p.unlink(missing_ok=True)
        read = run_measured([sys.executable, "-c", READ_CSV, str(export), str(OUT / "read_csv.duckdb")])
        read_file.append(float(read.stdout))
        read_cpu.append(read.cpu)
        read_mem.append(float(run_measured([sys.executable, "-c", READ_CSV, str(export), ":memory:"]).stdout))
        run = run_measured([str(BIN / "registry"), "ingest", str(export), "--db", str(db)])
        ingest.append(ingest_seconds(run.stdout))
        walls.append(run.wall)
        rss.append(run.peak_mb)
        ingest_cpu.append(run.cpu)
    med = statistics.median
    return {
        "export_rows": sum(1 for _ in export.open()) - 1,
        "export_mb": round(export.stat().st_size / 1e6, 1),
        "rounds": rounds,
        "read_csv_into_file_s": round(med(read_file), 2),
        "read_csv_in_memory_s": round(med(read_mem), 2),
        "ingest_s": round(med(ingest), 2),
        "ingest_runs_s": [round(x, 2) for x in ingest],
        "ingest_process_wall_s": round(med(walls), 2),
        "ingest_peak_rss_mb": round(max(rss)),
        "ratio_vs_read_csv_into_file": round(med(ingest) / med(read_file), 2),
        "ratio_vs_read_csv_in_memory": round(med(ingest) / med(read_mem), 2),
        "read_csv_into_file_cpu_s": round(med(read_cpu), 2),
        "ingest_cpu_s": round(med(ingest_cpu), 2),
        "cpu_ratio_vs_read_csv_into_file": round(med(ingest_cpu) / med(read_cpu), 2),
    }, db


def odm_file(export: Path) -> Path:
    """The ODM export of the same project and records, written on first use."""
    from bench._odm_writer import write_odm
    from registry.redcap.project import load_default_project

    odm = export.with_suffix(".xml")
    if not odm.exists():
        write_odm(load_default_project(), export, odm.with_suffix(".part"))
        odm.with_suffix(".part").rename(odm)
    return odm


def bench_odm(export: Path, rounds: int = 3) -> dict:
    """CSV ingest and ODM ingest of the same records, alternating, ``rounds`` times each; medians.

    The ODM carries its own project (no --dictionary); the study-day anchor of the registry's
    project is given, so that both ingests do the same work.
    """
    from registry.redcap.project import load_default_project

    odm = odm_file(export)
    anchor = load_default_project().study_day_anchor
    csv_s, odm_s, rss = [], [], []
    for _ in range(rounds):
        for name, args, times in (("csv", [str(export)], csv_s),
                                  ("odm", [str(odm), "--study-day-anchor", anchor], odm_s)):
            db = OUT / f"bench_{name}.duckdb"
            for p in (db, Path(f"{db}.wal")):
                p.unlink(missing_ok=True)
            run = run_measured([str(BIN / "registry"), "ingest", *args, "--db", str(db)])
            times.append(ingest_seconds(run.stdout))
            if name == "odm":
                rss.append(run.peak_mb)
    med = statistics.median
    return {
        "odm_mb": round(odm.stat().st_size / 1e6, 1),
        "csv_mb": round(export.stat().st_size / 1e6, 1),
        "rounds": rounds,
        "csv_ingest_s": round(med(csv_s), 2),
        "odm_ingest_s": round(med(odm_s), 2),
        "csv_runs_s": [round(x, 2) for x in csv_s],
        "odm_runs_s": [round(x, 2) for x in odm_s],
        "odm_peak_rss_mb": round(max(rss)),
        "ratio_odm_vs_csv": round(med(odm_s) / med(csv_s), 2),
    }


def main(quick: bool = False) -> None:
    n = patients(quick)
    export = export_file(n)
    results: dict = {"patients": n}
    results["cli"] = bench_help()
    print(f"registry --help: median {results['cli']['help_median_s']} s (goal < 0.4 s)")
    results["ingest"], _ = bench_ingest(export, rounds=1 if quick else 3)
    r = results["ingest"]
    print(f"ingest {r['export_rows']} rows ({r['export_mb']} MB): {r['ingest_s']} s; DuckDB read_csv into a file "
          f"{r['read_csv_into_file_s']} s ({r['ratio_vs_read_csv_into_file']}x), in memory "
          f"{r['read_csv_in_memory_s']} s ({r['ratio_vs_read_csv_in_memory']}x); peak RSS {r['ingest_peak_rss_mb']} MB")
    print(f"  CPU seconds (whole processes, all threads): ingest {r['ingest_cpu_s']} vs read_csv into a file "
          f"{r['read_csv_into_file_cpu_s']} ({r['cpu_ratio_vs_read_csv_into_file']}x)")
    results["odm"] = bench_odm(export, rounds=1 if quick else 3)
    o = results["odm"]
    print(f"ODM ingest ({o['odm_mb']} MB): {o['odm_ingest_s']} s against the CSV export ({o['csv_mb']} MB) "
          f"{o['csv_ingest_s']} s: {o['ratio_odm_vs_csv']}x (goal <= 3x); ODM peak RSS {o['odm_peak_rss_mb']} MB")
    print(f"wrote {write_result('bench_ingest', results)}")


if __name__ == "__main__":
    main()
