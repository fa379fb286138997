"""Exposure by cohort over the analysis set (``results.json`` ``exposure``).

What the subjects received: esketamine sessions, and sirolimus doses with their adherence
to the protocol (plan ``[exposure]``; the registry project's: 6 mg, taken 2 h before an
esketamine session, two doses 28 days apart, the first on day 0). Rows
``{cohort, category, level, label, subjects, count, n, percent, median, q1, q3}``, one per
cohort and level (docs/results.md):

- ``sessions`` (level None): ``count`` sessions, ``subjects`` with at least one, ``n``
  subjects of the cohort; median [Q1, Q3] of sessions per subject over the ``n`` subjects
  (none = 0; R ``quantile(type = 7)``); ``percent`` = 100 x subjects / n;
- ``session_dose`` (level: the dose code; None: not recorded): ``count`` sessions at that
  dose, ``n`` sessions of the cohort, ``percent`` = 100 x count / n, ``subjects`` with at least one;
- ``sirolimus_doses`` (level None): ``count`` doses taken, ``subjects`` who took at least
  one, ``n`` subjects of the cohort; median [Q1, Q3] of doses taken per subject;
- ``sirolimus_protocol``: per criterion (``level``) among the doses taken or their takers:
  ``dose`` and ``timing`` count doses (``n`` doses taken; ``subjects``: takers all of whose
  doses met it); ``interval``, ``first_day`` and ``all`` count subjects (``n`` subjects who took
  a dose): the protocol's number of doses with the protocol's interval (+/- its tolerance)
  between consecutive doses; the first dose on the protocol day; every criterion met.

A session is a row of the session form with a day or a dose; a dose is taken when its
``taken`` field equals ``taken_value``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from registry.analysis.toml_table import TomlTable

KEYS = ["cohort", "category", "level", "label", "subjects", "count", "n", "percent", "median", "q1", "q3"]


@dataclass(frozen=True)
class ExposureFields:
    """Plan ``[exposure]``: where sessions and sirolimus doses live, and the protocol."""

    session_form: str = "esketamine_session"
    session_day: str = "esk_date"
    session_dose: str = "esk_dose_mg"
    dose_form: str = "sirolimus_dose"
    dose_day: str = "sir_date"
    dose_mg: str = "sir_dose_mg"
    dose_hours_before: str = "sir_hours_before"
    dose_taken: str = "sir_taken"
    taken_value: int = 1
    protocol_dose: float = 6.0
    protocol_hours_before: float = 2.0
    protocol_doses: int = 2
    protocol_interval_days: int = 28
    protocol_tolerance_days: int = 3
    protocol_first_day: int = 0


def read_exposure(t: TomlTable) -> ExposureFields:
    """Read the plan's ``[exposure]`` table (every key required)."""
    s, d, p = t.table("sessions"), t.table("sirolimus"), t.table("protocol")
    fields = ExposureFields(
        s.name_("form"),
        s.name_("day"),
        s.name_("dose"),
        d.name_("form"),
        d.name_("day"),
        d.name_("dose"),
        d.name_("hours_before"),
        d.name_("taken"),
        d.get("taken_value", int, 1),
        float(p.get("dose", (int, float))),
        float(p.get("hours_before", (int, float))),
        p.get("doses", int),
        p.get("interval_days", int),
        p.get("interval_tolerance_days", int, 0),
        p.get("first_day", int),
    )
    if fields.protocol_doses < 1:
        p.fail("doses", "`doses` must be at least 1", "set `doses = 2`")
    if fields.protocol_tolerance_days < 0:
        p.fail("interval_tolerance_days", "`interval_tolerance_days` is negative", "set it to 0 or more, e.g. 3")
    for table in (s, d, p, t):
        table.done()
    return fields


def stage_exposure(con: duckdb.DuckDBPyConnection, plan, f: ExposureFields) -> None:
    """Views ``_sessions`` (record_id, day, dose) and ``_doses`` (record_id, day, dose,
    hours_before, taken) from the plan's fields."""
    from registry.analysis.stage import form_column, plan_form

    def col(rel, form: str, field: str, key: str, **kw):
        return form_column(rel, plan, form, field, f"exposure.{key}", **kw)

    rel = plan_form(con, plan, f.session_form, "exposure.sessions.form")
    rel.select(
        "record_id",
        col(rel, f.session_form, f.session_day, "sessions.day", day=True).alias("day"),
        col(rel, f.session_form, f.session_dose, "sessions.dose", cast="DOUBLE").alias("dose"),
    ).to_view("_sessions", replace=True)
    rel = plan_form(con, plan, f.dose_form, "exposure.sirolimus.form")
    rel.select(
        "record_id",
        col(rel, f.dose_form, f.dose_day, "sirolimus.day", day=True).alias("day"),
        col(rel, f.dose_form, f.dose_mg, "sirolimus.dose", cast="DOUBLE").alias("dose"),
        col(rel, f.dose_form, f.dose_hours_before, "sirolimus.hours_before", cast="DOUBLE").alias("hours_before"),
        col(rel, f.dose_form, f.dose_taken, "sirolimus.taken", cast="INTEGER").alias("taken"),
    ).to_view("_doses", replace=True)


