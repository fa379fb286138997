"""Response and remission rates with exact (Clopper–Pearson) confidence intervals.

Response: a reduction from baseline of at least the plan's percentage (complete pairs with
baseline > 0). Remission: the follow-up total compared with the outcome's threshold using
the outcome's comparison operator (subjects with a follow-up total). Each subject's status
comes from ``sql/rate_status.sql`` (the one place both definitions live), counts from
``sql/rates.sql``; the interval is the beta-quantile (Clopper–Pearson) one, as R's
``binom.test``: lower = B(α/2; k, n−k+1) (0 if k = 0), upper = B(1−α/2; k+1, n−k)
(1 if k = n).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry.analysis.plan import AnalysisPlan
from registry.analysis.stage import materialize, run_sql

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

KINDS = ("response", "remission")


def derive_rate_status(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan) -> None:
    """Build ``_rate_status`` (needs ``_pairs``, see :mod:`paired`): one row per analysed
    subject x outcome x follow-up visit x kind whose status is known, with ``met`` (bool):
    ``cohort``, ``scale``, ``visit``, ``kind``, ``record_id``, ``met``; and
    ``_rate_out_of_window``: the same keys (no ``met``) for statuses unknown because a total
    was outside its visit window."""
    materialize(
        con,
        "rate_status",
        {
            "scales": [o.scale for o in plan.outcomes],
            "comparisons": [o.remission_comparison for o in plan.outcomes],
            "thresholds": [o.remission_threshold for o in plan.outcomes],
            "min_reduction_percent": plan.response_min_reduction_percent,
        },
    )
    materialize(con, "rate_out_of_window")


def count_rates(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan) -> pd.DataFrame:
    """Counts per cohort x outcome x visit x kind; needs ``_pairs`` (see :mod:`paired`) and
    builds ``_rate_status`` (:func:`derive_rate_status`).

    Every combination of the plan's cohorts, outcomes, follow-up visits and both kinds is
    present; one without subjects has ``count`` = ``n`` = 0.

    Returns
    -------
    pandas.DataFrame
        ``cohort``, ``scale``, ``visit``, ``kind`` (``response`` | ``remission``),
        ``count``, ``n``, ``n_out_of_window`` (status unknown: a total outside its window).
    """
    import pandas as pd

    derive_rate_status(con, plan)
    scales = [o.scale for o in plan.outcomes]
    counts = run_sql(con, "rates", {"scales": scales, "followup": list(plan.followup_visits)})
    grid = pd.DataFrame(
        [(c, s, v, k) for c, _ in plan.cohorts for s in scales for v in plan.followup_visits for k in KINDS],
        columns=["cohort", "scale", "visit", "kind"],
    )
    counts["cohort"] = counts["cohort"].astype("int64")
    out = grid.merge(counts, on=["cohort", "scale", "visit", "kind"], how="left")
    counted = ["count", "n", "n_out_of_window"]
    out[counted] = out[counted].fillna(0).astype("int64")
    return out


def compute_clopper_pearson(count: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval for a binomial proportion; NaNs when n = 0.

    Examples
    --------
    >>> [round(x, 4) for x in compute_clopper_pearson(5, 18)]
    [0.0969, 0.5348]
    """
    from scipy import stats

    if n == 0:
        return float("nan"), float("nan")
    a = 1 - confidence
    low = 0.0 if count == 0 else float(stats.beta.ppf(a / 2, count, n - count + 1))
    high = 1.0 if count == n else float(stats.beta.ppf(1 - a / 2, count + 1, n - count))
    return low, high


def compute_rates(counts: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Add ``rate`` (count / n; NaN when n = 0), ``ci_low`` and ``ci_high`` to counts.

    Parameters
    ----------
    counts : pandas.DataFrame
        With integer columns ``count`` and ``n`` (other columns are kept).
    confidence : float
        Confidence level of the exact interval.

    Returns
    -------
    pandas.DataFrame
        ``counts`` plus ``rate``, ``ci_low``, ``ci_high``.
    """
    out = counts.copy()
    cis = [
        compute_clopper_pearson(int(k), int(n), confidence)
        for k, n in zip(out["count"], out["n"], strict=True)
    ]
    out["rate"] = [k / n if n else float("nan") for k, n in zip(out["count"], out["n"], strict=True)]
    out["ci_low"] = [c[0] for c in cis]
    out["ci_high"] = [c[1] for c in cis]
    return out
