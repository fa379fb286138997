"""The report's first section: what is new since the previous report (``since_previous`` of
results.json): records, values and data queries that changed, each prespecified result then
and now, and the accrual of records per cohort over the batches."""

from __future__ import annotations

from markupsafe import Markup

from registry.analysis.plan import AnalysisPlan
from registry.report.figures import COLOURS
from registry.report.svg_plot import Figure, Panel
from registry.report.tables import fmt

COUNTS = (
    ("records_added", "Records added"),
    ("records_removed", "Records removed"),
    ("values_changed", "Values changed in records present in both batches"),
    ("queries_opened", "Data queries opened"),
    ("queries_resolved", "Data queries resolved"),
    ("queries_confirmed", "Data queries confirmed by sites"),
)


def since_previous_summary(results: dict) -> dict | None:
    """``previous_batch``, ``previous_run_at``, ``counts`` (label, n) and ``results`` (rows with a
    formatted before/after n and estimate, changed ones first); None on the first report."""
    since = results.get("since_previous")
    if not since:
        return None
    rows = []
    for r in since["results"]:
        changed = r["n"] != r["n_previous"] or r["estimate"] != r["estimate_previous"]
        rows.append(
            {
                "label": r["label"],
                "changed": changed,
                "n": f"{_n(r['n_previous'])} → {_n(r['n'])}",
                "estimate": f"{fmt(r['estimate_previous'])} → {fmt(r['estimate'])}",
            }
        )
    rows.sort(key=lambda r: not r["changed"])
    return {
        "previous_batch": since["previous_batch"],
        "previous_run_at": since["previous_run_at"],
        "counts": [(label, since[key]) for key, label in COUNTS],
        "results": rows,
        "n_changed": sum(r["changed"] for r in rows),
    }


def plot_accrual(results: dict, plan: AnalysisPlan) -> Markup | None:
    """Records per cohort per batch (every batch in the registry), one line per cohort."""
    since = results.get("since_previous")
    if not since or not since.get("accrual"):
        return None
    accrual = since["accrual"]
    batches = sorted({r["batch_id"] for r in accrual})
    codes = list(dict.fromkeys(r["cohort"] for r in accrual))
    top = max(r["records"] for r in accrual)
    fig = Figure(640, 320, "Records per cohort in each batch")
    ax = Panel(fig, 80, 14, 540, 220, (batches[0] - 0.3, batches[-1] + 0.3), (0, top * 1.05 or 1))
    ax.axes(xticks=[(b, str(b)) for b in batches], xlabel="batch (monthly export)", ylabel="records")
    legend = []
    for i, code in enumerate(codes):
        per_batch = {r["batch_id"]: r["records"] for r in accrual if r["cohort"] == code}
        label = "no cohort recorded" if code is None else plan.cohort_label(int(code))
        colour = COLOURS[i % len(COLOURS)] if code is not None else "grey"
        ys = [per_batch.get(b, 0) for b in batches]
        ax.line(batches, ys, colour)
        ax.points(batches, ys, colour)
        legend.append(("line-point", colour, label))
    fig.legend(legend, 270)
    return fig.svg()


def _n(value) -> str:
    return "–" if value is None else str(value)
