"""The report's first section: what is new since the previous report (``since_previous`` of
results.json): records, values and data queries that changed, each prespecified result then
and now, and the accrual of records per cohort over the batches."""

from __future__ import annotations

from registry.analysis.plan import AnalysisPlan
from registry.report.figures import COLOURS, _png, _pyplot
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
        rows.append({"label": r["label"], "changed": changed,
                     "n": f"{_n(r['n_previous'])} → {_n(r['n'])}",
                     "estimate": f"{fmt(r['estimate_previous'])} → {fmt(r['estimate'])}"})
    rows.sort(key=lambda r: not r["changed"])
    return {
        "previous_batch": since["previous_batch"],
        "previous_run_at": since["previous_run_at"],
        "counts": [(label, since[key]) for key, label in COUNTS],
        "results": rows,
        "n_changed": sum(r["changed"] for r in rows),
    }


def plot_accrual(results: dict, plan: AnalysisPlan) -> str | None:
    """Records per cohort per batch (every batch in the registry), one line per cohort."""
    since = results.get("since_previous")
    if not since or not since.get("accrual"):
        return None
    accrual = since["accrual"]
    batches = sorted({r["batch_id"] for r in accrual})
    codes = list(dict.fromkeys(r["cohort"] for r in accrual))
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    for i, code in enumerate(codes):
        per_batch = {r["batch_id"]: r["records"] for r in accrual if r["cohort"] == code}
        label = "no cohort recorded" if code is None else plan.cohort_label(int(code))
        ax.plot(batches, [per_batch.get(b, 0) for b in batches], marker="o", label=label,
                color=COLOURS[i % len(COLOURS)] if code is not None else "grey")
    ax.set_xticks(batches)
    ax.set_xlabel("batch (monthly export)")
    ax.set_ylabel("records")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return _png(fig)


def _n(value) -> str:
    return "–" if value is None else str(value)
