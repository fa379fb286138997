"""The analysis population and the flow of counts.

Examples
--------
>>> con = open_registry("registry.duckdb")            # doctest: +SKIP
>>> stage_plan_data(con, plan); derive_subjects(con, plan)  # doctest: +SKIP
>>> compute_flow(con, plan)                             # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry.analysis.plan import AnalysisPlan
from registry.analysis.stage import materialize, run_sql

if TYPE_CHECKING:
    import duckdb
    import pandas as pd


def derive_subjects(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan) -> pd.DataFrame:
    """Build the table ``_subjects``: one row per record with cohort and set membership.

    Needs the views staged by :func:`registry.analysis.stage.stage_plan_data`.

    Returns
    -------
    pandas.DataFrame
        ``record_id`` (str), ``cohort`` (REDCap code, nullable int), ``eligible`` (bool:
        every eligibility criterion met), ``included`` (bool: the plan's inclusion field
        says yes), ``analysed`` (bool: included and in one of the plan's cohorts).
    """
    materialize(
        con, "subjects", {"include_value": plan.include.value, "cohorts": [c for c, _ in plan.cohorts]}
    )
    return con.execute("select * from _subjects order by record_id").df()


def compute_flow(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan) -> pd.DataFrame:
    """Counts per cohort: records, eligible, included, and included with each follow-up visit.

    Returns
    -------
    pandas.DataFrame
        One row per cohort (the plan's cohorts in order; records with no cohort code as
        cohort ``None`` when there are any) with columns ``cohort``, ``records``,
        ``eligible``, ``included`` and ``with_<visit>`` for each follow-up visit: included
        subjects with a total on any plan outcome at that visit.
    """
    import pandas as pd

    long = run_sql(con, "flow", {"followup": list(plan.followup_visits)})
    steps = ["records", "eligible", "included"] + [f"with_{v}" for v in plan.followup_visits]
    codes = [code for code, _ in plan.cohorts]
    extra = [c for c in long["cohort"].dropna().unique().tolist() if c not in codes]
    rows = []
    for cohort in codes + sorted(int(c) for c in extra) + ([None] if long["cohort"].isna().any() else []):
        part = long[long["cohort"].isna()] if cohort is None else long[long["cohort"] == cohort]
        counts = dict(zip(part["step"], part["n"], strict=True))
        rows.append({"cohort": cohort, **{s: int(counts.get(s, 0)) for s in steps}})
    return pd.DataFrame(rows, columns=["cohort", *steps])
