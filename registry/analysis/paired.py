"""Paired change from baseline: t-test, 95% CI, Cohen's d_z, Hedges' g_z, multiplicity.

For each cohort x outcome x follow-up visit, over complete pairs (d = follow-up − baseline):
mean d̄ and SD s_d (n − 1), SE = s_d/√n, t = d̄/SE, df = n − 1, two-sided
p = 2·P(T_df ≥ |t|), CI d̄ ± t_{(1+conf)/2, df}·SE (as R ``t.test(y, x, paired = TRUE)``).
A one-sided p is given only for outcomes whose plan declares a direction:
P(T_df ≤ t) for "decrease", P(T_df ≥ t) for "increase". d_z = d̄/s_d (signed);
g_z = J·d_z with J = 1 − 3/(4·df − 1). The family's p-values (each test's prespecified p:
one-sided where declared, else two-sided) are adjusted by the plan's method (Holm by
default); tests without a p (n < 2 or s_d = 0) are not in the family. Where R's ``t.test``
refuses (s_d = 0: "data are essentially constant") the CI, t and p are NaN (null in
``results.json``); g_z is NaN at df = 1, where J = 0.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from registry.analysis.plan import AnalysisPlan
from registry.analysis.power import compute_n_for_power
from registry.analysis.stage import materialize, run_sql

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

FAMILY_KEYS = {"all": [], "per_cohort": ["cohort"], "per_outcome": ["scale"], "per_visit": ["visit"]}


def _params(plan: AnalysisPlan) -> dict:
    return {
        "baseline": plan.baseline_visit,
        "followup": list(plan.followup_visits),
        "scales": [o.scale for o in plan.outcomes],
    }


def _window_params(plan: AnalysisPlan) -> dict:
    return {
        "window_visits": [v for v, _, _ in plan.visit_windows],
        "window_first": [lo for _, lo, _ in plan.visit_windows],
        "window_last": [hi for _, _, hi in plan.visit_windows],
    }


def derive_pairs(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan) -> pd.DataFrame:
    """Build ``_pairs``: one row per included subject x outcome x follow-up visit.

    Returns
    -------
    pandas.DataFrame
        ``cohort``, ``scale``, ``visit``, ``record_id``, ``baseline``, ``followup``,
        ``change`` (follow-up − baseline), ``left_out`` (None for a complete pair, else
        ``out_of_window`` (a total outside its visit window, plan ``[visits.windows]``),
        ``missing_baseline``, ``missing_followup`` or ``missing_both``),
        ``baseline_out_of_window``, ``followup_out_of_window`` (bool). Out-of-window totals
        are not used: ``baseline``/``followup`` are null for them.
    """
    params = _params(plan)
    materialize(con, "pairs", {**params, **_window_params(plan)})
    return con.execute("select * from _pairs").df()


def summarise_pairs(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan) -> pd.DataFrame:
    """Per cohort x outcome x visit: n, pairs left out and why, means and SDs (``paired_summary.sql``).

    Every combination of the plan's cohorts, outcomes and follow-up visits has a row; one
    without subjects has n = 0 and NaN statistics.
    """
    import pandas as pd

    params = _params(plan)
    summary = run_sql(con, "paired_summary", {"scales": params["scales"], "followup": params["followup"]})
    grid = pd.DataFrame(
        [(c, s, v) for c, _ in plan.cohorts for s in params["scales"] for v in params["followup"]],
        columns=["cohort", "scale", "visit"],
    )
    summary["cohort"] = summary["cohort"].astype("int64")
    out = grid.merge(summary, on=["cohort", "scale", "visit"], how="left")
    counts = ["n_population", "n", "n_missing_baseline", "n_missing_followup", "n_missing_both", "n_out_of_window"]
    out[counts] = out[counts].fillna(0).astype("int64")
    return out


def compute_paired_t(
    n: int, mean_change: float, sd_change: float, confidence: float = 0.95, direction: str | None = None
) -> dict:
    """Paired t-test from summary statistics (NaN where undefined: n < 2, or SD 0 (R's
    ``t.test`` refuses "essentially constant" data: no CI, t or p), or Hedges' g at df = 1).

    Returns
    -------
    dict
        ``se``, ``ci_low``, ``ci_high``, ``t``, ``df``, ``p_two_sided``, ``p_one_sided``
        (NaN unless ``direction``), ``cohens_dz``, ``hedges_gz``.
    """
    from scipy import stats

    nan = float("nan")
    out = dict.fromkeys(
        ["se", "ci_low", "ci_high", "t", "p_two_sided", "p_one_sided", "cohens_dz", "hedges_gz"], nan
    )
    out["df"] = n - 1 if n >= 2 else nan
    if n < 2 or not np.isfinite(sd_change):
        return out
    df = n - 1
    se = sd_change / math.sqrt(n)
    out["se"] = se
    if sd_change == 0 or se < 10 * np.finfo(float).eps * abs(mean_change):
        return out  # R t.test: "data are essentially constant" (no t, p or CI)
    half = stats.t.ppf((1 + confidence) / 2, df) * se
    t = mean_change / se
    dz = mean_change / sd_change
    out.update(
        ci_low=mean_change - half,
        ci_high=mean_change + half,
        t=t,
        p_two_sided=float(2 * stats.t.sf(abs(t), df)),
        cohens_dz=dz,
        # J = 1 - 3/(4 df - 1) is 0 at df = 1 (the exact J is undefined there): no g
        hedges_gz=(1 - 3 / (4 * df - 1)) * dz if df >= 2 else nan,
    )
    if direction == "decrease":
        out["p_one_sided"] = float(stats.t.cdf(t, df))
    elif direction == "increase":
        out["p_one_sided"] = float(stats.t.sf(t, df))
    return out


def adjust_p(p: np.ndarray | list, method: str = "holm") -> np.ndarray:
    """Adjust a family of p-values: ``holm`` (step-down), ``bonferroni`` or ``none``.

    NaN entries stay NaN and do not count towards the family size (R ``p.adjust``).

    Examples
    --------
    >>> adjust_p([0.053, 0.02, 0.2]).round(3).tolist()
    [0.106, 0.06, 0.2]
    """
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if m == 0 or method == "none":
        out[ok] = p[ok]
        return out
    if method == "bonferroni":
        out[ok] = np.minimum(1, m * p[ok])
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    stepped = np.minimum(1, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(stepped)
    return out


def compute_paired(summary: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """Add the tests, effect sizes, adjusted p and the planning n to a paired summary.

    Parameters
    ----------
    summary : pandas.DataFrame
        As from :func:`summarise_pairs`: ``cohort``, ``scale``, ``visit``, ``n_population``,
        ``n``, ``n_missing_baseline``, ``n_missing_followup``, ``n_missing_both``,
        ``mean_baseline``, ``sd_baseline``, ``mean_followup``, ``sd_followup``,
        ``mean_change``, ``sd_change``.
    plan : AnalysisPlan
        Supplies the confidence level, sidedness per outcome, multiplicity method, family
        and the target power.

    Returns
    -------
    pandas.DataFrame
        ``summary``'s columns plus ``se``, ``ci_low``, ``ci_high``, ``t``, ``df``,
        ``p_two_sided``, ``sided``, ``direction``, ``p_one_sided`` (NaN unless declared),
        ``alpha`` (the test's: one-sided alpha where declared), ``p_tested`` (the p in the
        family), ``p_adjusted``, ``cohens_dz``, ``hedges_gz`` and ``n_for_power`` (pairs
        needed for the plan's target power at the observed d_z; a planning figure, not
        post-hoc power). Row order follows ``summary``.
    """
    frame = summary.reset_index(drop=True).copy()
    rows = []
    for r in frame.itertuples(index=False):
        o = plan.outcome(r.scale)
        res = compute_paired_t(
            int(r.n),
            float(r.mean_change) if r.n else np.nan,
            float(r.sd_change) if r.n >= 2 else np.nan,
            plan.confidence,
            o.direction,
        )
        res["sided"], res["direction"] = o.sided, o.direction
        res["alpha"] = o.one_sided_alpha if o.direction else plan.alpha
        res["p_tested"] = res["p_one_sided"] if o.direction else res["p_two_sided"]
        res["n_for_power"] = compute_n_for_power(
            res["cohens_dz"], res["alpha"], plan.power_target, o.direction
        )
        rows.append(res)
    import pandas as pd

    tests = pd.DataFrame(rows, index=frame.index)
    frame = pd.concat([frame, tests], axis=1)
    frame["p_adjusted"] = np.nan
    keys = FAMILY_KEYS[plan.family]
    groups = frame.groupby(keys, sort=False).groups.values() if keys else [frame.index]
    for idx in groups:
        frame.loc[idx, "p_adjusted"] = adjust_p(frame.loc[idx, "p_tested"].to_numpy(float), plan.multiplicity)
    frame["n_for_power"] = frame["n_for_power"].astype("Int64")
    return frame
