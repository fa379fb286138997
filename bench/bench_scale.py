"""200,000 patients on one small machine: ingest, validate and analyze, each under 2 GB.

Generates the seeded 200,000-patient export (about 4.5 million rows; streamed, see
``sample_data.generate``), then runs, each as a fresh process with its peak memory (RSS):

1. ``registry ingest`` of it into a new registry against DuckDB's own ``read_csv`` of the file
   into a DuckDB file, measured by ``bench_ingest.py`` as at 20,000 patients: each side's own
   seconds (opening the database to closing it) and CPU seconds, against ``read_csv`` at DuckDB's
   defaults and held to the registry's memory limit (rows in order, and not). Each ratio is
   compared with the one ``bench_ingest.py`` wrote at 20,000 (goal: no worse). At DuckDB's
   defaults ``read_csv`` peaks at 2.0-2.7 GB here: at or over the 2 GB the registry's steps are
   held to, which is why the references under the registry's own limit are there;
2. ``registry validate`` (every suite of ``checks/``) on the registry of the last ingest;
3. ``registry analyze`` and ``bench/pandas_script.py`` (the same statistics by hand, see
   ``bench_analyze.py``), alternating.

Each leg runs ``SCALE_ROUNDS`` times (default 3, ``--quick`` 1), the two sides of each
comparison in alternating order, and the medians are reported (a round at 200,000 patients takes
about three and a half minutes). GX on pandas is run at 20,000 patients only (``bench_gate.py``): at 200,000
its frames do not fit the 2 GB budget the toolkit is held to. ``--quick`` runs the same legs on
2,000 patients.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from pathlib import Path

from bench._common import BIN, OUT, QUICK_PATIENTS, export_file, run_measured, write_result
from bench.bench_analyze import analyze_cmd, script_cmd
from bench.bench_ingest import READ_CSV_REFERENCES, bench_ingest, print_read_csv_ratios

PATIENTS = 200_000
MEMORY_GOAL_MB = 2048


def run_legs(export: Path, rounds: int) -> dict:
    """Every leg ``rounds`` times in a fresh temporary folder; medians and peak RSS."""
    with tempfile.TemporaryDirectory(dir=export.parent) as tmp:
        out, db = bench_ingest(export, rounds, folder=Path(tmp))
        legs: dict[str, list[tuple[float, float]]] = {}
        for i in range(rounds):
            measured = run_measured([str(BIN / "registry"), "validate", "--db", str(db), "--json",
                                     "--html", str(Path(tmp) / "quality.html")])
            legs.setdefault("validate", []).append((measured.wall, measured.peak_mb))
            order = [("analyze", analyze_cmd), ("script", script_cmd)]
            for name, cmd in order if i % 2 == 0 else reversed(order):
                measured = run_measured(cmd(db, Path(tmp) / name))
                legs.setdefault(name, []).append((measured.wall, measured.peak_mb))
    for name, runs in legs.items():
        out[f"{name}_s"] = round(statistics.median(w for w, _ in runs), 2)
        out[f"{name}_peak_rss_mb"] = round(max(p for _, p in runs))
    out["analyze_vs_script"] = round(out["analyze_s"] / out["script_s"], 2)
    out["under_memory_goal"] = all(out[f"{k}_peak_rss_mb"] < MEMORY_GOAL_MB for k in ("ingest", "validate", "analyze"))
    return out


def against_smaller(r: dict) -> dict:
    """Ingest's ratio to each read_csv reference here and in ``bench_ingest.json`` (the 20,000-patient run):
    ``{reference: {"here": x, "smaller": y, "patients": n, "no_worse": bool}}``; empty without that file."""
    path = OUT / "bench_ingest.json"
    if not path.exists():
        return {}
    smaller = json.loads(path.read_text())
    out = {}
    for ref in READ_CSV_REFERENCES:
        key = f"ratio_vs_read_csv_{ref}"
        if key in smaller.get("ingest", {}):
            out[ref] = {"here": r[key], "smaller": smaller["ingest"][key], "patients": smaller["patients"],
                        "no_worse": r[key] <= smaller["ingest"][key]}
    return out


def main(quick: bool = False) -> None:
    n = QUICK_PATIENTS if quick else int(os.environ.get("SCALE_PATIENTS", PATIENTS))
    export = export_file(n)
    rounds = int(os.environ.get("SCALE_ROUNDS", 1 if quick else 3))
    r = {"patients": n, **run_legs(export, rounds)}  # export_mb among them, from bench_ingest
    runs = "1 run each (single runs, not medians)" if r["rounds"] == 1 else f"medians of {r['rounds']} alternating runs"
    print(f"scale {n:,} patients ({r['export_mb']} MB export), {runs}, shared 2-core machine:")
    print(f"  ingest {r['ingest_s']} s, peak RSS {r['ingest_peak_rss_mb']} MB, against DuckDB's read_csv into a file:")
    print_read_csv_ratios(r, prefix="  ")
    r["against_smaller"] = against_smaller(r)
    for ref, c in r["against_smaller"].items():
        print(f"    ingest / read_csv ({ref}): {c['here']}x here, {c['smaller']}x at {c['patients']:,} patients -> "
              f"{'no worse' if c['no_worse'] else 'worse'}")
    print(f"  validate {r['validate_s']} s; peak RSS {r['validate_peak_rss_mb']} MB "
          "(GX on pandas: 20,000 patients only, bench_gate.py)")
    print(f"  analyze {r['analyze_s']} s vs pandas script {r['script_s']} s -> {r['analyze_vs_script']}x; "
          f"peak RSS {r['analyze_peak_rss_mb']} MB (script {r['script_peak_rss_mb']} MB)")
    print(f"  every step under {MEMORY_GOAL_MB} MB: {r['under_memory_goal']}")
    print(f"wrote {write_result('bench_scale', r)}")


if __name__ == "__main__":
    main()
