"""Benchmark of the report figures (issue 13, item 1): each figure's drawing time at the
registry's size, PNG (what the report embeds) against matplotlib's SVG output of the same
figure, and the size of each.

Runs ``registry analyze`` once on the shared benchmark registry (``bench._common``; or the
registry given as the first argument) to get its ``results.json``, then draws each figure
``REPEAT`` times per format, alternating the formats; prints medians and writes
``bench_out/bench_figures.json``.

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

REPEAT = 3


def main(quick: bool = False) -> None:
    import matplotlib.pyplot as plt

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
        "trajectories": figures.plot_trajectories,
        "km": figures.plot_km,
        "mmrm": mmrm_section.plot_mmrm,
    }
    saved = figures._png
    out: dict = {"subjects": len(results["relapse"]["subjects"]), "figures": {}}
    for name, plot in draw.items():
        times: dict[str, list[float]] = {"png": [], "svg": []}
        sizes = {}
        for _ in range(REPEAT):
            for fmt in ("png", "svg"):

                def capture(fig, fmt=fmt, sizes=sizes):
                    import io

                    buf = io.BytesIO()
                    fig.savefig(buf, format=fmt, dpi=110)  # as registry.report.figures._png
                    plt.close(fig)
                    sizes[fmt] = len(buf.getvalue())
                    return ""

                figures._png = capture
                mmrm_section._png = capture
                start = time.perf_counter()
                plot(results, plan)
                times[fmt].append(time.perf_counter() - start)
        figures._png = mmrm_section._png = saved
        out["figures"][name] = {
            f"{fmt}_s": round(statistics.median(t), 3) for fmt, t in times.items()
        } | {f"{fmt}_kb": round(b / 1024, 1) for fmt, b in sizes.items()}
        row = out["figures"][name]
        print(f"{name}: PNG {row['png_s']} s ({row.get('png_kb')} KB), SVG {row['svg_s']} s ({row.get('svg_kb')} KB)")
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_figures.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
