"""Benchmark of ``registry analyze`` on a registry (called by ``make bench``).

Times every step of the analysis (staging and population, paired tests, rates, relapse
derivation, survival fits, rendering) and the whole run, in this process and in a fresh
``registry analyze`` process (which includes imports), without touching the registry.

Examples
--------
>>> from registry.bench_analyze import bench_analyze
>>> bench_analyze("bench_out/registry.duckdb")              # doctest: +SKIP
{'subjects': 20000, 'total_s': 6.1, ...}
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path


def bench_analyze(db_path: str | Path, repeat: int = 3) -> dict:
    """Time the analysis of ``db_path``'s current batch.

    The gate is not checked and a changed locked plan does not stop the run (it is timed
    as exploratory): the benchmark measures the work, not the policy. Outputs go to a
    temporary folder.

    Parameters
    ----------
    db_path : str or Path
        A registry file.
    repeat : int
        In-process runs; the step timings are medians.

    Returns
    -------
    dict
        ``subjects`` (analysis population), ``relapses``, per-step medians in seconds
        (``population_s``, ``paired_s``, ``rates_s``, ``relapse_derive_s``,
        ``relapse_fit_s``, ``render_s``, ``total_s``), ``runs`` (every in-process run),
        ``cli_s`` (one ``registry analyze`` process, imports included; None if it failed),
        ``report_html_kb``.
    """
    import statistics

    from registry.workflow import analyze

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            timings: dict = {}
            res = analyze(
                db_path, None, Path(tmp) / f"run{i}", exploratory=True, check_gate=False, timings=timings
            )
            runs.append({k: round(v, 3) for k, v in timings.items()})
        subjects = len(res.results["relapse"]["subjects"])
        relapses = sum(1 for s in res.results["relapse"]["subjects"] if s["event"])
        html_kb = round((Path(tmp) / "run0" / "report.html").stat().st_size / 1024, 1)
        cli = [
            str(Path(sys.executable).with_name("registry")),
            "analyze",
            "--db",
            str(db_path),
            "--out",
            str(Path(tmp) / "cli"),
            "--exploratory",
            "--override-gate",
            "benchmark run",
        ]
        start = time.perf_counter()
        proc = subprocess.run(cli, capture_output=True, text=True)
        cli_s = round(time.perf_counter() - start, 3) if proc.returncode == 0 else None
    steps = [
        "population_s",
        "paired_s",
        "rates_s",
        "relapse_derive_s",
        "relapse_fit_s",
        "render_s",
        "total_s",
    ]
    out: dict = {"subjects": subjects, "relapses": relapses}
    out.update({k: round(statistics.median(r[k] for r in runs), 3) for k in steps})
    out.update({"runs": runs, "cli_s": cli_s, "report_html_kb": html_kb})
    if cli_s is None:
        out["cli_error"] = proc.stderr.strip().splitlines()[-1:] if proc.stderr else []
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(bench_analyze(sys.argv[1] if len(sys.argv) > 1 else "registry.duckdb"), indent=2))
