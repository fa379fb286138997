"""One time-to-event analysis by cohort: Kaplan–Meier with CI, median with CI, numbers at
risk, log-rank, Cox (unadjusted and, if the plan asks, adjusted for the baseline total).

Used for time to relapse and time to response / remission; each returns the same
``results.json`` keys (``km``, ``median_days``, ``median_ci``, ``at_risk``, ``logrank``,
``cox``, ``cox_adjusted``). The fits are those of :mod:`registry.analysis.relapse` (pinned to
R ``survfit``, ``survdiff``, ``coxph``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry.analysis.plan import AnalysisPlan

if TYPE_CHECKING:
    import pandas as pd

AT_RISK_STEP_DAYS = 28
KM_KEYS = ["cohort", "day", "at_risk", "events", "survival", "ci_low", "ci_high"]
SUBJECT_KEYS = ["record_id", "cohort", "days", "event"]


def baseline_covariate(onset: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """``record_id`` and the baseline total of the relapse scale, named ``baseline <scale>``."""
    name = f"baseline {plan.relapse.scale}"
    return onset[["record_id", "baseline"]].rename(columns={"baseline": name})


def summarise(
    times: pd.DataFrame,
    plan: AnalysisPlan,
    covariates: pd.DataFrame | None = None,
    baseline: pd.DataFrame | None = None,
) -> dict:
    """Fit every summary of ``times`` (``record_id``, ``cohort``, ``days``, ``event``).

    ``covariates`` (``record_id`` + columns) go into ``cox``; ``baseline`` (from
    :func:`baseline_covariate`) is added to them for ``cox_adjusted`` when the plan's
    ``[cox] adjust_baseline`` is true (else ``cox_adjusted`` is None).
    """
    from registry.analysis import relapse
    from registry.analysis.results import records

    cohorts = [code for code, _ in plan.cohorts]
    km = relapse.fit_km(times, plan.confidence)
    horizon = float(times["days"].max()) if len(times) else 0.0
    days = [float(d) for d in range(0, int(horizon) + 1, AT_RISK_STEP_DAYS)]
    compare, reference = plan.cox_compare, plan.cox_reference
    adjusted = None
    if plan.cox_adjust_baseline and baseline is not None:
        both = baseline if covariates is None else covariates.merge(baseline, on="record_id", how="outer")
        adjusted = relapse.fit_cox(times, compare, reference, both, plan.confidence)
    return {
        "km": records(km, KM_KEYS),
        "median_days": relapse.compute_medians(times, km, cohorts),
        "median_ci": relapse.compute_median_cis(km, cohorts),
        "at_risk": records(relapse.compute_at_risk(times, days, cohorts), ["cohort", "day", "at_risk"]),
        "logrank": relapse.fit_logrank(times, compare, reference),
        "cox": relapse.fit_cox(times, compare, reference, covariates, plan.confidence),
        "cox_adjusted": adjusted,
    }
