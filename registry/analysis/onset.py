"""Onset of response and of remission, who is at risk of relapse, and time to response.

Onset (``sql/onset.sql``): the first assessment of the relapse scale after day 0 (session
and visit ratings together, one assessment per day rated by the first-listed source, as
the relapse rule reads them) at least ``[response] min_reduction_percent`` below the
subject's baseline total (response), or meeting the scale's remission comparison
(remission).

At risk of relapse (``sql/relapse_population.sql``): by the plan's ``[relapse] at_risk``
(``responders``, ``remitters`` or ``all``); time from ``origin`` (``onset`` or ``day0``).

Time to response (or remission) from day 0: the onset day is the event; censored at the
last assessment after day 0; subjects with no baseline total or no assessment after day 0
are left out and counted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry.analysis.plan import AnalysisPlan
from registry.analysis.stage import materialize

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

KINDS = {"response": "response_day", "remission": "remission_day"}


def derive_onset(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan) -> pd.DataFrame:
    """Build ``_onset`` (needs ``_subjects``): one row per analysed subject.

    Returns
    -------
    pandas.DataFrame
        ``record_id``, ``cohort``, ``baseline`` (relapse-scale total at the baseline visit),
        ``response_day``, ``remission_day`` (study days, NaN if never), ``last_assessment_day``
        (last assessment after day 0), ``assessments`` (after day 0).
    """
    scale = next(o for o in plan.outcomes if o.scale == plan.relapse.scale)
    materialize(
        con,
        "onset",
        {
            "baseline": plan.baseline_visit,
            "scale": scale.scale,
            "origin_day": plan.relapse.origin_day,
            "min_reduction_percent": plan.response_min_reduction_percent,
            "rem_comparison": scale.remission_comparison,
            "rem_threshold": scale.remission_threshold,
        },
    )
    return con.execute("select * from _onset order by cohort, record_id").df()


def derive_relapse_population(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan) -> pd.DataFrame:
    """Build ``_relapse_population`` (needs ``_onset``): who is at risk of relapse and from when.

    Returns
    -------
    pandas.DataFrame
        ``record_id``, ``cohort``, ``onset_day`` (null for ``at_risk = "all"``), ``at_risk``
        (bool), ``not_at_risk_reason`` (``no baseline`` | ``no onset`` | None), ``start``
        (events count strictly after it), ``origin`` (time zero).
    """
    materialize(
        con,
        "relapse_population",
        {"at_risk": plan.relapse.at_risk, "origin": plan.relapse.origin, "origin_day": plan.relapse.origin_day},
    )
    return con.execute("select * from _relapse_population order by cohort, record_id").df()


def population_summary(population: pd.DataFrame, plan: AnalysisPlan) -> dict:
    """``relapse.population`` of ``results.json``: ``at_risk``, ``origin``, ``not_at_risk``
    (subjects not at risk per cohort code) and ``not_at_risk_reasons`` (per cohort: reason -> n)."""
    codes = [code for code, _ in plan.cohorts]
    out_of = population[~population["at_risk"].astype(bool)]
    reasons = {
        str(c): {
            str(r): int(n)
            for r, n in out_of[out_of["cohort"] == c]["not_at_risk_reason"].value_counts().sort_index().items()
        }
        for c in codes
    }
    return {
        "at_risk": plan.relapse.at_risk,
        "origin": plan.relapse.origin,
        "not_at_risk": {str(c): int((out_of["cohort"] == c).sum()) for c in codes},
        "not_at_risk_reasons": reasons,
    }


def time_to_onset(onset: pd.DataFrame, kind: str, origin_day: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Time from day 0 to onset of response (``kind = "response"``) or remission.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The analysed subjects (``record_id``, ``cohort``, ``days``, ``event``, ``onset_day``)
        and those left out (``record_id``, ``cohort``, ``reason``: ``no baseline`` or
        ``no assessment after day 0``).
    """
    column = KINDS[kind]
    no_baseline = onset["baseline"].isna()
    no_assessment = ~no_baseline & (onset["assessments"] == 0)
    left = onset[no_baseline | no_assessment][["record_id", "cohort"]].assign(
        reason=["no baseline" if b else "no assessment after day 0" for b in no_baseline[no_baseline | no_assessment]]
    )
    kept = onset[~(no_baseline | no_assessment)]
    event = kept[column].notna()
    end = kept[column].where(event, kept["last_assessment_day"])
    subjects = kept[["record_id", "cohort"]].assign(
        days=(end - origin_day).astype(float), event=event.to_numpy(), onset_day=kept[column]
    )
    return subjects.reset_index(drop=True), left.reset_index(drop=True)


def left_out_summary(left: pd.DataFrame, plan: AnalysisPlan) -> dict:
    """Per cohort code: reason -> subjects left out (for ``time_to_response.left_out``)."""
    return {
        str(c): {str(r): int(n) for r, n in left[left["cohort"] == c]["reason"].value_counts().sort_index().items()}
        for c, _ in plan.cohorts
    }
