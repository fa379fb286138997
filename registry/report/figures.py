"""Report figures as inline SVG (:mod:`registry.report.svg_plot`), and the numbers behind them.

Each ``plot_*`` function draws from ``results.json`` and returns an ``<svg>`` element for the
HTML report; the ``*_data`` functions and the trajectory helpers return the plotted numbers
so tests can compare them instead of drawings. A figure's cost does not grow with the
number of patients past what a reader can see: the trajectory figure draws at most
``[report] max_trajectories`` subjects per cohort (a seeded sample, said in the caption)
over quantile bands of everyone; the change and KM figures draw aggregated values.
"""

from __future__ import annotations

from markupsafe import Markup

from registry.analysis.plan import AnalysisPlan
from registry.report.flow_diagram import text_width
from registry.report.svg_plot import INK, Figure, Panel, nice_ticks, tick_text

COLOURS = ["#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#66462c"]
PANEL_SLOT = 330  # pixels per panel column, its axis labels included
LEFT = 66  # room left of a panel for its tick labels and y-axis label


def _panel_row(fig: Figure, n: int, top: float, height: float, xlim, ylims) -> list[Panel]:
    """``n`` panels side by side across ``fig``, each with room on its left for tick labels
    and a y-axis label."""
    slot = (fig.width - 10) / n
    return [
        Panel(fig, 10 + i * slot + LEFT, top, slot - LEFT - 14, height, xlim, ylim)
        for i, ylim in zip(range(n), ylims, strict=True)
    ]


def _limits(values, pad_low: float = 0.05, pad_high: float = 0.05) -> tuple[float, float]:
    values = [v for v in values if v is not None and v == v]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    span = (high - low) or 1.0
    return low - pad_low * span, high + pad_high * span


def plot_mean_change(results: dict, plan: AnalysisPlan) -> Markup:
    """Mean change from baseline with CI, one panel per outcome, visits on x, cohorts side by
    side, each point labelled with its n of complete pairs; the legend sits under the panels."""
    conf = f"{plan.confidence * 100:g}%"
    visits = plan.followup_visits
    fig = Figure(
        PANEL_SLOT * len(plan.outcomes) + 10, 350, f"Mean change from baseline with {conf} CI by outcome and visit"
    )
    width = 0.6 / max(len(plan.cohorts), 1)
    rows = {
        o.scale: [r for r in results["paired"] if r["scale"] == o.scale and r["ci_low"] is not None]
        for o in plan.outcomes
    }
    ylims = [_limits([0.0] + [r[k] for r in rows[o.scale] for k in ("ci_low", "ci_high")], 0.12) for o in plan.outcomes]
    panels = _panel_row(fig, len(plan.outcomes), 34, 240, (-0.6, len(visits) - 0.4), ylims)
    for panel, o in zip(panels, plan.outcomes, strict=True):
        panel.axes(
            xticks=[(i, plan.visit_label(v)) for i, v in enumerate(visits)],
            ylabel=f"Mean change, {o.label} points ({conf} CI)",
            title=[(o.label, INK)],
        )
        panel.hline(0)
        for i, (code, _) in enumerate(plan.cohorts):
            colour = COLOURS[i % len(COLOURS)]
            for r in rows[o.scale]:
                if r["cohort"] != code or r["mean_change"] is None or r["visit"] not in visits:
                    continue
                x = visits.index(r["visit"]) + (i - (len(plan.cohorts) - 1) / 2) * width
                panel.error_bar(x, r["mean_change"], r["ci_low"], r["ci_high"], colour)
                fig.text(panel.x(x), panel.y(r["ci_low"]) + 10, f"n={r['n']}", size=10, colour=colour)
    fig.legend([("point", COLOURS[i % len(COLOURS)], label) for i, (_, label) in enumerate(plan.cohorts)], 312)
    return fig.svg()


def _polylines(columns: dict) -> dict[tuple[int, str], list[tuple[list, list]]]:
    """Per (cohort, scale), one (days, scores) polyline per drawn subject (the columns are
    sorted by outcome, cohort, record, visit)."""
    out: dict[tuple[int, str], list[tuple[list, list]]] = {}
    last = None
    for rid, code, scale, day, score in zip(
        *(columns[c] for c in ("record_id", "cohort", "scale", "day", "score")), strict=True
    ):
        if (rid, code, scale) != last:
            out.setdefault((code, scale), []).append(([], []))
            last = (rid, code, scale)
        out[(code, scale)][-1][0].append(day)
        out[(code, scale)][-1][1].append(score)
    return out


