"""ADQS: one row per subject x parameter x analysis visit (questionnaire scores).

Parameters are the plan's outcome totals (MADRSTOT, PHQ9TOT, HAMD17T for the registry
project) and the items of each outcome's form (MADRS01..MADRS10, PHQ901..PHQ910,
HAMD01..HAMD17), then one parameter per relapse rating source (``[[relapse.ratings]]``)
that is not already an outcome total: the esketamine-session MADRS ratings are MADRSSES
(AVISIT "Session rating", AVISITN missing, ADY the rating's study day, SRCSEQ = the REDCap repeat instance, every row
of the form), so the onset and relapse derivations can be redone from ADQS alone (visit
ratings: MADRSTOT; BASE of a session rating is the baseline MADRSTOT, so PCHG gives the
percent reduction that defines response). Analysis visits are the plan's baseline and follow-up visits: AVISIT is
the plan's label, AVISITN the plan's nominal study day. ADY is the study day of the form's
assessment date (day 0 = the index date). BASE, CHG, PCHG, ABLFL and ANL01FL follow admiral
(``derive_var_base``, ``derive_var_chg``, ``derive_var_pchg``): CHG and PCHG only after
baseline, PCHG missing when BASE is 0, ANL01FL = "Y" on exactly the records the paired
analysis used (both records of each complete pair), ANL02FL = "Y" on those the mixed
model (MMRM) used (follow-up totals at its visits, and those subjects' baseline totals).
The derivation is ``sql/adqs.sql``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from registry.adam import AdamError, Dataset, select_labelled
from registry.adam.adsl import ADSL_COPIES
from registry.adam.source import date_field, item_fields
from registry.redcap.dictionary import Dictionary

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from registry.analysis.plan import AnalysisPlan

# The registry project's scales: PARAMCD of the total, prefix of the item codes, ADSL
# baseline variable, and PARAM of the total.
KNOWN_SCALES = {
    "madrs": ("MADRSTOT", "MADRS", "MADRSBL", "MADRS Total Score"),
    "phq9": ("PHQ9TOT", "PHQ9", "PHQ9BL", "PHQ-9 Total Score"),
    "hamd": ("HAMD17T", "HAMD", "HAMD17BL", "HAM-D 17-Item Total Score"),
}
PARAMCD_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
# Labels of this dataset's own variables; those copied from ADSL keep ADSL's labels (ADaM).
LABELS = {
    "PARAMCD": "Parameter Code",
    "PARAM": "Parameter",
    "PARAMN": "Parameter (N)",
    "AVISIT": "Analysis Visit",
    "AVISITN": "Analysis Visit (N): Nominal Study Day",
    "ADY": "Analysis Relative Day (Day 0 = Index)",
    "AVAL": "Analysis Value",
    "BASE": "Baseline Value",
    "CHG": "Change from Baseline",
    "PCHG": "Percent Change from Baseline",
    "ABLFL": "Baseline Record Flag",
    "ANL01FL": "Analysis Flag 01: Paired Change Analysis",
    "ANL02FL": "Analysis Flag 02: MMRM",
    "SRCDOM": "Source Form (REDCap Instrument)",
    "SRCVAR": "Source Field (REDCap Variable)",
    "SRCSEQ": "Source Sequence (REDCap Repeat Instance)",
}


@dataclass(frozen=True)
class Parameter:
    """One ADQS parameter and where its values come from."""

    paramcd: str
    param: str
    paramn: int
    scale: str
    form: str
    field: str
    is_total: bool
    baseline_var: str = ""
    rating_day: str = ""  # a rating source's study-day field ("" for totals and items)

    @property
    def is_rating(self) -> bool:
        return bool(self.rating_day)


def compute_param_label(prefix: str, text: str, width: int = 40) -> str:
    """PARAM of an item: ``"<scale> item <n>: <text>"``, shortened at a word to ``width``.

    >>> compute_param_label("MADRS item 1", "1. Apparent sadness")
    'MADRS item 1: Apparent sadness'
    >>> compute_param_label("PHQ-9 item 3", "3. Trouble falling or staying asleep, or sleeping too much")
    'PHQ-9 item 3: Trouble falling or staying'
    """
    text = re.sub(r"<[^>]+>", "", re.sub(r"^\s*\d+[.)]\s*", "", text)).strip()
    full = f"{prefix}: {text}" if text else prefix
    if len(full) <= width:
        return full
    words, out = full.split(" "), prefix + ":"
    for word in words[len(prefix.split(" ")) :]:
        if len(out) + 1 + len(word) > width:
            break
        out = f"{out} {word}"
    return out.rstrip(",;:-") if out != prefix + ":" else prefix


def _check_paramcd(code: str, scale: str) -> str:
    if not PARAMCD_RE.match(code):
        raise AdamError(
            f"PARAMCD '{code}' for scale `{scale}` is not 1-8 upper-case letters, digits or '_'",
            where=f"analysis plan outcome `{scale}`",
            fix="name the outcome's scale with at most 5 letters/digits (it becomes <SCALE>TOT)",
        )
    return code


def derive_parameters(plan: AnalysisPlan, dic: Dictionary) -> list[Parameter]:
    """The ADQS parameters: per plan outcome, its total then its items in dictionary order."""
    params: list[Parameter] = []
    for o in plan.outcomes:
        total_code, prefix, baseline_var, total_label = KNOWN_SCALES.get(
            o.scale,
            (
                f"{o.scale.upper()}TOT",
                o.scale.upper()[:6],
                f"{o.scale.upper()[:6]}BL",
                f"{o.label} Total Score",
            ),
        )
        params.append(
            Parameter(
                _check_paramcd(total_code, o.scale),
                total_label[:40],
                len(params) + 1,
                o.scale,
                o.form,
                o.field,
                True,
                _check_paramcd(baseline_var, o.scale),
            )
        )
        for pos, f in enumerate(item_fields(dic, o.form, o.field), start=1):
            m = re.search(r"_(\d+)$", f.name)
            n = int(m.group(1)) if m else pos
            params.append(
                Parameter(
                    _check_paramcd(f"{prefix}{n:02d}", o.scale),
                    compute_param_label(f"{o.label} item {n}", f.label),
                    len(params) + 1,
                    o.scale,
                    o.form,
                    f.name,
                    False,
                )
            )
    params += rating_parameters(plan, len(params))
    codes = [p.paramcd for p in params]
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        raise AdamError(
            f"two parameters would share PARAMCD {', '.join(dupes)}",
            fix="give the plan's outcomes distinct scale names",
        )
    return params


def rating_parameters(plan: AnalysisPlan, before: int) -> list[Parameter]:
    """One parameter per ``[[relapse.ratings]]`` source that is not an outcome's total field:
    ``<scale prefix><source name>`` (MADRSSES for the registry's session ratings)."""
    scale = next(o for o in plan.outcomes if o.scale == plan.relapse.scale)
    _, prefix, _, total_label = KNOWN_SCALES.get(
        scale.scale, ("", scale.scale.upper()[:6], "", f"{scale.label} Total Score")
    )
    totals = {(o.form, o.field) for o in plan.outcomes}
    out = []
    for src in plan.relapse.ratings:
        if (src.form, src.score) in totals:
            continue
        code = (prefix[:5] + re.sub(r"[^A-Z0-9]", "", src.name.upper())[:3])[:8]
        out.append(
            Parameter(
                _check_paramcd(code, scale.scale),
                f"{total_label} ({src.name} rating)"[:40],
                before + len(out) + 1,
                scale.scale,
                src.form,
                src.score,
                False,
                rating_day=src.day,
            )
        )
    return out


def visit_table(plan: AnalysisPlan) -> list[tuple[str, str, float]]:
    """(unique event name, AVISIT, AVISITN) of the plan's baseline and follow-up visits.

    AVISITN is the plan's nominal study day (``[visits.days]``), else the visit's position.
    """
    visits = [plan.baseline_visit, *plan.followup_visits]
    days = dict(plan.visit_days)
    if all(v in days for v in visits):
        return [(v, plan.visit_label(v), float(days[v])) for v in visits]
    return [(v, plan.visit_label(v), float(i)) for i, v in enumerate(visits)]


def stage_parameters(con: duckdb.DuckDBPyConnection, params: list[Parameter], plan: AnalysisPlan) -> None:
    """The in-memory tables ``_adam_params`` and ``_adam_visits`` that ``adqs.sql`` reads."""
    con.execute(
        "create or replace table _adam_params (paramcd varchar, param varchar, paramn integer, "
        "scale varchar, form varchar, field varchar, is_total boolean, is_rating boolean)"
    )
    con.executemany(
        "insert into _adam_params values (?, ?, ?, ?, ?, ?, ?, ?)",
        [(p.paramcd, p.param, p.paramn, p.scale, p.form, p.field, p.is_total, p.is_rating) for p in params],
    )
    con.execute("create or replace table _adam_visits (visit varchar, avisit varchar, avisitn double)")
    con.executemany("insert into _adam_visits values (?, ?, ?)", visit_table(plan))


def day_fields(params: list[Parameter], dic: Dictionary) -> dict[str, str]:
    """form -> its assessment-date field, for the parameters' forms that have one."""
    out = {}
    for form in dict.fromkeys(p.form for p in params if not p.is_rating):
        f = date_field(dic, form)
        if f is not None:
            out[form] = f.name
    return out


def derive_adqs(
    rows: pd.DataFrame, adsl: pd.DataFrame, adsl_labels: dict[str, str], params: list[Parameter], plan: AnalysisPlan
) -> Dataset:
    """ADQS from the rows of ``adqs.sql`` and the ADSL variables it copies (with ADSL's labels).

    Returns
    -------
    Dataset
        Columns: STUDYID, USUBJID, SITEID, TRT01P, TRT01PN, PPROTFL (as in ADSL), PARAMCD,
        PARAM, PARAMN, AVISIT, AVISITN, ADY, AVAL, BASE, CHG, PCHG, ABLFL, ANL01FL, ANL02FL, SRCDOM,
        SRCVAR, SRCSEQ. Value labels: TRT01PN (cohorts), PARAMN (PARAM), AVISITN (AVISIT).
    """
    frame = rows.rename(columns={c: c.upper() for c in rows.columns}).rename(columns={"RECORD_ID": "USUBJID"})
    frame = frame.merge(adsl[list(ADSL_COPIES)], on="USUBJID", how="left", validate="many_to_one")
    labels = {**{name: adsl_labels[name] for name in ADSL_COPIES}, **LABELS}
    for name in ("PARAMN", "ADY", "SRCSEQ"):
        frame[name] = frame[name].astype("Int64")
    for name in ("AVISITN", "AVAL", "BASE", "CHG", "PCHG"):
        frame[name] = frame[name].astype("Float64")
    frame = frame.sort_values(["USUBJID", "PARAMN", "AVISITN", "ADY", "SRCSEQ"], kind="stable")
    visits = {int(n): label for _, label, n in visit_table(plan)}
    value_labels = {
        "TRT01PN": dict(plan.cohorts),
        "PARAMN": {p.paramn: p.param for p in params},
        "AVISITN": visits,
    }
    return Dataset(
        "adqs",
        "Questionnaire Analysis Dataset",
        select_labelled(frame, labels),
        labels,
        value_labels,
        keys=("USUBJID", "PARAMCD", "AVISITN", "SRCSEQ"),
    )
