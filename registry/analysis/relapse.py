"""Time to relapse: derivation (DuckDB SQL) and Kaplan–Meier, log-rank and Cox fits.

The derivation (``sql/relapse_times.sql``) applies the plan's rule per subject. The fits
match R's ``survival``: ``survfit(Surv(days, event) ~ cohort, conf.type = "log-log")``
(lifelines' default interval is the same exponential-Greenwood / log-log one),
``survdiff`` (log-rank), and ``coxph(..., ties = "efron")`` (Wald CI and p). lifelines
objects stay inside the ``fit_*`` functions; each returns a tidy frame or a dict.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

from registry.analysis.plan import AnalysisPlan
from registry.analysis.stage import fetch_one, materialize, read_sql

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

TOL = math.sqrt(np.finfo(float).eps)  # R's quantile.survfit tolerance


def derive_relapse(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan) -> pd.DataFrame:
    """Build ``_onset``, ``_relapse_population`` and ``_relapse_times`` (needs ``_subjects``):
    one row per subject at risk (:mod:`registry.analysis.onset`).

    Returns
    -------
    pandas.DataFrame
        ``record_id``, ``cohort``, ``start`` (events count after it), ``origin`` (time
        zero), ``days`` (since the origin, event or censoring), ``event``
        (bool), ``criterion`` (``score``, ``clinician``, ``score+clinician`` on the same
        day, or ``censored``), ``score_event_day``, ``clinician_event_day``,
        ``last_assessment_day``, ``last_contact_day`` (study days; NaN when none).
    """
    from registry.analysis.onset import derive_onset, derive_relapse_population

    derive_onset(con, plan)
    derive_relapse_population(con, plan)
    rule = plan.relapse
    materialize(
        con,
        "relapse_times",
        {
            "comparison": rule.comparison,
            "threshold": rule.threshold,
            "consecutive": rule.consecutive,
            "min_gap_days": rule.min_gap_days,
            "max_gap_days": rule.max_gap_days,
            "dated_on": rule.event_dated_on,
            "clinician_value": rule.clinician.value,
        },
    )
    return con.execute("select * from _relapse_times order by cohort, record_id").df()


def count_ignored_events(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan) -> dict:
    """Clinician-documented relapses the rule cannot use (needs ``_subjects``).

    Returns
    -------
    dict
        ``undated_clinician_relapses``, ``clinician_relapses_before_origin`` (on or
        before day 0): counts over analysed subjects.
    """
    params = {"clinician_value": plan.relapse.clinician.value, "origin_day": plan.relapse.origin_day}
    undated, early = fetch_one(con, read_sql("relapse_ignored"), params)
    return {"undated_clinician_relapses": int(undated), "clinician_relapses_before_origin": int(early)}


def fit_km(subjects: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Kaplan–Meier estimate per cohort with log-log confidence interval.

    Parameters
    ----------
    subjects : pandas.DataFrame
        ``cohort``, ``days``, ``event`` (as from :func:`derive_relapse`).
    confidence : float
        Level of the pointwise interval.

    Returns
    -------
    pandas.DataFrame
        One row per cohort and event time: ``cohort``, ``day``, ``at_risk``, ``events``,
        ``survival``, ``ci_low``, ``ci_high`` (NaN where undefined, e.g. survival 0).
    """
    import pandas as pd
    from lifelines import KaplanMeierFitter

    columns = ["cohort", "day", "at_risk", "events", "survival", "ci_low", "ci_high"]
    parts = []
    for cohort, sub in subjects.groupby("cohort", sort=True):
        if sub["event"].sum() == 0:
            continue
        km = KaplanMeierFitter(alpha=1 - confidence).fit(sub["days"].to_numpy(float), sub["event"].to_numpy(bool))
        table = km.event_table[km.event_table["observed"] > 0]  # one row per event time, read as arrays
        survival = km.survival_function_.iloc[:, 0].loc[table.index].to_numpy(float)
        ci = km.confidence_interval_.loc[table.index].to_numpy(float)
        undefined = survival <= 0
        parts.append(
            pd.DataFrame(
                {
                    "cohort": int(cohort),
                    "day": table.index.to_numpy(float),
                    "at_risk": table["at_risk"].to_numpy(int),
                    "events": table["observed"].to_numpy(int),
                    "survival": survival,
                    "ci_low": np.where(undefined, np.nan, ci[:, 0]),
                    "ci_high": np.where(undefined, np.nan, ci[:, 1]),
                },
                columns=columns,
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def compute_median(days: np.ndarray | list, survival: np.ndarray | list, last_day: float) -> float:
    """Median survival time by R's rule (``quantile.survfit``).

    The first event time where S(t) <= 0.5; if S equals 0.5 (within sqrt(eps)) on a flat
    stretch, the midpoint of that stretch (up to ``last_day``, the last follow-up time, if
    the curve ends there). NaN if S never reaches 0.5.

    Parameters
    ----------
    days, survival : array-like
        Event times (ascending) and S(t) at them (a cohort's rows of :func:`fit_km`).
    last_day : float
        The cohort's largest follow-up time, event or censored.
    """
    x = np.concatenate([[0.0], np.asarray(days, float)])
    y = np.concatenate([[0.0], 1 - np.asarray(survival, float)])
    if y.max() < 0.5:
        return float("nan")
    keep = ~_duplicated(y)
    x, y = x[keep], y[keep]
    i1 = np.flatnonzero(y + TOL >= 0.5)
    i2 = np.flatnonzero(y - TOL >= 0.5)
    if abs(0.5 - y[-1]) < TOL:
        return float((x[i1[0]] + last_day) / 2)
    return float((x[i1[0]] + x[i2[0]]) / 2)


def _duplicated(values: np.ndarray) -> np.ndarray:
    """True for every value equal to an earlier one (R ``duplicated``)."""
    _, first = np.unique(values, return_index=True)
    mask = np.ones(len(values), bool)
    mask[first] = False
    return mask


def compute_crossing(days: np.ndarray | list, curve: np.ndarray | list) -> float:
    """First time a Kaplan–Meier curve (or a CI curve) is at or below 0.5, by the rule R's
    ``print.survfit`` and ``summary(fit)$table`` use for median, 0.95LCL and 0.95UCL.

    Among the points with value < 0.5 + sqrt(eps) (missing values dropped), the first; if
    that value is 0.5 (within sqrt(eps)) and the curve drops further later, the midpoint
    between it and the first later, lower point. NaN if the curve never reaches 0.5.
    Unlike ``quantile.survfit`` (:func:`compute_median`), a curve that ends exactly at 0.5
    gives the time it got there, not the midpoint up to the last follow-up time.

    Parameters
    ----------
    days, curve : array-like
        Event times (ascending) and the curve at them (``survival``, ``ci_low`` or
        ``ci_high`` of a cohort's rows of :func:`fit_km`; the curves are flat in between).

    Examples
    --------
    >>> compute_crossing([12, 20, 35], [0.54, 0.48, 0.39])
    20.0
    >>> compute_crossing([5, 10, 15, 20], [0.75, 0.5, 0.25, 0.0])
    12.5
    """
    x = np.asarray(days, float)
    y = np.asarray(curve, float)
    keep = ~np.isnan(y) & (y < 0.5 + TOL)
    if not keep.any():
        return float("nan")
    x, y = x[keep], y[keep]
    lower = np.flatnonzero(y < y[0])
    if abs(y[0] - 0.5) < TOL and lower.size:
        return float((x[0] + x[lower[0]]) / 2)
    return float(x[0])


def compute_median_cis(km: pd.DataFrame, cohorts: list[int]) -> dict[str, dict[str, float]]:
    """Confidence interval of the median per cohort code, as R ``print(survfit(...))`` gives
    0.95LCL and 0.95UCL: where the lower and the upper CI curve (log-log, :func:`fit_km`)
    first reach 0.5 (:func:`compute_crossing`); NaN where a curve does not reach it.

    Returns
    -------
    dict
        ``{"1": {"low": .., "high": ..}, ...}`` (cohort codes as strings).
    """
    out = {}
    for code in cohorts:
        rows = km[km["cohort"] == code]
        out[str(code)] = {
            "low": compute_crossing(rows["day"], rows["ci_low"]),
            "high": compute_crossing(rows["day"], rows["ci_high"]),
        }
    return out


def compute_medians(subjects: pd.DataFrame, km: pd.DataFrame, cohorts: list[int]) -> dict[str, float]:
    """Median days per cohort code (as a string key; NaN if not reached), by R
    ``print.survfit``'s rule (:func:`compute_crossing`), the one its CI uses: a curve that
    ends exactly at 0.5 gives the day it got there (``quantile.survfit``,
    :func:`compute_median`, would give the midpoint up to the last follow-up)."""
    out = {}
    for code in cohorts:
        rows = km[km["cohort"] == code]
        sub = subjects[subjects["cohort"] == code]
        if sub.empty or rows.empty:
            out[str(code)] = float("nan")
            continue
        out[str(code)] = compute_crossing(rows["day"], rows["survival"])
    return out


def compute_at_risk(subjects: pd.DataFrame, days: list[float], cohorts: list[int]) -> pd.DataFrame:
    """Numbers at risk (follow-up time >= day) per cohort at the given days.

    Returns
    -------
    pandas.DataFrame
        ``cohort``, ``day``, ``at_risk``.
    """
    import pandas as pd

    rows = [
        {"cohort": c, "day": d, "at_risk": int((subjects.loc[subjects["cohort"] == c, "days"] >= d).sum())}
        for c in cohorts
        for d in days
    ]
    return pd.DataFrame(rows, columns=["cohort", "day", "at_risk"])


def fit_logrank(subjects: pd.DataFrame, compare: int, reference: int) -> dict:
    """Log-rank test between two cohorts (R ``survdiff``, rho = 0).

    Returns
    -------
    dict
        ``chisq``, ``df`` (1), ``p``; NaN when a cohort is empty or there are no events.
    """
    from lifelines.statistics import logrank_test

    a = subjects[subjects["cohort"] == compare]
    b = subjects[subjects["cohort"] == reference]
    if a.empty or b.empty or subjects["event"].sum() == 0:
        return {"chisq": float("nan"), "df": 1, "p": float("nan")}
    res = logrank_test(
        a["days"].astype(float), b["days"].astype(float), a["event"].astype(bool), b["event"].astype(bool)
    )
    return {"chisq": float(res.test_statistic), "df": 1, "p": float(res.p_value)}


# lifelines' Newton-Raphson options. It stops when the Newton decrement or the step falls
# below `precision`, or the log-likelihood's relative change below `r_precision`, and the
# step it computed last is not applied: with its defaults (and 1e-10) the coefficients stop
# up to ~1e-5 short of R's coxph. A decrement below 1e-20 leaves a step of ~1e-10; full
# steps (R's) converge quadratically. tests/test_cox_fidelity.py pins coef to R at 1e-8.
NEWTON = {"precision": 1e-20, "r_precision": 0.0, "step_size": 1.0, "max_steps": 100}


def fit_cox(
    subjects: pd.DataFrame,
    compare: int,
    reference: int,
    covariates: pd.DataFrame | None = None,
    confidence: float = 0.95,
) -> dict:
    """Cox model: hazard ratio of cohort ``compare`` vs ``reference`` (Efron ties, Wald).

    Parameters
    ----------
    subjects : pandas.DataFrame
        ``record_id``, ``cohort``, ``days``, ``event``.
    compare, reference : int
        Cohort codes; subjects in other cohorts are left out.
    covariates : pandas.DataFrame, optional
        ``record_id`` plus one numeric column per adjustment covariate; subjects missing
        any covariate are left out.
    confidence : float
        Level of the Wald interval.

    Returns
    -------
    dict
        ``hr``, ``ci_low``, ``ci_high``, ``p`` (Wald), ``coef``, ``se``, ``n``, ``events``,
        ``covariates`` (names) and ``note`` (why the estimate is missing, else None).
    """
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning
    from scipy import stats

    data = subjects[subjects["cohort"].isin([compare, reference])][["record_id", "cohort", "days", "event"]]
    names: list[str] = []
    if covariates is not None and len(covariates.columns) > 1:
        names = [c for c in covariates.columns if c != "record_id"]
        data = data.merge(covariates, on="record_id", how="inner").dropna(subset=names)
    data = data.assign(
        compare=(data["cohort"] == compare).astype(float),
        days=data["days"].astype(float),
        event=data["event"].astype(bool),
    )
    out = {
        "hr": float("nan"),
        "ci_low": float("nan"),
        "ci_high": float("nan"),
        "p": float("nan"),
        "coef": float("nan"),
        "se": float("nan"),
        "n": int(len(data)),
        "events": int(data["event"].sum()),
        "covariates": names,
        "note": None,
    }
    events = data.groupby("compare")["event"].sum()
    if data["compare"].nunique() < 2 or (events == 0).any():
        out["note"] = "not estimable: a cohort has no subjects or no events"
        return out
    fitter = CoxPHFitter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            fitter.fit(
                data[["days", "event", "compare", *names]], "days", "event", fit_options=NEWTON
            )
    except (ConvergenceError, ConvergenceWarning, np.linalg.LinAlgError) as exc:
        out["note"] = f"not estimable: the model did not converge ({type(exc).__name__})"
        return out
    coef, se = float(fitter.params_["compare"]), float(fitter.standard_errors_["compare"])
    z = stats.norm.ppf((1 + confidence) / 2)
    out.update(
        hr=math.exp(coef),
        ci_low=math.exp(coef - z * se),
        ci_high=math.exp(coef + z * se),
        p=float(2 * stats.norm.sf(abs(coef / se))),
        coef=coef,
        se=se,
    )
    return out
