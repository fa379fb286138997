"""``registry analyze`` end to end: the analysis writes ``results.json``, then the report
renders ``report.html`` and ``report.md`` from that file.

The two layers never import each other (data flow: analyse -> results.json -> report);
this module, above both, runs them in turn.
"""

from __future__ import annotations

from pathlib import Path

from registry.analysis.run import AnalyzeResult
from registry.analysis.run import analyze as run_analysis


def analyze(
    db: str | Path | None = None,
    plan_path: str | Path | None = None,
    out_dir: str | Path | None = None,
    **options,
) -> AnalyzeResult:
    """Run the plan (:func:`registry.analysis.run.analyze`, same arguments) and render its report.

    Returns the analysis result with ``files`` = ``results.json``, ``report.html``,
    ``report.md``. A refused run writes nothing; ``timings``, if given, also receives
    ``render_s`` (seconds to render and write the report); ``progress`` is called once more
    when the report is written.
    """
    import time

    from registry.analysis.plan import default_plan_path, read_plan
    from registry.report.render import write_report

    result = run_analysis(db, plan_path, out_dir, **options)
    clock = time.perf_counter()
    plan = read_plan(plan_path if plan_path is not None else default_plan_path())
    result.files += write_report(result.out_dir / "results.json", plan)
    if options.get("progress") is not None:
        options["progress"]("report written")
    timings = options.get("timings")
    if timings is not None:
        timings["render_s"] = time.perf_counter() - clock
        timings["total_s"] = timings.get("total_s", 0.0) + timings["render_s"]
    return result
