"""Benchmark of the report figures (issue 13, item 1): each figure's drawing time and size at
the registry's size, as inline SVG (:mod:`registry.report.svg_plot`; they were matplotlib
PNGs, about 3 s in all at 20,000 patients).

Runs ``registry analyze`` once on the shared benchmark registry (``bench._common``; or the
registry given as the first argument) to get its ``results.json``, then draws each figure
``REPEAT`` times; prints medians and writes ``bench_out/bench_figures.json``.

Run:  ``python -m bench.run figures`` (``--quick``: 2,000 patients), or
``.venv/bin/python -m bench.bench_figures [REGISTRY.duckdb]``.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPEAT = 5


def main(quick: bool = False) -> None:
    from bench._common import OUT, patients, registry_file
    from registry.analysis.plan import default_plan_path, read_plan
    from registry.report import figures, mmrm_section
    from registry.workflow import analyze

    db = Path(sys.argv[1]) if __name__ == "__main__" and len(sys.argv) > 1 else registry_file(patients(quick))
    plan = read_plan(default_plan_path())
    with tempfile.TemporaryDirectory() as tmp:
        analyze(db, None, Path(tmp), exploratory=True, check_gate=False)
        results = json.loads((Path(tmp) / "results.json").read_text(encoding="utf-8"))
    draw = {
        "mean_change": figures.plot_mean_change,
        "trajectories": lambda r, p: figures.plot_trajectories(r, p)[0],
        "km": figures.plot_km,
        "mmrm": mmrm_section.plot_mmrm,
    }
    out: dict = {"subjects": len(results["relapse"]["subjects"]), "figures": {}}
    for name, plot in draw.items():
        times = []
        for _ in range(REPEAT):
            start = time.perf_counter()
            svg = plot(results, plan)
            times.append(time.perf_counter() - start)
        row = out["figures"][name] = {
            "svg_s": round(statistics.median(times), 3),
            "svg_kb": round(len(svg or "") / 1024, 1),
        }
        print(f"{name}: SVG {row['svg_s']} s ({row['svg_kb']} KB)")
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_figures.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
