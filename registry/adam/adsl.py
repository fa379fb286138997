"""ADSL: one row per subject (record).

Variables: STUDYID, USUBJID (the record ID), SUBJID, SITEID (the REDCap data access group),
AGE/AGEU, SEX/SEXN, RACE/RACEN (from the race checkbox; "MULTIPLE" when more than one
box is ticked), ETHNIC/ETHNICN, TRT01P/TRT01PN (the plan's cohort label and code),
ELIGFL (every eligibility criterion of the plan met), one flag per criterion, PPROTFL (in the
plan's per-protocol population, as the analyses select it) and the baseline totals of the
plan's outcomes (taken from ADQS's ABLFL records). The *N variables carry the REDCap codes,
with the dictionary's choice labels as value labels.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from registry.adam import AdamError, Dataset, select_labelled
from registry.adam.source import DemographicFields
from registry.redcap.dictionary import Dictionary

if TYPE_CHECKING:
    import pandas as pd

    from registry.adam.adqs import Parameter
    from registry.analysis.plan import AnalysisPlan

# CDISC SEX codelist for the dictionary's labels; any other label is upper-cased.
SEX_CODES = {"female": "F", "male": "M", "unknown": "U"}
# Short names for the registry project's eligibility criteria; others become CRITnFL.
CRITERION_FLAGS = {"elig_mde": "MDEFL", "elig_trd": "TRDFL", "elig_no_remission": "NOREMFL"}
# The ADSL variables that ADQS and ADTTE carry too.
ADSL_COPIES = ("STUDYID", "USUBJID", "SITEID", "TRT01P", "TRT01PN", "PPROTFL")
LABELS = {
    "STUDYID": "Study Identifier",
    "USUBJID": "Unique Subject Identifier",
    "SUBJID": "Subject Identifier for the Study",
    "SITEID": "Study Site Identifier",
    "AGE": "Age",
    "AGEU": "Age Units",
    "SEX": "Sex",
    "SEXN": "Sex (N)",
    "RACE": "Race",
    "RACEN": "Race (N)",
    "ETHNIC": "Ethnicity",
    "ETHNICN": "Ethnicity (N)",
    "TRT01P": "Planned Treatment for Period 01",
    "TRT01PN": "Planned Treatment for Period 01 (N)",
    "ELIGFL": "All Eligibility Criteria Met Flag",
}


def compute_sex(label: str | None) -> str | None:
    """CDISC SEX from a dictionary label.

    >>> compute_sex("Female"), compute_sex("Other"), compute_sex(None)
    ('F', 'OTHER', None)
    """
    if label is None:
        return None
    return SEX_CODES.get(label.strip().lower(), label.strip().upper())


def compute_race(n_checked: int, label: str | None) -> str | None:
    """RACE from the number of ticked race boxes and the label of the one ticked.

    >>> compute_race(2, None), compute_race(1, "White"), compute_race(0, None)
    ('MULTIPLE', 'WHITE', None)
    """
    if n_checked > 1:
        return "MULTIPLE"
    return label.upper() if n_checked == 1 and label else None


def integer_choices(dic: Dictionary, field: str) -> dict[int, str]:
    """A coded field's choices as {integer code: label} (empty if a code is not an integer)."""
    f = dic.by_name.get(field)
    if f is None:
        return {}
    try:
        return {int(c.code): c.label for c in f.choices}
    except ValueError:
        return {}


def _decode(codes: pd.Series, choices: dict[int, str]) -> tuple[pd.Series, pd.Series]:
    """(numeric codes as Int64, labels) of a column of text codes."""
    import pandas as pd

    numeric = pd.to_numeric(codes, errors="coerce").astype("Int64")
    labels = numeric.map(lambda v: None if pd.isna(v) else choices.get(int(v)))
    return numeric, labels.astype(object)


def derive_vars_demographics(adsl: pd.DataFrame, dic: Dictionary, spec: DemographicFields) -> pd.DataFrame:
    """Add AGE, AGEU, SEX/SEXN, RACE/RACEN, ETHNIC/ETHNICN from the staged codes."""
    out = adsl.copy()
    out["AGE"] = out["age"].astype("Float64").round().astype("Int64")
    out["AGEU"] = out["AGE"].map(lambda v: None if v is None or v != v else "YEARS").astype(object)
    out["SEXN"], sex_labels = _decode(out["sex"], integer_choices(dic, spec.sex))
    out["SEX"] = sex_labels.map(compute_sex)
    out["ETHNICN"], eth = _decode(out["ethnicity"], integer_choices(dic, spec.ethnicity))
    out["ETHNIC"] = eth.map(lambda s: s.upper() if isinstance(s, str) else None)
    out["RACEN"], race_labels = _decode(out["race_code"], integer_choices(dic, spec.race))
    out["RACE"] = [compute_race(int(n), lab) for n, lab in zip(out["n_race"], race_labels, strict=True)]
    return out


