"""Paired rates: McNemar's test of response (or remission) at two visits in the same subjects.

The plan's ``[[mcnemar]]`` tables list the comparisons (scale, kind, visit A, visit B); each
is run in every cohort over the subjects whose status is known at both visits (response:
complete pairs with baseline > 0 at both; remission: a follow-up total at both). Statuses
come from ``_rate_status`` (:func:`registry.analysis.rates.derive_rate_status`), the 2x2
tables from ``sql/paired_rates.sql``. With b subjects meeting the definition at visit A
only and c at visit B only:

- McNemar's chi-square with continuity correction, as R ``mcnemar.test(table, correct = TRUE)``:
  (|b − c| − 1)² / (b + c), df = 1; R drops the correction when b = c (statistic 0, p = 1);
- the exact p, as R ``binom.test(b, b + c)`` (two-sided, probability 1/2), the exact
  McNemar test of ``exact2x2``;
- b + c = 0 (no discordant pair): no statistic, both p = 1; no subject with both: no p.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry.analysis.plan import AnalysisPlan
from registry.analysis.stage import run_sql

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

COLUMNS = ["cohort", "scale", "kind", "visit_a", "visit_b", "n", "count_a", "count_b", "b", "c", "n_out_of_window"]


def count_paired_rates(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan) -> pd.DataFrame:
    """The 2x2 table of each cohort x planned comparison; needs ``_rate_status``.

    Every cohort of the plan has a row for every comparison; one without subjects known at
    both visits has zeros.

    Returns
    -------
    pandas.DataFrame
        ``cohort``, ``scale``, ``kind``, ``visit_a``, ``visit_b``, ``n`` (subjects known at
        both visits), ``count_a``, ``count_b`` (met at A, at B), ``b`` (met at A only),
        ``c`` (met at B only), ``n_out_of_window`` (left out: a total at A or B outside its
        visit window).
    """
    import pandas as pd

    comps = plan.mcnemar
    if not comps:
        return pd.DataFrame(columns=COLUMNS)
    grid = pd.DataFrame(
        [(i, code, c.scale, c.kind, c.visit_a, c.visit_b) for code, _ in plan.cohorts for i, c in enumerate(comps, 1)],
        columns=["comparison", "cohort", "scale", "kind", "visit_a", "visit_b"],
    )
    counts = run_sql(
        con,
        "paired_rates",
        {
            "scales": [c.scale for c in comps],
            "kinds": [c.kind for c in comps],
            "visits_a": [c.visit_a for c in comps],
            "visits_b": [c.visit_b for c in comps],
        },
    )
    counts[["comparison", "cohort"]] = counts[["comparison", "cohort"]].astype("int64")
    out = grid.merge(counts, on=["comparison", "cohort"], how="left")
    numbers = ["n", "count_a", "count_b", "b", "c", "n_out_of_window"]
    out[numbers] = out[numbers].fillna(0).astype("int64")
    return out[COLUMNS]


def compute_mcnemar(b: int, c: int) -> dict:
    """McNemar's test on the discordant counts ``b`` and ``c``.

    Returns
    -------
    dict
        ``statistic`` (chi-square with continuity correction, NaN when b + c = 0), ``p``
        (its upper tail, 1 df; 1 when b + c = 0) and ``p_exact`` (two-sided binomial p of b
        in b + c at 1/2; 1 when b + c = 0).

    Examples
    --------
    >>> {k: round(v, 6) for k, v in compute_mcnemar(3, 9).items()}
    {'statistic': 2.083333, 'p': 0.148915, 'p_exact': 0.145996}
    """
    from scipy import stats

    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must not be negative (b = {b}, c = {c})")
    if b + c == 0:
        return {"statistic": float("nan"), "p": 1.0, "p_exact": 1.0}
    correction = 1 if b != c else 0  # R: YATES only when the table is not symmetric
    statistic = (abs(b - c) - correction) ** 2 / (b + c)
    return {
        "statistic": float(statistic),
        "p": float(stats.chi2.sf(statistic, 1)),
        "p_exact": float(stats.binomtest(b, b + c, 0.5).pvalue),
    }


def compute_paired_rates(counts: pd.DataFrame) -> pd.DataFrame:
    """Add both rates and McNemar's test to the 2x2 counts.

    Parameters
    ----------
    counts : pandas.DataFrame
        As from :func:`count_paired_rates` (other columns are kept).

    Returns
    -------
    pandas.DataFrame
        ``counts`` plus ``rate_a``, ``rate_b`` (count / n), ``statistic``, ``p``,
        ``p_exact``; NaN rates and p when n = 0.
    """
    out = counts.copy()
    nan = float("nan")
    tests = [
        compute_mcnemar(int(b), int(c)) if n else {"statistic": nan, "p": nan, "p_exact": nan}
        for n, b, c in zip(out["n"], out["b"], out["c"], strict=True)
    ]
    for key in ("count_a", "count_b"):
        out[f"rate_{key[-1]}"] = [k / n if n else nan for k, n in zip(out[key], out["n"], strict=True)]
    for key in ("statistic", "p", "p_exact"):
        out[key] = [t[key] for t in tests]
    out["statistic"] = out["statistic"].astype(float)
    return out
