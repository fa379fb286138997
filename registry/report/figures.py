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


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_mean_change(results: dict, plan: AnalysisPlan) -> str:
    """Mean change from baseline with CI, one panel per outcome, visits on x, cohorts side by side."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(plan.outcomes), figsize=(3.3 * len(plan.outcomes), 3.2), squeeze=False)
    width = 0.6 / max(len(plan.cohorts), 1)
    for ax, o in zip(axes[0], plan.outcomes, strict=True):
        for i, (code, label) in enumerate(plan.cohorts):
            rows = [r for r in results["paired"] if r["scale"] == o.scale and r["cohort"] == code]
            xs, ys, lo, hi = [], [], [], []
            for r in rows:
                if r["mean_change"] is None or r["ci_low"] is None:
                    continue
                xs.append(plan.followup_visits.index(r["visit"]) + (i - (len(plan.cohorts) - 1) / 2) * width)
                ys.append(r["mean_change"])
                lo.append(r["mean_change"] - r["ci_low"])
                hi.append(r["ci_high"] - r["mean_change"])
            ax.errorbar(
                xs, ys, yerr=[lo, hi], fmt="o", capsize=3, color=COLOURS[i % len(COLOURS)], label=label
            )
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xticks(range(len(plan.followup_visits)), [plan.visit_label(v) for v in plan.followup_visits])
        ax.set_xlim(-0.6, len(plan.followup_visits) - 0.4)
        ax.set_title(o.label)
        ax.set_ylabel(
            f"Mean change from baseline ({plan.confidence * 100:g}% CI)" if ax is axes[0][0] else ""
        )
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return _png(fig)


def trajectory_data(pairs: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """Each included subject's totals by visit (baseline and follow-ups, available ones only).

    Returns
    -------
    pandas.DataFrame
        ``record_id``, ``cohort``, ``scale``, ``visit``, ``day`` (the visit's nominal day
        from the plan, else its position), ``score``.
    """
    import pandas as pd

    days = dict(plan.visit_days)
    visits = [plan.baseline_visit, *plan.followup_visits]
    nominal = {v: days.get(v, i) for i, v in enumerate(visits)}
    base = (
        pairs.dropna(subset=["baseline"])
        .drop_duplicates(["record_id", "scale"])
        .assign(visit=plan.baseline_visit, score=lambda d: d["baseline"])
    )
    follow = pairs.dropna(subset=["followup"]).assign(score=lambda d: d["followup"])
    cols = ["record_id", "cohort", "scale", "visit", "score"]
    out = pd.concat([base[cols], follow[cols]], ignore_index=True)
    out["day"] = out["visit"].map(nominal)
    out["_order"] = out["visit"].map({v: i for i, v in enumerate(visits)})
    out = out.sort_values(["scale", "cohort", "record_id", "_order"]).reset_index(drop=True)
    return out[["record_id", "cohort", "scale", "visit", "day", "score"]]


def _polylines(data: pd.DataFrame) -> list:
    """One (day, score) array per record; ``data`` is sorted by record, then visit."""
    import numpy as np

    ids = data["record_id"].to_numpy()
    cuts = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    return np.split(data[["day", "score"]].to_numpy(float), cuts) if len(ids) else []


def plot_trajectories(pairs: pd.DataFrame, plan: AnalysisPlan) -> str:
    """Individual trajectories: one panel per outcome, a line per subject coloured by cohort."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    plt = _pyplot()
    data = trajectory_data(pairs, plan)
    fig, axes = plt.subplots(1, len(plan.outcomes), figsize=(3.3 * len(plan.outcomes), 3.2), squeeze=False)
    visits = [plan.baseline_visit, *plan.followup_visits]
    days = dict(plan.visit_days)
    ticks = [days.get(v, i) for i, v in enumerate(visits)]
    for ax, o in zip(axes[0], plan.outcomes, strict=True):
        sub = data[data["scale"] == o.scale]
        n = sub["record_id"].nunique()
        alpha = 0.6 if n <= 50 else max(0.02, 30 / n)
        for i, (code, _) in enumerate(plan.cohorts):
            lines = _polylines(sub[sub["cohort"] == code])
            ax.add_collection(
                LineCollection(lines, colors=COLOURS[i % len(COLOURS)], linewidths=0.8, alpha=alpha)
            )
        ax.set_xticks(ticks, [plan.visit_label(v) for v in visits], fontsize=8)
        ax.set_xlim(
            min(ticks) - 0.05 * (max(ticks) - min(ticks) or 1),
            max(ticks) + 0.05 * (max(ticks) - min(ticks) or 1),
        )
        if len(sub):
            lo, hi = sub["score"].min(), sub["score"].max()
            ax.set_ylim(lo - 0.05 * (hi - lo or 1), hi + 0.05 * (hi - lo or 1))
        ax.set_title(f"{o.label} total")
    handles = [
        Line2D([], [], color=COLOURS[i % len(COLOURS)], label=lab) for i, (_, lab) in enumerate(plan.cohorts)
    ]
    axes[0][-1].legend(handles=handles, fontsize=7, loc="best")
    fig.tight_layout()
    return _png(fig)


