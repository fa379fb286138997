"""Benchmark of the report figures (issue 13, item 1): each figure's drawing time at the
registry's size, PNG (what the report embeds) against matplotlib's SVG output of the same
figure, and the size of each.

Runs ``registry analyze`` once on ``bench_out/figures_<N>.duckdb`` (built from a generated
export with ``sample_data.generate`` and ``registry ingest`` on first use, or given as the
first argument) to get its ``results.json``, then draws each figure ``REPEAT`` times per
format, alternating the formats; prints medians and writes ``bench_out/bench_figures.json``.

Run:  .venv/bin/python bench/bench_figures.py [REGISTRY.duckdb]   (BENCH_PATIENTS=2000: quick)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench_out"
PATIENTS = int(os.environ.get("BENCH_PATIENTS", "20000"))
REPEAT = 3


def registry_file() -> Path:
    """The benchmark registry, generated and ingested on first use."""
    OUT.mkdir(exist_ok=True)
    db = OUT / f"figures_{PATIENTS}.duckdb"
    if not db.exists():
        export = OUT / f"export_{PATIENTS}.csv"
        if not export.exists():
            subprocess.run(
                [sys.executable, "-m", "sample_data.generate", "--patients", str(PATIENTS), "--seed", "1",
                 "--out", str(export)],
                check=True,
                cwd=ROOT,
            )
        registry = Path(sys.executable).with_name("registry")
        subprocess.run([str(registry), "ingest", str(export), "--db", str(db)], check=True, cwd=ROOT)
    return db


def main() -> None:
    import matplotlib.pyplot as plt

    from registry.analysis.plan import default_plan_path, read_plan
    from registry.report import figures, mmrm_section
    from registry.workflow import analyze

    db = Path(sys.argv[1]) if len(sys.argv) > 1 else registry_file()
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
                    fig.savefig(buf, format=fmt, dpi=110, bbox_inches="tight")
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