def trajectory_caption(trajectories: dict, plan: AnalysisPlan) -> str:
    """Which subjects the trajectory figure draws as thin lines, per cohort."""
    limit = trajectories["max_trajectories"]
    counts = {s["cohort"]: (s["drawn"], s["subjects"]) for s in trajectories["sample"]}
    parts = []
    for code, label in plan.cohorts:
        drawn, total = counts.get(code, (0, 0))
        parts.append(
            f"{label}: all {total} subjects" if drawn == total else f"{label}: {drawn} of {total} subjects"
        )
    sampled = any(d < t for d, t in counts.values())
    how = (
        f"Thin lines: every subject of a cohort of up to {limit} subjects, else a random "
        f"sample of {limit} (seed {trajectories['seed']}; [report] max_trajectories in the plan)"
        if sampled
        else f"Thin lines: every subject (cohorts of up to {limit} are drawn in full)"
    )
    return f"{how}: {'; '.join(parts)}."


def plot_trajectories(results: dict, plan: AnalysisPlan) -> tuple[Markup, str]:
    """Trajectories: a row of panels per cohort, a column per outcome (shared y-axis per
    outcome); bands of the 10-90% and 25-75% quantiles and the mean in bold over every
    subject, and a thin line per drawn subject (``results.json`` ``trajectories``: at most
    ``[report] max_trajectories`` per cohort), so the cost does not grow with the cohort.

    Returns the figure and its caption's sentence on the subjects drawn (:func:`trajectory_caption`).
    """
    trajectories = results["trajectories"]
    lines = _polylines(trajectories)
    panels = {(p["cohort"], p["scale"]): p for p in trajectories["panels"]}
    visits = [plan.baseline_visit, *plan.followup_visits]
    days = dict(plan.visit_days)
    ticks = [days.get(v, i) for i, v in enumerate(visits)]
    pad = 0.06 * (max(ticks) - min(ticks) or 1)
    row_height = 236
    fig = Figure(
        PANEL_SLOT * len(plan.outcomes) + 10,
        row_height * len(plan.cohorts) + 64,
        "Individual trajectories of each outcome total by visit",
    )
    ylims = []
    for o in plan.outcomes:  # the shared y-axis of an outcome covers every subject's totals
        bands = [b for b in trajectories["bands"] if b["scale"] == o.scale]
        drawn = [y for (_, scale), polylines in lines.items() if scale == o.scale for _, ys in polylines for y in ys]
        ylims.append(_limits([b["q10"] for b in bands] + [b["q90"] for b in bands] + drawn))
    xlim = (min(ticks) - pad, max(ticks) + pad)
    for row, (code, label) in enumerate(plan.cohorts):
        colour = COLOURS[row % len(COLOURS)]
        row_panels = _panel_row(fig, len(plan.outcomes), 44 + row * row_height, 160, xlim, ylims)
        for panel, o in zip(row_panels, plan.outcomes, strict=True):
            counts = panels.get((code, o.scale), {"subjects": 0, "drawn": 0})
            n, n_shown = counts["subjects"], counts["drawn"]
            panel.axes(
                xticks=[(t, plan.visit_label(v)) for t, v in zip(ticks, visits, strict=True)],
                ylabel="Total score, points",
                title=[
                    (f"{o.label}: {label}", colour),
                    (f"(n = {n}" + ("" if n_shown == n else f", {n_shown} drawn") + ")", colour),
                ],
            )
            band = [b for b in trajectories["bands"] if b["cohort"] == code and b["scale"] == o.scale]
            day = [b["day"] for b in band]
            opacity = 0.35 if n_shown <= 50 else max(0.08, 15 / n_shown)
            panel.lines(lines.get((code, o.scale), []), colour, 0.7, opacity)
            panel.band(day, [b["q10"] for b in band], [b["q90"] for b in band], colour, 0.15)
            panel.band(day, [b["q25"] for b in band], [b["q75"] for b in band], colour, 0.25)
            panel.line(day, [b["mean"] for b in band], "black", 2.2)
            panel.points(day, [b["mean"] for b in band], "black", 3)
    sampled = any(s["drawn"] < s["subjects"] for s in trajectories["sample"])
    one = "one subject" + (f" (random sample of {trajectories['max_trajectories']} per cohort)" if sampled else "")
    fig.legend(
        [
            ("thin", "grey", one),
            ("band", "grey", "25-75% of subjects"),
            ("light-band", "grey", "10-90% of subjects"),
            ("line-point", "black", "mean of the totals at each visit"),
        ],
        fig.height - 54,
    )
    return fig.svg(), trajectory_caption(trajectories, plan)