def code_text(value) -> str | None:
    """A choice code as text: 56.0 -> "56"; None stays None."""
    import pandas as pd

    if value is None or pd.isna(value):
        return None
    v = float(value)
    return str(int(v)) if v.is_integer() else str(v)


def criteria_labels(f: ExposureFields) -> dict[str, str]:
    """The ``sirolimus_protocol`` levels and their labels, from the plan's protocol."""
    g = code_text
    tolerance = f" ± {f.protocol_tolerance_days}" if f.protocol_tolerance_days else ""
    return {
        "dose": f"dose {g(f.protocol_dose)} mg",
        "timing": f"taken {g(f.protocol_hours_before)} h before an esketamine session that day",
        "interval": f"{f.protocol_doses} doses {f.protocol_interval_days}{tolerance} days apart",
        "first_day": f"first dose on day {f.protocol_first_day}",
        "all": "all of these",
    }


def _spread(values) -> dict:
    from registry.analysis.baseline_table import quantile7

    if len(values) == 0:
        return {"median": None, "q1": None, "q3": None}
    return {"median": quantile7(values, 0.5), "q1": quantile7(values, 0.25), "q3": quantile7(values, 0.75)}


def _row(cohort, category, level, label, subjects, count, n, percent_of=None, spread=None) -> dict:
    base = count if percent_of is None else percent_of
    return {
        "cohort": cohort,
        "category": category,
        "level": level,
        "label": label,
        "subjects": int(subjects),
        "count": int(count),
        "n": int(n),
        "percent": 100.0 * base / n if n else None,
        **(spread or {"median": None, "q1": None, "q3": None}),
    }


def exposure_rows(
    per_subject: pd.DataFrame, by_dose: pd.DataFrame, cohorts: list[int], labels: dict, criteria: dict
) -> list[dict]:
    """All ``exposure`` rows from :func:`compute_exposure`'s two frames; ``labels``: dose
    code -> label, ``criteria``: :func:`criteria_labels`."""
    rows: list[dict] = []
    for code in cohorts:
        mine = per_subject[per_subject["cohort"] == code]
        n = len(mine)
        sessions = mine["sessions"].to_numpy()
        with_sessions = int((sessions > 0).sum())
        rows.append(
            _row(code, "sessions", None, None, with_sessions, sessions.sum(), n, with_sessions, _spread(sessions))
        )
        doses = by_dose[by_dose["cohort"] == code]
        total = int(doses["sessions"].sum())
        for d in doses.itertuples():
            level = code_text(d.dose)
            label = labels.get(level, level) if level is not None else "not recorded"
            rows.append(_row(code, "session_dose", level, label, d.subjects, d.sessions, total))
        taken = mine["doses_taken"].to_numpy()
        takers = mine[mine["doses_taken"] > 0]
        n_taken = int(taken.sum())
        rows.append(_row(code, "sirolimus_doses", None, None, len(takers), n_taken, n, len(takers), _spread(taken)))
        met_dose = takers["doses_at_dose"] == takers["doses_taken"]
        met_time = takers["doses_on_time"] == takers["doses_taken"]
        met_all = met_dose & met_time & takers["interval_ok"] & takers["first_ok"]
        for level, doses_met, subjects_met in (
            ("dose", takers["doses_at_dose"].sum(), met_dose.sum()),
            ("timing", takers["doses_on_time"].sum(), met_time.sum()),
        ):
            rows.append(_row(code, "sirolimus_protocol", level, criteria[level], subjects_met, doses_met, n_taken))
        for level, met in (("interval", takers["interval_ok"]), ("first_day", takers["first_ok"]), ("all", met_all)):
            rows.append(_row(code, "sirolimus_protocol", level, criteria[level], met.sum(), met.sum(), len(takers)))
    return rows


def compute_exposure(con: duckdb.DuckDBPyConnection, plan, f: ExposureFields) -> list[dict]:
    """Stage the plan's exposure fields and return the ``exposure`` rows (needs ``_subjects``)."""
    from registry.analysis.choices import choice_labels
    from registry.analysis.stage import run_sql

    stage_exposure(con, plan, f)
    per_subject = run_sql(
        con,
        "exposure_subjects",
        {
            "taken_value": f.taken_value,
            "dose": f.protocol_dose,
            "hours_before": f.protocol_hours_before,
            "doses": f.protocol_doses,
            "interval_days": f.protocol_interval_days,
            "tolerance_days": f.protocol_tolerance_days,
            "first_day": f.protocol_first_day,
        },
    )
    by_dose = run_sql(con, "exposure_doses")
    cohorts = [c for c, _ in plan.cohorts]
    return exposure_rows(per_subject, by_dose, cohorts, choice_labels(con, f.session_dose), criteria_labels(f))
