"""ADTTE: time to relapse, one row per subject of the relapse analysis.

Rows come from the analysis's own derivation (``registry/analysis/sql/relapse_times.sql``
via :func:`registry.analysis.relapse.derive_relapse`), so AVAL and the events are those of
``results.json``. AVAL is in days since day 0 (STARTDT, the plan's origin: study day 0 =
the index date); ADY is the study day of the event or censoring. CNSR follows ADaM: 0 is
an event, a positive integer a censoring, one per reason (the reverse of the event flag of
lifelines and R ``Surv``: event = 1 - (CNSR > 0)).
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
    "AVAL": "Analysis Value (Days)",
    "CNSR": "Censor",
    "STARTDT": "Time-to-Event Origin (Study Day)",
    "ADY": "Study Day of Event or Censoring",
    "EVNTDESC": "Event or Censoring Description",
    "CNSDTDSC": "Censor Date Description",
}
CENSOR_DATES = {1: "LAST {scale} ASSESSMENT", 2: "LAST CONTACT", 3: "DAY 0 (NO FOLLOW-UP AFTER DAY 0)"}


def compute_event_descriptions(plan: AnalysisPlan) -> dict[str, str]:
    """EVNTDESC of an event per criterion of the relapse derivation, worded from the plan.

    >>> from registry.analysis.plan import default_plan_path, read_plan
    >>> compute_event_descriptions(read_plan(default_plan_path()))["score"]
    'MADRS >= 22 ON 2 CONSECUTIVE ASSESSMENTS 5-15 DAYS APART'
    """
    r = plan.relapse
    score = (
        f"{r.scale.upper()} {r.comparison} {r.threshold:g} ON {r.consecutive} CONSECUTIVE ASSESSMENTS "
        f"{r.min_gap_days}-{r.max_gap_days} DAYS APART"
    )
    clinician = "CLINICIAN-DOCUMENTED RELAPSE"
    return {"score": score, "clinician": clinician, "score+clinician": f"{score}; {clinician} SAME DAY"}


def censoring_labels(plan: AnalysisPlan) -> dict[int, str]:
    """CNSR code -> description (the value labels of CNSR)."""
    scale = plan.relapse.scale.upper()
    return {
        0: "EVENT: RELAPSE",
        **{k: "CENSORED AT " + v.format(scale=scale) for k, v in CENSOR_DATES.items()},
    }


def derive_var_evntdesc(adtte: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """Add EVNTDESC (event or censoring) and CNSDTDSC (censorings only)."""
    out = adtte.copy()
    events, censors = compute_event_descriptions(plan), censoring_labels(plan)
    out["EVNTDESC"] = [events[c] if n == 0 else censors[n] for c, n in zip(out["criterion"], out["CNSR"], strict=True)]
    scale = plan.relapse.scale.upper()
    out["CNSDTDSC"] = [None if n == 0 else CENSOR_DATES[n].format(scale=scale) for n in out["CNSR"]]
    out["CNSDTDSC"] = out["CNSDTDSC"].astype(object)
    return out


def derive_adtte(rows: pd.DataFrame, adsl: pd.DataFrame, adsl_labels: dict[str, str], plan: AnalysisPlan) -> Dataset:
    """ADTTE from the rows of ``adtte.sql`` and the ADSL variables it copies (with ADSL's labels).

    Returns
    -------
    Dataset
        Columns: STUDYID, USUBJID, SITEID, TRT01P, TRT01PN, PPROTFL, PARAMCD ("RELAPSE"),
        PARAM, AVAL, CNSR, STARTDT, ADY, EVNTDESC, CNSDTDSC. Value labels: TRT01PN, CNSR.
    """
    frame = rows.rename(
        columns={"record_id": "USUBJID", "aval": "AVAL", "cnsr": "CNSR", "startdt": "STARTDT", "ady": "ADY"}
    )
    frame = frame.merge(adsl[list(ADSL_COPIES)], on="USUBJID", how="left", validate="one_to_one")
    labels = {**{name: adsl_labels[name] for name in ADSL_COPIES}, **LABELS}
    frame["PARAMCD"] = "RELAPSE"
    frame["PARAM"] = "Time to Relapse (Days)"
    for name in ("AVAL", "CNSR", "STARTDT", "ADY"):
        frame[name] = frame[name].astype("Int64")
    frame = derive_var_evntdesc(frame, plan).sort_values("USUBJID", kind="stable")
    return Dataset(
        "adtte",
        "Time-to-Event Analysis Dataset",
        select_labelled(frame, labels),
        labels,
        {"TRT01PN": dict(plan.cohorts), "CNSR": censoring_labels(plan)},
        keys=("USUBJID", "PARAMCD"),
    )
