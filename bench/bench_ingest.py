"""CLI start-up and ingest speed.

1. ``registry --help`` wall time, median of 5 (goal < 0.4 s).
2. Ingest of a generated 20,000-patient export against DuckDB's own ``read_csv`` of the same
   file into one table of a DuckDB file, as the ingest writes: at DuckDB's defaults, and held
   to the memory limit the registry runs under (rows in order, and not); in memory for scale.
   Each in a fresh process, in alternating order; each side's own seconds, CPU seconds and peak
   memory (goal: at most 1.0x DuckDB's defaults, ingest under 1 GB). ``bench_scale.py`` holds
   the same ratios at 200,000 patients against these.
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

from bench._common import BIN, OUT, export_file, patients, remove_database, run_measured, write_result
from registry.store import MEMORY_LIMIT

READ_CSV = """
import duckdb, sys, time
t = time.perf_counter()
con = duckdb.connect(sys.argv[2])
con.execute("set enable_progress_bar = false")
for setting in sys.argv[3:]:
    name, value = setting.split("=", 1)
    con.execute(f"set {name} = '{value}'")
con.execute("create or replace table export as select * from read_csv(?)", [sys.argv[1]])
con.close()
print(time.perf_counter() - t)
"""

# DuckDB's read_csv of the export into a DuckDB file, as three references: label, settings (after the paths).
# - "defaults": DuckDB's own settings. Its memory limit is 80% of the machine's RAM: at 200,000 patients
#   it peaks at 2.0-2.7 GB, at or over the 2 GB the registry's steps are held to.
# - "budget": held to the registry's own memory limit (store.MEMORY_LIMIT, the one ingest runs under),
#   rows kept in the file's order as ingest keeps them. Under that limit DuckDB inserts a wide table on
#   one thread (see registry/redcap/ordered_read.py).
# - "budget_unordered": the same limit, row order not kept: the fastest read_csv under the budget.
READ_CSV_REFERENCES = {
    "defaults": ("DuckDB's defaults", []),
    "budget": (f"under the registry's {MEMORY_LIMIT} limit, rows in order", [f"memory_limit={MEMORY_LIMIT}"]),
    "budget_unordered": (f"under the {MEMORY_LIMIT} limit, order not kept",
                         [f"memory_limit={MEMORY_LIMIT}", "preserve_insertion_order=false"]),
}


def read_csv_cmd(export: Path, db: Path | str, reference: str) -> list[str]:
    """The command that reads ``export`` into ``db`` with one of :data:`READ_CSV_REFERENCES`; prints its seconds."""
    return [sys.executable, "-c", READ_CSV, str(export), str(db), *READ_CSV_REFERENCES[reference][1]]


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


def bench_ingest(export: Path, rounds: int = 3, folder: Path = OUT) -> tuple[dict, Path]:
    """Ingest and each read_csv reference of the same file, ``rounds`` times each in alternating order; medians.

    Each side's own seconds (from opening its database to closing it), its process's CPU seconds and
    peak RSS; read_csv in memory (DuckDB's defaults) for scale. The databases are written in ``folder``;
    the registry of the last ingest is returned with the figures.
    """
    db = folder / "bench.duckdb"
    read_db = folder / "read_csv.duckdb"
    seconds: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    rss: dict[str, list[float]] = {}
    walls: dict[str, list[float]] = {}  # each process's wall time, imports included, as its CPU seconds are
    # (name, command, the database it writes): only that one is removed before the leg runs, so the
    # registry of the last ingest survives read_csv legs run after it (the reversed rounds)
    legs = [(f"read_csv_{ref}", read_csv_cmd(export, read_db, ref), read_db) for ref in READ_CSV_REFERENCES]
    legs += [("read_csv_in_memory", read_csv_cmd(export, ":memory:", "defaults"), None),
             ("ingest", [str(BIN / "registry"), "ingest", str(export), "--db", str(db)], db)]
    for i in range(rounds):
        for name, cmd, written in legs if i % 2 == 0 else reversed(legs):
            if written is not None:
                remove_database(written)
            run = run_measured(cmd)
            seconds.setdefault(name, []).append(ingest_seconds(run.stdout) if name == "ingest" else float(run.stdout))
            cpu.setdefault(name, []).append(run.cpu)
            rss.setdefault(name, []).append(run.peak_mb)
            walls.setdefault(name, []).append(run.wall)
    med = statistics.median
    out = {
        "export_rows": sum(1 for _ in export.open()) - 1,
        "export_mb": round(export.stat().st_size / 1e6, 1),
        "rounds": rounds,
        "ingest_s": round(med(seconds["ingest"]), 2),
        "ingest_runs_s": [round(x, 2) for x in seconds["ingest"]],
        "ingest_process_wall_s": round(med(walls["ingest"]), 2),
        "ingest_peak_rss_mb": round(max(rss["ingest"])),
        "ingest_cpu_s": round(med(cpu["ingest"]), 2),
        "ingest_cores": cores(cpu["ingest"], walls["ingest"]),
        "read_csv_in_memory_s": round(med(seconds["read_csv_in_memory"]), 2),
        "ratio_vs_read_csv_in_memory": round(med(seconds["ingest"]) / med(seconds["read_csv_in_memory"]), 2),
    }
    for ref in READ_CSV_REFERENCES:
        name = f"read_csv_{ref}"
        out[f"{name}_s"] = round(med(seconds[name]), 2)
        out[f"{name}_cpu_s"] = round(med(cpu[name]), 2)
        out[f"{name}_peak_rss_mb"] = round(max(rss[name]))
        out[f"{name}_cores"] = cores(cpu[name], walls[name])
        out[f"ratio_vs_{name}"] = round(med(seconds["ingest"]) / med(seconds[name]), 2)
        out[f"cpu_ratio_vs_{name}"] = round(med(cpu["ingest"]) / med(cpu[name]), 2)
    return out, db


def cores(cpu: list[float], walls: list[float]) -> float:
    """How many cores a leg kept busy: median CPU seconds over median process wall seconds (start-up and
    imports, on one core, count on both sides). DuckDB's read_csv of a 20,000-patient export runs on about
    one core (with ``threads = 1`` it takes as long), and on nearly two at 200,000; ingest reads and types
    on both at each size (1.6 with its start-up at 20,000, 1.8 at 200,000). That is what moves the ratio
    between sizes, whatever ingest's own speed."""
    return round(statistics.median(cpu) / statistics.median(walls), 2)


def print_read_csv_ratios(r: dict, prefix: str = "") -> None:
    """One line per read_csv reference: its seconds, cores kept busy, peak RSS, and ingest's ratio to it
    (wall and CPU)."""
    print(f"{prefix}  (ingest kept {r['ingest_cores']} cores busy)")
    for ref, (label, _settings) in READ_CSV_REFERENCES.items():
        name = f"read_csv_{ref}"
        print(f"{prefix}  read_csv, {label}: {r[f'{name}_s']} s on {r[f'{name}_cores']} cores, "
              f"peak RSS {r[f'{name}_peak_rss_mb']} MB -> ingest "
              f"{r[f'ratio_vs_{name}']}x (CPU seconds {r['ingest_cpu_s']} vs {r[f'{name}_cpu_s']}: "
              f"{r[f'cpu_ratio_vs_{name}']}x)")


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
            remove_database(db)
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
    print(f"ingest {r['export_rows']} rows ({r['export_mb']} MB): {r['ingest_s']} s, peak RSS "
          f"{r['ingest_peak_rss_mb']} MB; against DuckDB's read_csv of the same file into a DuckDB file "
          f"(in memory: {r['read_csv_in_memory_s']} s, {r['ratio_vs_read_csv_in_memory']}x):")
    print_read_csv_ratios(r)
    results["odm"] = bench_odm(export, rounds=1 if quick else 3)
    o = results["odm"]
    print(f"ODM ingest ({o['odm_mb']} MB): {o['odm_ingest_s']} s against the CSV export ({o['csv_mb']} MB) "
          f"{o['csv_ingest_s']} s: {o['ratio_odm_vs_csv']}x (goal <= 3x); ODM peak RSS {o['odm_peak_rss_mb']} MB")
    print(f"wrote {write_result('bench_ingest', results)}")


if __name__ == "__main__":
    main()
