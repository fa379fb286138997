"""Benchmark of the MMRM (issue 10): every candidate structure for the plan's three outcomes
on the 20,000-patient registry. Goal: under 10 s on 2 cores.

Uses the shared ``bench_out/registry_<N>.duckdb`` built from a generated export once (``sample_data.generate``,
seed 1, then ``registry ingest``), stages the plan's data and derives the pairs (timed
apart), then times ``registry.analysis.mmrm.compute_mmrm`` (median of 3). Prints the
times and writes ``bench_out/bench_mmrm.json``.

Run:  .venv/bin/python -m bench.run mmrm      (--quick for 2,000 patients)
"""

from __future__ import annotations

import statistics
import time

from bench._common import patients, registry_file, write_result


def main(quick: bool = False) -> None:
    from registry.analysis import mmrm, paired, population
    from registry.analysis.plan import default_plan_path, read_plan
    from registry.analysis.stage import open_registry, stage_plan_data

    n = patients(quick)
    plan = read_plan(default_plan_path())
    con = open_registry(registry_file(n))
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
        "patients": n,
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
    write_result("bench_mmrm", result)
    print(
        f"mmrm: {result['outcomes']} outcomes x {len(plan.mmrm.structures)} structures "
        f"({result['converged']}/{result['candidates']} converged) on {n} patients "
        f"({sum(result['observations'])} observations): {result['mmrm_median_s']} s (goal < 10 s); "
        f"staging and pairs {result['stage_and_pairs_s']} s"
    )


if __name__ == "__main__":
    main()
