"""The report's mixed-model (MMRM) section, rendered from the ``mmrm`` entry of results.json:
a table per outcome, the candidate structures and a figure of LS means (the methods
paragraph is in results.json's ``methods``, from :mod:`registry.analysis.mmrm_methods`)."""

from __future__ import annotations

from registry.analysis.plan import AnalysisPlan
from registry.report.figures import COLOURS, _png, _pyplot
from registry.report.tables import fmt, fmt_p

DF_LABELS = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward–Roger"}


def _with_ci(row: dict | None) -> str:
    if row is None or row["estimate"] is None:
        return "–"
    return f"{fmt(row['estimate'])} [{fmt(row['ci_low'])}, {fmt(row['ci_high'])}]"


def mmrm_tables(results: dict, plan: AnalysisPlan) -> list[dict]:
    """Per outcome: ``label``, ``covariance``, ``df_method``, ``n_subjects``,
    ``n_observations``, ``note``, ``cohorts`` (labels), ``rows`` (per visit: ``visit_label``,
    ``lsmeans`` (one "est [CI]" per cohort), ``difference``, ``p``) and ``candidates``."""
    labels = {o.scale: o.label for o in plan.outcomes}
    tables = []
    for entry in results.get("mmrm", []):
        codes = sorted({r["cohort"] for r in entry["lsmeans"]})
        visits = list(dict.fromkeys(r["visit"] for r in entry["lsmeans"]))
        lsm = {(r["cohort"], r["visit"]): r for r in entry["lsmeans"]}
        diffs = {r["visit"]: r for r in entry["differences"]}
        rows = [
            {
                "visit_label": plan.visit_label(v),
                "lsmeans": [_with_ci(lsm.get((c, v))) for c in codes],
                "difference": _with_ci(diffs.get(v)),
                "p": fmt_p(diffs[v]["p"]) if v in diffs else "–",
            }
            for v in visits
        ]
        candidates = [
            {
                "structure": c["structure"],
                "loglik": fmt(c["reml_loglik"], 2),
                "bic": fmt(c["bic"], 2),
                "status": ("chosen" if c["structure"] == entry["covariance"] else "converged")
                if c["converged"]
                else "did not converge",
            }
            for c in entry["candidates"]
        ]
        tables.append(
            {
                "label": labels.get(entry["scale"], entry["scale"]),
                "covariance": entry["covariance"] or "none",
                "df_method": DF_LABELS.get(entry["df_method"], entry["df_method"]),
                "n_subjects": entry["n_subjects"],
                "n_observations": entry["n_observations"],
                "note": entry["note"],
                "cohorts": [plan.cohort_label(c) for c in codes],
                "rows": rows,
                "candidates": candidates,
            }
        )
    return tables


def mmrm_difference_label(plan: AnalysisPlan) -> str:
    """``compare − reference`` in cohort labels."""
    return f"{plan.cohort_label(plan.cox_compare)} − {plan.cohort_label(plan.cox_reference)}"


def plot_mmrm(results: dict, plan: AnalysisPlan) -> str | None:
    """LS mean change with CI by visit, one panel per outcome, one line per cohort."""
    entries = [e for e in results.get("mmrm", []) if e["lsmeans"]]
    if not entries:
        return None
    from matplotlib.lines import Line2D

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(entries), figsize=(3.6 * len(entries), 3.6), squeeze=False)
    codes = [c for c, _ in plan.cohorts]
    width = 0.3 / max(len(codes), 1)
    for ax, entry in zip(axes[0], entries, strict=True):
        visits = list(dict.fromkeys(r["visit"] for r in entry["lsmeans"]))
        for i, code in enumerate(codes):
            rows = [r for r in entry["lsmeans"] if r["cohort"] == code and r["estimate"] is not None]
            if not rows:
                continue
            x = [visits.index(r["visit"]) + (i - (len(codes) - 1) / 2) * width for r in rows]
            y = [r["estimate"] for r in rows]
            err = [[r["estimate"] - r["ci_low"] for r in rows], [r["ci_high"] - r["estimate"] for r in rows]]
            ax.errorbar(x, y, yerr=err, fmt="o-", capsize=3, color=COLOURS[i % len(COLOURS)])
        ax.axhline(0, color="grey", lw=0.8, ls="--")
        ax.set_xticks(range(len(visits)), [plan.visit_label(v) for v in visits])
        ax.set_xlim(-0.5, len(visits) - 0.5)
        label = plan.outcome(entry["scale"]).label
        ax.set_title(f"{label} ({entry['covariance'] or 'no fit'})")
        ax.set_ylabel(f"LS mean change, {label} points ({plan.confidence * 100:g}% CI)", fontsize=9)
    handles = [
        Line2D([], [], color=COLOURS[i % len(COLOURS)], marker="o", label=label)
        for i, (_, label) in enumerate(plan.cohorts)
    ]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return _png(fig)
