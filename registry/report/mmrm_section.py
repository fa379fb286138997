"""The report's mixed-model (MMRM) section, rendered from the ``mmrm`` entry of results.json:
a table per outcome, the candidate structures and a figure of LS means (the methods
paragraph is in results.json's ``methods``, from :mod:`registry.analysis.mmrm_methods`)."""

from __future__ import annotations

from markupsafe import Markup

from registry.analysis.plan import AnalysisPlan
from registry.report.figures import COLOURS, PANEL_SLOT, _limits, _panel_row
from registry.report.svg_plot import INK, Figure
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


def plot_mmrm(results: dict, plan: AnalysisPlan) -> Markup | None:
    """LS mean change with CI by visit, one panel per outcome, one line per cohort."""
    entries = [e for e in results.get("mmrm", []) if e["lsmeans"]]
    if not entries:
        return None
    conf = f"{plan.confidence * 100:g}%"
    fig = Figure(
        PANEL_SLOT * len(entries) + 10,
        340,
        f"LS mean change from baseline with {conf} CI by visit and cohort, per outcome",
    )
    codes = [c for c, _ in plan.cohorts]
    width = 0.3 / max(len(codes), 1)
    visits = [list(dict.fromkeys(r["visit"] for r in e["lsmeans"])) for e in entries]
    ylims = [
        _limits([0.0] + [r[k] for r in e["lsmeans"] if r["estimate"] is not None for k in ("ci_low", "ci_high")])
        for e in entries
    ]
    panels = _panel_row(fig, len(entries), 34, 240, (-0.5, max(map(len, visits)) - 0.5), ylims)
    for panel, entry, shown in zip(panels, entries, visits, strict=True):
        panel.xlim = (-0.5, len(shown) - 0.5)
        label = plan.outcome(entry["scale"]).label
        panel.axes(
            xticks=[(i, plan.visit_label(v)) for i, v in enumerate(shown)],
            ylabel=f"LS mean change, {label} points ({conf} CI)",
            title=[(f"{label} ({entry['covariance'] or 'no fit'})", INK)],
        )
        panel.hline(0)
        for i, code in enumerate(codes):
            colour = COLOURS[i % len(COLOURS)]
            rows = [r for r in entry["lsmeans"] if r["cohort"] == code and r["estimate"] is not None]
            xs = [shown.index(r["visit"]) + (i - (len(codes) - 1) / 2) * width for r in rows]
            panel.line(xs, [r["estimate"] for r in rows], colour, 1.6)
            for x, r in zip(xs, rows, strict=True):
                panel.error_bar(x, r["estimate"], r["ci_low"], r["ci_high"], colour)
    fig.legend([("line-point", COLOURS[i % len(COLOURS)], label) for i, (_, label) in enumerate(plan.cohorts)], 310)
    return fig.svg()