def km_curve_data(results: dict, code: int) -> list[tuple[float, float, float | None, float | None]]:
    """The step curve of one cohort: (day, survival, ci_low, ci_high), starting at (0, 1)."""
    rows = [r for r in results["relapse"]["km"] if r["cohort"] == code]
    return [(0.0, 1.0, 1.0, 1.0)] + [(r["day"], r["survival"], r["ci_low"], r["ci_high"]) for r in rows]


def plot_km(results: dict, plan: AnalysisPlan) -> Markup:
    """Kaplan–Meier curves with CI bands and censoring marks, the 0.5 line the medians are
    read at, and the numbers at risk under the x-axis at its tick days."""
    import numpy as np

    rel = results["relapse"]
    conf = f"{plan.confidence * 100:g}%"
    n_cohorts = len(plan.cohorts)
    subjects = rel["subjects"]
    cohort_of = np.array([s["cohort"] for s in subjects], dtype=float)
    days_of = np.array([s["days"] for s in subjects], dtype=float)
    event_of = np.array([bool(s["event"]) for s in subjects], dtype=bool)
    horizon = max(float(days_of.max()) if len(days_of) else 0.0, 1.0)
    left = max([text_width("Number at risk", bold=True)] + [text_width(label) for _, label in plan.cohorts]) + 44
    top, height = 14, 330
    table_top = top + height + 52
    fig = Figure(
        900,
        table_top + 20 * (n_cohorts + 1) + 56,
        "Kaplan–Meier curves of relapse-free survival by cohort with numbers at risk",
    )
    ax = Panel(fig, left, top, fig.width - left - 24, height, (0, horizon * 1.02), (0, 1.02))
    days = sorted({r["day"] for r in rel["at_risk"]})
    pop = rel.get("population") or {}
    onset = {"responders": "response", "remitters": "remission"}.get(pop.get("at_risk", "all"))
    from_onset = onset is not None and pop.get("origin") == "onset"
    ax.axes(
        xticks=[(d, tick_text(d)) for d in days] if days else [(t, tick_text(t)) for t in nice_ticks(0, horizon)],
        yticks=[0, 0.2, 0.4, 0.6, 0.8, 1.0],
        xlabel=f"Days since the onset of {onset}" if from_onset else "Days since day 0 (index date)",
        ylabel="Proportion relapse-free",
    )
    ax.hline(0.5, "grey", "2 3", 0.8)
    legend = []
    for i, (code, label) in enumerate(plan.cohorts):
        colour = COLOURS[i % len(COLOURS)]
        curve = km_curve_data(results, code)
        mine = cohort_of == code
        n_subjects, events = int(mine.sum()), int(event_of[mine].sum())
        if not n_subjects:
            continue
        xs, ys, lo, hi = _steps(curve, horizon)
        ax.band(xs, lo, hi, colour, 0.12)
        ax.line(xs, ys, colour, 1.8)
        # one mark per distinct censoring day (not per subject), on the step curve
        censored = np.unique(days_of[mine & ~event_of])
        step_days, step_surv = np.array([c[0] for c in curve]), np.array([c[1] for c in curve])
        ax.ticks_at(
            censored.tolist(), step_surv[np.searchsorted(step_days, censored, side="right") - 1].tolist(), colour
        )
        legend.append(("line", colour, f"{label} (n = {n_subjects}, {events} relapses)"))
    fig.text(left - 30, table_top, "Number at risk", size=12, anchor="end", bold=True)
    for i, (code, label) in enumerate(plan.cohorts):
        colour = COLOURS[i % len(COLOURS)]
        y = table_top + 20 * (i + 1)
        fig.text(left - 30, y, label, size=12, anchor="end", colour=colour)
        for r in rel["at_risk"]:
            if r["cohort"] == code:
                fig.text(ax.x(r["day"]), y, str(r["at_risk"]), size=12, colour=colour)
    legend += [
        ("light-band", "grey", f"{conf} CI (log-log, pointwise)"),
        ("tick", INK, "censored"),
        ("dotted", "grey", "0.5: the median is where a curve crosses it"),
    ]
    fig.legend(legend, table_top + 20 * (n_cohorts + 1) + 6)
    return fig.svg()


def _steps(curve, horizon: float) -> tuple[list, list, list, list]:
    """The corners of a right-continuous step curve (and its CI) up to ``horizon``."""
    xs, ys, lo, hi = [], [], [], []
    for j, (day, surv, low, high) in enumerate(curve):
        end = curve[j + 1][0] if j + 1 < len(curve) else horizon
        low = 0.0 if low is None else low
        high = 0.0 if high is None else high
        xs += [day, end]
        ys += [surv, surv]
        lo += [low, low]
        hi += [high, high]
    return xs, ys, lo, hi
