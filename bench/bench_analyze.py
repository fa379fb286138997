"""Benchmark of ``registry analyze`` against a hand-written pandas script (``make bench``).

Both run as whole processes, imports included, on the same registry: ``registry analyze``
(results.json, report.html, report.md) and ``bench/pandas_script.py`` (the same statistics
with pandas + scipy + lifelines, results.json and report.html; checked against the
registry's results.json by ``tests/test_pandas_script.py``). Runs alternate (analyze,
script, analyze, ...); the figures are medians, with each process's peak memory. The goal
(issue 13): analyze <= 1.0x the script at 20,000 patients.

One in-process run also gives the analysis's step timings (staging and population, paired
tests, rates, relapse derivation, survival fits, MMRM, rendering).

Run: ``python -m bench.run analyze`` (``--quick`` for 2,000 patients). The 200,000-patient
legs are in ``bench/bench_scale.py``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

from bench._common import BIN, ROOT, patients, registry_file, run_measured, write_result

SCRIPT = ROOT / "bench" / "pandas_script.py"


def analyze_cmd(db: Path, out: Path) -> list[str]:
    """``registry analyze`` as a user runs it on a batch (gate overridden: the registry is not validated)."""
    return [str(BIN / "registry"), "analyze", "--db", str(db), "--out", str(out), "--override-gate", "benchmark"]


def script_cmd(db: Path, out: Path) -> list[str]:
    return [sys.executable, str(SCRIPT), "--db", str(db), "--out", str(out)]


def compare_processes(db: Path, rounds: int) -> dict:
    """``rounds`` alternating runs of analyze and the script; medians of wall time, max peak RSS."""
    runs: dict[str, list[tuple[float, float]]] = {"analyze": [], "script": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(rounds):
            for name, cmd in (("analyze", analyze_cmd), ("script", script_cmd)):
                run = run_measured(cmd(db, Path(tmp) / f"{name}{i}"))
                runs[name].append((run.wall, run.peak_mb))
    med = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
    return {
        "rounds": rounds,
        "analyze_s": round(med["analyze"], 2),
        "script_s": round(med["script"], 2),
        "ratio": round(med["analyze"] / med["script"], 2),
        "analyze_runs_s": [round(w, 2) for w, _ in runs["analyze"]],
        "script_runs_s": [round(w, 2) for w, _ in runs["script"]],
        "analyze_peak_rss_mb": round(max(p for _, p in runs["analyze"])),
        "script_peak_rss_mb": round(max(p for _, p in runs["script"])),
    }


def step_timings(db: Path) -> dict:
    """Seconds per analysis step, one in-process run (the process's imports not counted)."""
    from registry.workflow import analyze

    timings: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        analyze(db, None, Path(tmp) / "run", exploratory=True, check_gate=False, timings=timings)
    return {k: round(v, 2) for k, v in timings.items()}


def describe(n: int, r: dict) -> str:
    return (
        f"analyze {n:,} patients: registry analyze {r['analyze_s']} s, pandas script {r['script_s']} s "
        f"-> {r['ratio']}x (goal <= 1.0x; median of {r['rounds']} alternating runs, processes with imports, "
        f"shared 2-core machine); peak RSS {r['analyze_peak_rss_mb']} MB vs {r['script_peak_rss_mb']} MB"
    )


def main(quick: bool = False) -> None:
    n = patients(quick)
    db = registry_file(n)
    result = {"patients": n, **compare_processes(db, 1 if quick else 5), "steps": step_timings(db)}
    print(describe(n, result))
    print(f"analyze steps (in process): {result['steps']}")
    print(f"wrote {write_result('bench_analyze', result)}")


if __name__ == "__main__":
    main()
