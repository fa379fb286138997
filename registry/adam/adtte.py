"""ADTTE: one parameter per time-to-event analysis, one row per subject analysed.

- RELAPSE: the subjects at risk of relapse (``results.json`` ``relapse.subjects``), from
  the analysis's own derivation (``registry/analysis/sql/relapse_times.sql`` via
  :func:`registry.analysis.relapse.derive_relapse`).
- TTRESP, TTREMIS: time from day 0 to the onset of response or remission
  (``time_to_response.subjects``, ``time_to_remission.subjects``), from
  :func:`registry.analysis.onset.time_to_onset`.

So AVAL and the events are those of ``results.json``. STARTDT is the subject's origin as a
study day (the onset day for relapse among responders or remitters with ``origin =
"onset"``, else the plan's day 0); AVAL is days from STARTDT; ADY is the study day of the
event or censoring (STARTDT + AVAL). CNSR follows ADaM: 0 is an event, a positive integer
a censoring, one per reason (the reverse of the event flag of lifelines and R ``Surv``:
event = 1 - (CNSR > 0)).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry.adam import Dataset, select_labelled
from registry.adam.adsl import ADSL_COPIES

if TYPE_CHECKING:
    import pandas as pd

    from registry.analysis.plan import AnalysisPlan

# Labels of this dataset's own variables; those copied from ADSL keep ADSL's labels (ADaM).
LABELS = {
    "PARAMCD": "Parameter Code",
    "PARAM": "Parameter",
    "AVAL": "Analysis Value (Days from STARTDT)",
    "CNSR": "Censor",
    "STARTDT": "Time-to-Event Origin (Study Day)",
    "ADY": "Study Day of Event or Censoring",
    "EVNTDESC": "Event or Censoring Description",
    "CNSDTDSC": "Censor Date Description",
}
# PARAMCD -> the results.json part each parameter holds, in dataset order.
PARAMETERS = {"RELAPSE": "relapse", "TTRESP": "time_to_response", "TTREMIS": "time_to_remission"}
CENSOR_DATES = {
    1: "LAST {scale} ASSESSMENT",
    2: "LAST CONTACT",
    3: "START OF RISK (NO FOLLOW-UP AFTER IT)",
}


def relapse_param(plan: AnalysisPlan) -> str:
    """PARAM of the relapse parameter, naming who is at risk and from when (<= 40 characters).

    >>> from registry.analysis.plan import default_plan_path, read_plan
    >>> relapse_param(read_plan(default_plan_path()))
    'Time from Response to Relapse (Days)'
    """
    r = plan.relapse
    if r.at_risk == "all" or r.origin != "onset":
        return "Time to Relapse (Days)"
    return f"Time from {'Response' if r.at_risk == 'responders' else 'Remission'} to Relapse (Days)"


def compute_event_descriptions(plan: AnalysisPlan) -> dict[str, str]:
    """EVNTDESC of an event per criterion (relapse) or onset kind, worded from the plan.

    >>> from registry.analysis.plan import default_plan_path, read_plan
    >>> compute_event_descriptions(read_plan(default_plan_path()))["score"]
    'MADRS >= 22 ON 2 CONSECUTIVE ASSESSMENTS 5-15 DAYS APART'
    """
    r = plan.relapse
    scale = r.scale.upper()
    score = (
        f"{scale} {r.comparison} {r.threshold:g} ON {r.consecutive} CONSECUTIVE ASSESSMENTS "
        f"{r.min_gap_days}-{r.max_gap_days} DAYS APART"
    )
    clinician = "CLINICIAN-DOCUMENTED RELAPSE"
    outcome = next(o for o in plan.outcomes if o.scale == r.scale)
    return {
        "score": score,
        "clinician": clinician,
        "score+clinician": f"{score}; {clinician} SAME DAY",
        "response": f"ONSET OF RESPONSE: {scale} >= {plan.response_min_reduction_percent:g}% BELOW BASELINE",
        "remission": f"ONSET OF REMISSION: {scale} {outcome.remission_comparison} {outcome.remission_threshold:g}",
    }


def censoring_labels(plan: AnalysisPlan) -> dict[int, str]:
    """CNSR code -> description (the value labels of CNSR)."""
    scale = plan.relapse.scale.upper()
    return {0: "EVENT", **{k: "CENSORED AT " + v.format(scale=scale) for k, v in CENSOR_DATES.items()}}


def derive_var_evntdesc(adtte: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """Add EVNTDESC (event or censoring) and CNSDTDSC (censorings only) from ``criterion``."""
    out = adtte.copy()
    events, censors = compute_event_descriptions(plan), censoring_labels(plan)
    out["EVNTDESC"] = [events[c] if n == 0 else censors[n] for c, n in zip(out["criterion"], out["CNSR"], strict=True)]
    scale = plan.relapse.scale.upper()
    out["CNSDTDSC"] = [None if n == 0 else CENSOR_DATES[n].format(scale=scale) for n in out["CNSR"]]
    out["CNSDTDSC"] = out["CNSDTDSC"].astype(object)
    return out


def onset_rows(subjects: pd.DataFrame, kind: str, origin_day: int) -> pd.DataFrame:
    """Rows of a time-to-onset parameter from :func:`registry.analysis.onset.time_to_onset`'s
    subjects: censored (CNSR 1) at the last assessment after day 0."""
    return subjects.assign(
        aval=subjects["days"],
        cnsr=[0 if e else 1 for e in subjects["event"]],
        criterion=[kind if e else "censored" for e in subjects["event"]],
        startdt=origin_day,
        ady=origin_day + subjects["days"],
    )[["record_id", "cohort", "aval", "cnsr", "criterion", "startdt", "ady"]]


def derive_adtte(
    parts: dict[str, pd.DataFrame], adsl: pd.DataFrame, adsl_labels: dict[str, str], plan: AnalysisPlan
) -> Dataset:
    """ADTTE from each parameter's rows (``parts``: PARAMCD -> rows of ``adtte.sql`` or
    :func:`onset_rows`) and the ADSL variables it copies (with ADSL's labels).

    Returns
    -------
    Dataset
        Columns: STUDYID, USUBJID, SITEID, TRT01P, TRT01PN, PPROTFL, PARAMCD, PARAM, AVAL,
        CNSR, STARTDT, ADY, EVNTDESC, CNSDTDSC. Value labels: TRT01PN, CNSR.
    """
    import pandas as pd

    params = {
        "RELAPSE": relapse_param(plan),
        "TTRESP": "Time to Response (Days)",
        "TTREMIS": "Time to Remission (Days)",
    }
    frames = [
        rows.assign(PARAMCD=code, PARAM=params[code], order=list(PARAMETERS).index(code))
        for code, rows in parts.items()
    ]
    frame = pd.concat(frames, ignore_index=True).rename(
        columns={"record_id": "USUBJID", "aval": "AVAL", "cnsr": "CNSR", "startdt": "STARTDT", "ady": "ADY"}
    )
    frame = frame.merge(adsl[list(ADSL_COPIES)], on="USUBJID", how="left", validate="many_to_one")
    labels = {**{name: adsl_labels[name] for name in ADSL_COPIES}, **LABELS}
    for name in ("AVAL", "CNSR", "STARTDT", "ADY"):
        frame[name] = frame[name].astype("Int64")
    frame = derive_var_evntdesc(frame, plan).sort_values(["order", "USUBJID"], kind="stable")
    return Dataset(
        "adtte",
        "Time-to-Event Analysis Dataset",
        select_labelled(frame, labels),
        labels,
        {"TRT01PN": dict(plan.cohorts), "CNSR": censoring_labels(plan)},
        keys=("USUBJID", "PARAMCD"),
    )
