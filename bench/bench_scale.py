"""200,000 patients on one small machine: ingest, validate and analyze, each under 2 GB.

Generates the seeded 200,000-patient export (about 4.5 million rows; streamed, see
``sample_data.generate``), then runs, each as a fresh process with its peak memory (RSS):

1. DuckDB's own ``read_csv`` of the file into a DuckDB file, and ``registry ingest`` of it
   into a new registry: the ratio is compared with the one ``bench_ingest.py`` reports at
   20,000 (goal: no worse), measured as there (each side's own time, from opening the database
   to closing it), and also as whole processes and in CPU seconds;
2. ``registry validate`` (every suite of ``checks/``) on that registry;
3. ``registry analyze`` and ``bench/pandas_script.py`` (the same statistics by hand, see
   ``bench_analyze.py``), alternating.

Each leg runs ``SCALE_ROUNDS`` times (default 3, ``--quick`` 1), the two sides of each
comparison in alternating order, and the medians are reported (a round at 200,000 patients takes
about two minutes). GX on pandas is run at 20,000 patients only (``bench_gate.py``): at 200,000
its frames do not fit the 2 GB budget the toolkit is held to. ``--quick`` runs the same legs on
2,000 patients.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench._common import BIN, QUICK_PATIENTS, export_file, run_measured, write_result
from bench.bench_analyze import analyze_cmd, script_cmd
from bench.bench_ingest import READ_CSV, ingest_seconds

PATIENTS = 200_000
MEMORY_GOAL_MB = 2048


def run_legs(export: Path, rounds: int) -> dict:
    """Every leg ``rounds`` times in a fresh temporary folder; medians and peak RSS."""
    legs: dict[str, list[tuple[float, float]]] = {}
    work: dict[str, list[float]] = {}  # ingest's and read_csv's own seconds, as bench_ingest.py reads them
    cpu: dict[str, list[float]] = {}  # their processes' CPU seconds

    def run(name: str, cmd: list[str]) -> None:
        measured = run_measured(cmd)
        legs.setdefault(name, []).append((measured.wall, measured.peak_mb))
        if name in ("read_csv", "ingest"):
            seconds = float(measured.stdout) if name == "read_csv" else ingest_seconds(measured.stdout)
            work.setdefault(name, []).append(seconds)
            cpu.setdefault(name, []).append(measured.cpu)

    for i in range(rounds):
        with tempfile.TemporaryDirectory(dir=export.parent) as tmp:
            db = Path(tmp) / "registry.duckdb"
            reads = [("read_csv", [sys.executable, "-c", READ_CSV, str(export), str(Path(tmp) / "read_csv.duckdb")]),
                     ("ingest", [str(BIN / "registry"), "ingest", str(export), "--db", str(db)])]
            for name, cmd in reads if i % 2 == 0 else reversed(reads):
                run(name, cmd)
            run("validate", [str(BIN / "registry"), "validate", "--db", str(db), "--json",
                             "--html", str(Path(tmp) / "quality.html")])
            order = [("analyze", analyze_cmd), ("script", script_cmd)]
            for name, cmd in order if i % 2 == 0 else reversed(order):
                run(name, cmd(db, Path(tmp) / name))
    out: dict = {"rounds": rounds}
    for name, runs in legs.items():
        out[f"{name}_s"] = round(statistics.median(w for w, _ in runs), 2)
        out[f"{name}_peak_rss_mb"] = round(max(p for _, p in runs))
    for name, seconds in work.items():
        out[f"{name}_work_s"] = round(statistics.median(seconds), 2)
    for name, seconds in cpu.items():
        out[f"{name}_cpu_s"] = round(statistics.median(seconds), 2)
    out["ingest_vs_read_csv"] = round(out["ingest_work_s"] / out["read_csv_work_s"], 2)
    out["ingest_vs_read_csv_cpu"] = round(out["ingest_cpu_s"] / out["read_csv_cpu_s"], 2)
    out["ingest_vs_read_csv_process_wall"] = round(out["ingest_s"] / out["read_csv_s"], 2)
    out["analyze_vs_script"] = round(out["analyze_s"] / out["script_s"], 2)
    out["under_memory_goal"] = all(out[f"{k}_peak_rss_mb"] < MEMORY_GOAL_MB for k in ("ingest", "validate", "analyze"))
    return out


def main(quick: bool = False) -> None:
    n = QUICK_PATIENTS if quick else int(os.environ.get("SCALE_PATIENTS", PATIENTS))
    export = export_file(n)
    rounds = int(os.environ.get("SCALE_ROUNDS", 1 if quick else 3))
    r = {"patients": n, "export_mb": round(export.stat().st_size / 1e6), **run_legs(export, rounds)}
    runs = "1 run each (single runs, not medians)" if r["rounds"] == 1 else f"medians of {r['rounds']} alternating runs"
    print(f"scale {n:,} patients ({r['export_mb']} MB export), {runs}, shared 2-core machine:")
    print(f"  ingest {r['ingest_work_s']} s vs DuckDB read_csv {r['read_csv_work_s']} s -> {r['ingest_vs_read_csv']}x "
          f"(as bench_ingest measures at 20,000; whole processes {r['ingest_s']} s vs {r['read_csv_s']} s -> "
          f"{r['ingest_vs_read_csv_process_wall']}x); peak RSS {r['ingest_peak_rss_mb']} MB "
          f"(read_csv {r['read_csv_peak_rss_mb']} MB)")
    print(f"  CPU seconds (whole processes, all threads): ingest {r['ingest_cpu_s']} vs read_csv "
          f"{r['read_csv_cpu_s']} ({r['ingest_vs_read_csv_cpu']}x)")
    print(f"  validate {r['validate_s']} s; peak RSS {r['validate_peak_rss_mb']} MB "
          "(GX on pandas: 20,000 patients only, bench_gate.py)")
    print(f"  analyze {r['analyze_s']} s vs pandas script {r['script_s']} s -> {r['analyze_vs_script']}x; "
          f"peak RSS {r['analyze_peak_rss_mb']} MB (script {r['script_peak_rss_mb']} MB)")
    print(f"  every step under {MEMORY_GOAL_MB} MB: {r['under_memory_goal']}")
    print(f"wrote {write_result('bench_scale', r)}")


if __name__ == "__main__":
    main()