def km_curve_data(results: dict, code: int) -> list[tuple[float, float, float | None, float | None]]:
    """The step curve of one cohort: (day, survival, ci_low, ci_high), starting at (0, 1)."""
    rows = [r for r in results["relapse"]["km"] if r["cohort"] == code]
    return [(0.0, 1.0, 1.0, 1.0)] + [(r["day"], r["survival"], r["ci_low"], r["ci_high"]) for r in rows]


def plot_km(results: dict, plan: AnalysisPlan) -> str:
    """Kaplan–Meier curves with CI bands and censoring marks, numbers at risk underneath."""
    plt = _pyplot()
    rel = results["relapse"]
    fig, (ax, table_ax) = plt.subplots(2, 1, figsize=(7.5, 5.2), gridspec_kw={"height_ratios": [4, 1]})
    horizon = max([s["days"] for s in rel["subjects"]] + [1])
    for i, (code, label) in enumerate(plan.cohorts):
        colour = COLOURS[i % len(COLOURS)]
        curve = km_curve_data(results, code)
        subs = [s for s in rel["subjects"] if s["cohort"] == code]
        if not subs:
            continue
        xs = [c[0] for c in curve] + [horizon]
        ys = [c[1] for c in curve] + [curve[-1][1]]
        ax.step(xs, ys, where="post", color=colour, label=f"{label} (n = {len(subs)})")
        lo = [c[2] if c[2] is not None else 0.0 for c in curve]
        hi = [c[3] if c[3] is not None else 0.0 for c in curve]
        ax.fill_between(xs, lo + [lo[-1]], hi + [hi[-1]], step="post", color=colour, alpha=0.15, lw=0)
        censored = [s["days"] for s in subs if not s["event"]]
        at = [next(c[1] for c in reversed(curve) if c[0] <= d) for d in censored]
        ax.plot(censored, at, "|", color=colour, ms=7)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, horizon * 1.02)
    ax.set_ylabel("Relapse-free (Kaplan–Meier)")
    ax.set_xlabel("Days since index (day 0)")
    ax.legend(fontsize=8, loc="lower left")
    days = sorted({r["day"] for r in rel["at_risk"]})
    table_ax.axis("off")
    table_ax.set_xlim(ax.get_xlim())
    table_ax.set_ylim(-0.5, len(plan.cohorts) + 0.3)
    table_ax.text(0, len(plan.cohorts), "Number at risk", fontsize=8, weight="bold")
    for i, (code, label) in enumerate(plan.cohorts):
        y = len(plan.cohorts) - 1 - i
        table_ax.text(
            -0.06,
            y,
            label,
            ha="right",
            fontsize=8,
            color=COLOURS[i % len(COLOURS)],
            transform=table_ax.get_yaxis_transform(),
        )
        for r in rel["at_risk"]:
            if r["cohort"] == code:
                table_ax.text(
                    r["day"], y, str(r["at_risk"]), ha="center", fontsize=8, color=COLOURS[i % len(COLOURS)]
                )
    if days:
        ax.set_xticks(days)
    fig.tight_layout()
    return _png(fig)
