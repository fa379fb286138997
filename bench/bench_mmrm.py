"""Benchmark of the MMRM (issue 10): every candidate structure for the plan's three outcomes
on the 20,000-patient registry. Goal: under 10 s on 2 cores.

Builds ``bench_out/mmrm_<N>.duckdb`` from a generated export once (``sample_data.generate``,
seed 1, then ``registry ingest``), stages the plan's data and derives the pairs (timed
apart), then times ``registry.analysis.mmrm.compute_mmrm`` (median of 3). Prints the
times and writes ``bench_out/bench_mmrm.json``.

Run:  .venv/bin/python bench/bench_mmrm.py     (BENCH_PATIENTS=2000 for a quick run)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench_out"
PATIENTS = int(os.environ.get("BENCH_PATIENTS", "20000"))


def registry_file() -> Path:
    """The benchmark registry, generated and ingested on first use."""
    OUT.mkdir(exist_ok=True)
    db = OUT / f"mmrm_{PATIENTS}.duckdb"
    if db.exists():
        return db
    export = OUT / f"export_{PATIENTS}.csv"
    if not export.exists():
        cmd = ["-m", "sample_data.generate", "--patients", str(PATIENTS), "--seed", "1", "--out", str(export)]
        subprocess.run([sys.executable, *cmd], check=True, cwd=ROOT)
    registry = Path(sys.executable).parent / "registry"
    subprocess.run([str(registry), "ingest", str(export), "--db", str(db)], check=True, cwd=ROOT, capture_output=True)
    return db


def main() -> None:
    from registry.analysis import mmrm, paired, population
    from registry.analysis.plan import default_plan_path, read_plan
    from registry.analysis.stage import open_registry, stage_plan_data

    plan = read_plan(default_plan_path())
    con = open_registry(registry_file())
    t = time.perf_counter()
    stage_plan_data(con, plan)
    population.derive_subjects(con, plan)
    pairs = paired.derive_pairs(con, plan)
    prep = time.perf_counter() - t
    con.close()
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        entries = mmrm.compute_mmrm(pairs, plan)
        runs.append(time.perf_counter() - t)
    result = {
        "patients": PATIENTS,
        "outcomes": len(entries),
        "candidates": sum(len(e["candidates"]) for e in entries),
        "converged": sum(c["converged"] for e in entries for c in e["candidates"]),
        "subjects": [e["n_subjects"] for e in entries],
        "observations": [e["n_observations"] for e in entries],
        "chosen": [e["covariance"] for e in entries],
        "stage_and_pairs_s": round(prep, 3),
        "mmrm_median_s": round(statistics.median(runs), 3),
        "mmrm_runs_s": [round(r, 3) for r in runs],
        "goal_s": 10,
    }
    (OUT / "bench_mmrm.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"mmrm: {result['outcomes']} outcomes x {len(plan.mmrm.structures)} structures "
        f"({result['converged']}/{result['candidates']} converged) on {PATIENTS} patients "
        f"({sum(result['observations'])} observations): {result['mmrm_median_s']} s (goal < 10 s); "
        f"staging and pairs {result['stage_and_pairs_s']} s"
    )


if __name__ == "__main__":
    main()
