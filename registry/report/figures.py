"""Report figures as base64 PNG (matplotlib, Agg backend), and the numbers behind them.

Each ``plot_*`` function draws from a tidy frame or from ``results.json`` rows and returns
PNG bytes encoded as base64 text for a ``data:`` URI; the ``*_data`` functions return
the plotted numbers so tests can compare them instead of image bytes.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

from registry.analysis.plan import AnalysisPlan

if TYPE_CHECKING:
    import pandas as pd

COLOURS = ["#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#66462c"]
LABEL_X = -0.045  # cohort labels of the numbers-at-risk table, in axes fractions left of day 0


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)  # every figure is laid out by tight_layout already
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_mean_change(results: dict, plan: AnalysisPlan) -> str:
    """Mean change from baseline with CI, one panel per outcome, visits on x, cohorts side by
    side, each point labelled with its n of complete pairs; the legend sits under the panels."""
    from matplotlib.lines import Line2D

    plt = _pyplot()
    conf = f"{plan.confidence * 100:g}%"
    fig, axes = plt.subplots(1, len(plan.outcomes), figsize=(3.6 * len(plan.outcomes), 3.6), squeeze=False)
    width = 0.6 / max(len(plan.cohorts), 1)
    for ax, o in zip(axes[0], plan.outcomes, strict=True):
        for i, (code, _) in enumerate(plan.cohorts):
            colour = COLOURS[i % len(COLOURS)]
            rows = [r for r in results["paired"] if r["scale"] == o.scale and r["cohort"] == code]
            for r in rows:
                if r["mean_change"] is None or r["ci_low"] is None:
                    continue
                x = plan.followup_visits.index(r["visit"]) + (i - (len(plan.cohorts) - 1) / 2) * width
                y = r["mean_change"]
                ax.errorbar([x], [y], yerr=[[y - r["ci_low"]], [r["ci_high"] - y]], fmt="o", capsize=3, color=colour)
                ax.annotate(
                    f"n={r['n']}",
                    (x, r["ci_low"]),
                    xytext=(0, -3),
                    textcoords="offset points",
                    ha="center",
                    va="top",
                    fontsize=7,
                    color=colour,
                )
        ax.axhline(0, color="grey", lw=0.8, ls="--")
        ax.set_xticks(range(len(plan.followup_visits)), [plan.visit_label(v) for v in plan.followup_visits])
        ax.set_xlim(-0.6, len(plan.followup_visits) - 0.4)
        low, high = ax.get_ylim()
        ax.set_ylim(low - 0.08 * (high - low), high)  # room for the n labels
        ax.set_title(o.label)
        ax.set_ylabel(f"Mean change, {o.label} points ({conf} CI)", fontsize=9)
    handles = [
        Line2D([], [], color=COLOURS[i % len(COLOURS)], marker="o", ls="", label=label)
        for i, (_, label) in enumerate(plan.cohorts)
    ]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return _png(fig)


def trajectory_frame(results: dict) -> pd.DataFrame:
    """The subjects' totals by visit from ``results.json``'s column-wise ``trajectories``."""
    import pandas as pd

    columns = results["trajectories"]
    return pd.DataFrame({c: columns[c] for c in ("record_id", "cohort", "scale", "visit", "day", "score")})


def _polylines(data: pd.DataFrame) -> list:
    """One (day, score) array per record; ``data`` is sorted by record, then visit."""
    import numpy as np

    ids = data["record_id"].to_numpy()
    cuts = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    return np.split(data[["day", "score"]].to_numpy(float), cuts) if len(ids) else []


QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
SAMPLE_SEED = 20240601  # the seeded sample of subjects drawn individually (said in the caption)


def trajectory_means(data: pd.DataFrame) -> pd.DataFrame:
    """Mean and quantiles of the totals per cohort, outcome and visit over the subjects with
    that total (the bold line and the bands of each trajectory panel).

    Parameters
    ----------
    data : pandas.DataFrame
        As from :func:`trajectory_frame`.

    Returns
    -------
    pandas.DataFrame
        ``cohort``, ``scale``, ``visit``, ``day``, ``n``, ``mean``, ``q10``, ``q25``,
        ``q50``, ``q75``, ``q90`` (linear interpolation, as ``numpy.quantile``).
    """
    keys = ["cohort", "scale", "visit", "day"]
    grouped = data.groupby(keys, sort=False)["score"]
    out = grouped.agg(n="count", mean="mean")
    quant = grouped.quantile(list(QUANTILES)).unstack()
    quant.columns = [f"q{round(q * 100)}" for q in QUANTILES]
    out = out.join(quant).reset_index()
    return out.sort_values(["cohort", "scale", "day"], kind="stable").reset_index(drop=True)


def trajectory_sample(data: pd.DataFrame, limit: int, seed: int = SAMPLE_SEED) -> tuple[pd.DataFrame, dict]:
    """The subjects drawn as individual lines: all of a cohort when it has at most ``limit``
    subjects, else a seeded random sample of ``limit`` of them (the same subjects in every
    outcome's panel).

    Returns
    -------
    (pandas.DataFrame, dict)
        The rows of the drawn subjects (sorted as ``data``) and, per cohort code,
        ``(drawn, total)`` subject counts.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    keep, counts = [], {}
    for code, ids in data.groupby("cohort", sort=True)["record_id"]:
        unique = np.sort(ids.unique())
        chosen = unique if len(unique) <= limit else rng.choice(unique, size=limit, replace=False)
        keep.append(chosen)
        counts[int(code)] = (len(chosen), len(unique))
    chosen_ids = np.concatenate(keep) if keep else np.array([], dtype=object)
    return data[data["record_id"].isin(chosen_ids)], counts


def trajectory_caption(results: dict, plan: AnalysisPlan) -> str:
    """Which subjects the trajectory figure draws as thin lines, per cohort."""
    _, counts = trajectory_sample(trajectory_frame(results), plan.max_trajectories)
    parts = []
    for code, label in plan.cohorts:
        drawn, total = counts.get(code, (0, 0))
        parts.append(
            f"{label}: all {total} subjects" if drawn == total else f"{label}: {drawn} of {total} subjects"
        )
    sampled = any(d < t for d, t in counts.values())
    how = (
        f"Thin lines: every subject of a cohort of up to {plan.max_trajectories} subjects, else a random "
        f"sample of {plan.max_trajectories} (seed {SAMPLE_SEED}; [report] max_trajectories in the plan)"
        if sampled
        else f"Thin lines: every subject (cohorts of up to {plan.max_trajectories} are drawn in full)"
    )
    return f"{how}: {'; '.join(parts)}."


def plot_trajectories(results: dict, plan: AnalysisPlan) -> str:
    """Trajectories: a row of panels per cohort, a column per outcome (shared y-axis per
    outcome); bands of the 10-90% and 25-75% quantiles and the mean in bold over every
    subject, and a thin line per subject for at most ``plan.max_trajectories`` subjects per
    cohort (a seeded sample beyond that), so the cost does not grow with the cohort."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    plt = _pyplot()
    data = trajectory_frame(results)
    means = trajectory_means(data)
    drawn, counts = trajectory_sample(data, plan.max_trajectories)
    n_rows, n_cols = len(plan.cohorts), len(plan.outcomes)
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(3.6 * n_cols, 2.7 * n_rows + 0.5), squeeze=False, sharey="col", sharex=True
    )
    visits = [plan.baseline_visit, *plan.followup_visits]
    days = dict(plan.visit_days)
    ticks = [days.get(v, i) for i, v in enumerate(visits)]
    pad = 0.06 * (max(ticks) - min(ticks) or 1)
    for col, o in enumerate(plan.outcomes):
        sub = data[data["scale"] == o.scale]
        lines = drawn[drawn["scale"] == o.scale]
        for row, (code, label) in enumerate(plan.cohorts):
            ax = axes[row][col]
            colour = COLOURS[row % len(COLOURS)]
            shown = lines[lines["cohort"] == code]
            n_shown = shown["record_id"].nunique()
            alpha = 0.35 if n_shown <= 50 else max(0.08, 15 / n_shown)
            ax.add_collection(LineCollection(_polylines(shown), colors=colour, linewidths=0.6, alpha=alpha))
            band = means[(means["cohort"] == code) & (means["scale"] == o.scale)]
            ax.fill_between(band["day"], band["q10"], band["q90"], color=colour, alpha=0.15, lw=0, zorder=2)
            ax.fill_between(band["day"], band["q25"], band["q75"], color=colour, alpha=0.25, lw=0, zorder=2)
            ax.plot(band["day"], band["mean"], color="black", lw=2.2, marker="o", ms=4, zorder=3)
            ax.set_xticks(ticks, [plan.visit_label(v) for v in visits], fontsize=8)
            ax.set_xlim(min(ticks) - pad, max(ticks) + pad)
            n = sub.loc[sub["cohort"] == code, "record_id"].nunique()
            shown_text = "" if n_shown == n else f", {n_shown} drawn"
            ax.set_title(f"{o.label}: {label}\n(n = {n}{shown_text})", fontsize=9, color=colour)
            if col == 0:
                ax.set_ylabel("Total score, points", fontsize=9)
        if len(sub):
            lo, hi = sub["score"].min(), sub["score"].max()
            axes[0][col].set_ylim(lo - 0.05 * (hi - lo or 1), hi + 0.05 * (hi - lo or 1))
    sampled = any(d < t for d, t in counts.values())
    handles = [
        Line2D(
            [],
            [],
            color="grey",
            lw=0.8,
            label="one subject" + (f" (random sample of {plan.max_trajectories} per cohort)" if sampled else ""),
        ),
        Patch(color="grey", alpha=0.4, label="25-75% of subjects"),
        Patch(color="grey", alpha=0.15, label="10-90% of subjects"),
        Line2D([], [], color="black", lw=2.2, marker="o", ms=4, label="mean of the totals at each visit"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return _png(fig)


def km_curve_data(results: dict, code: int) -> list[tuple[float, float, float | None, float | None]]:
    """The step curve of one cohort: (day, survival, ci_low, ci_high), starting at (0, 1)."""
    rows = [r for r in results["relapse"]["km"] if r["cohort"] == code]
    return [(0.0, 1.0, 1.0, 1.0)] + [(r["day"], r["survival"], r["ci_low"], r["ci_high"]) for r in rows]


def plot_km(results: dict, plan: AnalysisPlan) -> str:
    """Kaplan–Meier curves with CI bands and censoring marks, the 0.5 line the medians are
    read at, and the numbers at risk under the x-axis at its tick days."""
    import numpy as np
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    plt = _pyplot()
    rel = results["relapse"]
    conf = f"{plan.confidence * 100:g}%"
    n_cohorts = len(plan.cohorts)
    fig, (ax, table_ax) = plt.subplots(
        2, 1, figsize=(9, 5.2 + 0.3 * n_cohorts), gridspec_kw={"height_ratios": [5, 0.5 + 0.45 * n_cohorts]}
    )
    subjects = rel["subjects"]
    cohort_of = np.array([s["cohort"] for s in subjects], dtype=float)
    days_of = np.array([s["days"] for s in subjects], dtype=float)
    event_of = np.array([bool(s["event"]) for s in subjects], dtype=bool)
    horizon = max(float(days_of.max()) if len(days_of) else 0.0, 1.0)
    handles = []
    for i, (code, label) in enumerate(plan.cohorts):
        colour = COLOURS[i % len(COLOURS)]
        curve = km_curve_data(results, code)
        mine = cohort_of == code
        n_subjects, events = int(mine.sum()), int(event_of[mine].sum())
        if not n_subjects:
            continue
        xs = [c[0] for c in curve] + [horizon]
        ys = [c[1] for c in curve] + [curve[-1][1]]
        ax.step(xs, ys, where="post", color=colour, lw=1.8)
        lo = [c[2] if c[2] is not None else 0.0 for c in curve]
        hi = [c[3] if c[3] is not None else 0.0 for c in curve]
        ax.fill_between(xs, lo + [lo[-1]], hi + [hi[-1]], step="post", color=colour, alpha=0.12, lw=0)
        # one mark per distinct censoring day (not per subject), on the step curve
        censored = np.unique(days_of[mine & ~event_of])
        steps = np.array([c[0] for c in curve]), np.array([c[1] for c in curve])
        at = steps[1][np.searchsorted(steps[0], censored, side="right") - 1]
        ax.plot(censored, at, "|", color=colour, ms=8, mew=1.2)
        handles.append(Line2D([], [], color=colour, lw=1.8, label=f"{label} (n = {n_subjects}, {events} relapses)"))
    ax.axhline(0.5, color="grey", lw=0.7, ls=":")
    handles += [
        Patch(color="grey", alpha=0.25, label=f"{conf} CI (log-log, pointwise)"),
        Line2D([], [], color="black", marker="|", ls="", ms=8, mew=1.2, label="censored"),
        Line2D([], [], color="grey", lw=0.7, ls=":", label="0.5: the median is where a curve crosses it"),
    ]
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, horizon * 1.02)
    ax.set_ylabel("Proportion relapse-free")
    pop = rel.get("population") or {}
    onset = {"responders": "response", "remitters": "remission"}.get(pop.get("at_risk", "all"))
    from_onset = onset is not None and pop.get("origin") == "onset"
    ax.set_xlabel(f"Days since the onset of {onset}" if from_onset else "Days since day 0 (index date)")
    ax.legend(handles=handles, fontsize=8, loc="upper right", framealpha=0.9)
    ax.grid(axis="y", color="#eee")
    days = sorted({r["day"] for r in rel["at_risk"]})
    if days:
        ax.set_xticks(days)
    table_ax.axis("off")
    table_ax.set_xlim(ax.get_xlim())
    table_ax.set_ylim(-0.6, n_cohorts + 0.2)
    table_ax.text(
        LABEL_X,
        n_cohorts,
        "Number at risk",
        fontsize=9,
        weight="bold",
        ha="right",
        transform=table_ax.get_yaxis_transform(),
    )
    for i, (code, label) in enumerate(plan.cohorts):
        colour = COLOURS[i % len(COLOURS)]
        y = n_cohorts - 1 - i
        table_ax.text(
            LABEL_X,
            y,
            label,
            ha="right",
            va="center",
            fontsize=9,
            color=colour,
            transform=table_ax.get_yaxis_transform(),
        )
        for r in rel["at_risk"]:
            if r["cohort"] == code:
                table_ax.text(r["day"], y, str(r["at_risk"]), ha="center", va="center", fontsize=9, color=colour)
    fig.tight_layout()
    return _png(fig)