def derive_vars_treatment(adsl: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """Add TRT01PN (the cohort code) and TRT01P (the plan's cohort label)."""
    out = adsl.copy()
    out["TRT01PN"] = out["cohort"].astype("Int64")
    out["TRT01P"] = out["TRT01PN"].map(lambda v: None if v is None or v != v else plan.cohort_label(int(v)))
    out["TRT01P"] = out["TRT01P"].astype(object)
    return out


def criterion_flag_name(field: str, position: int) -> str:
    """The ADSL flag of an eligibility criterion.

    >>> criterion_flag_name("elig_trd", 2), criterion_flag_name("consent_signed", 4)
    ('TRDFL', 'CRIT4FL')
    """
    return CRITERION_FLAGS.get(field, f"CRIT{position}FL")


def _yn(value) -> str | None:
    if value is None or value != value:
        return None
    return "Y" if bool(value) else "N"


def derive_vars_population(adsl: pd.DataFrame, criteria: pd.DataFrame, plan: AnalysisPlan) -> tuple[pd.DataFrame, dict]:
    """Add ELIGFL, one Y/N flag per plan criterion and PPROTFL; return the flags' labels.

    ``criteria``: ``record_id``, ``criterion`` (field), ``met`` (bool or None).
    """
    out = adsl.copy()
    out["ELIGFL"] = out["eligible"].map(_yn)
    labels = {}
    for i, ref in enumerate(plan.eligible, start=1):
        name = criterion_flag_name(ref.field, i)
        met = criteria[criteria["criterion"] == ref.field].set_index("record_id")["met"]
        out[name] = out["record_id"].map(met).map(_yn).astype(object)
        labels[name] = _ascii_label(f"Criterion met: {ref.field} = {ref.value}")
    out["PPROTFL"] = out["included"].map(_yn)
    labels["PPROTFL"] = _ascii_label(
        f"Per-Protocol Population Flag ({plan.population_name})", "Per-Protocol Population Flag"
    )
    return out, labels


def _ascii_label(text: str, fallback: str | None = None) -> str:
    """``text`` if it is ASCII and at most 40 characters, else ``fallback`` (or a refusal)."""
    if len(text) <= 40 and text.isascii():
        return text
    if fallback is not None:
        return fallback
    raise AdamError(
        f"the variable label '{text}' is longer than 40 characters or not ASCII",
        fix="use shorter REDCap field names in the analysis plan's eligibility criteria",
    )


def derive_vars_baseline(adsl: pd.DataFrame, adqs: pd.DataFrame, params: list[Parameter]) -> tuple[pd.DataFrame, dict]:
    """Add one baseline-total variable per outcome (the AVAL of its ABLFL record)."""
    out = adsl.copy()
    labels = {}
    for p in params:
        if not p.is_total:
            continue
        base = adqs[(adqs["PARAMCD"] == p.paramcd) & (adqs["ABLFL"] == "Y")].set_index("USUBJID")["AVAL"]
        out[p.baseline_var] = out["USUBJID"].map(base).astype("Float64")
        labels[p.baseline_var] = _ascii_label(f"Baseline {p.param}", f"Baseline {p.paramcd}")
    return out, labels


def derive_adsl_base(
    base: pd.DataFrame,
    criteria: pd.DataFrame,
    dic: Dictionary,
    spec: DemographicFields,
    plan: AnalysisPlan,
    studyid: str,
) -> tuple[pd.DataFrame, dict]:
    """ADSL without the baseline totals, and its labels (the recipe of derivations)."""
    adsl = base.assign(STUDYID=studyid, USUBJID=base["record_id"], SUBJID=base["record_id"], SITEID=base["site"])
    adsl = derive_vars_demographics(adsl, dic, spec)
    adsl = derive_vars_treatment(adsl, plan)
    adsl, flag_labels = derive_vars_population(adsl, criteria, plan)
    labels = {**LABELS, **flag_labels}
    return adsl, labels


def finish_adsl(
    adsl: pd.DataFrame,
    labels: dict,
    adqs: pd.DataFrame,
    params: list[Parameter],
    dic: Dictionary,
    spec: DemographicFields,
    plan: AnalysisPlan,
) -> Dataset:
    """Add the baseline totals and the value labels: the ADSL :class:`Dataset`."""
    adsl, base_labels = derive_vars_baseline(adsl, adqs, params)
    labels = {**labels, **base_labels}
    value_labels = {
        "SEXN": integer_choices(dic, spec.sex),
        "RACEN": integer_choices(dic, spec.race),
        "ETHNICN": integer_choices(dic, spec.ethnicity),
        "TRT01PN": dict(plan.cohorts),
    }
    return Dataset(
        "adsl",
        "Subject-Level Analysis Dataset",
        select_labelled(adsl, labels),
        labels,
        {k: v for k, v in value_labels.items() if v},
        keys=("USUBJID",),
    )


def check_studyid(studyid: str) -> str:
    """STUDYID from the project's name: upper case, letters, digits, '-' and '_' only."""
    value = re.sub(r"[^A-Z0-9_-]", "_", studyid.upper()) or "REGISTRY"
    return value
