"""Disposition by cohort over the analysis set (``results.json`` ``disposition``).

What became of the subjects: one row per cohort and status code (plan ``[disposition]``:
the status field and the free-text reason field), ``{cohort, level, label, subjects,
percent, with_reason, without_reason}`` (docs/results.md). ``level`` is the status code
as a string (None: no status recorded), ``label`` its choice label from the registry's
data dictionary, ``percent`` = 100 x subjects / subjects of the cohort in the analysis set.
Every status of the dictionary gets a row, zero or not. Reasons are counted (a non-blank
reason recorded, or not), never quoted: their text is free text and never leaves the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from registry.analysis.toml_table import TomlTable

KEYS = ["cohort", "level", "label", "subjects", "percent", "with_reason", "without_reason"]


@dataclass(frozen=True)
class DispositionFields:
    """Plan ``[disposition]``: the form, its status field and its free-text reason field."""

    form: str = "disposition"
    status: str = "disp_status"
    reason: str = "disp_reason"


def read_disposition(t: TomlTable) -> DispositionFields:
    """Read the plan's ``[disposition]`` table."""
    fields = DispositionFields(t.name_("form"), t.name_("status"), t.name_("reason"))
    t.done()
    return fields


def stage_disposition(con: duckdb.DuckDBPyConnection, plan, f: DispositionFields) -> None:
    """View ``_disposition`` (record_id, instance, status, has_reason): the reason's text is
    reduced to whether one is recorded before anything else reads it."""
    import duckdb

    from registry.analysis.stage import form_column, plan_form

    rel = plan_form(con, plan, f.form, "disposition.form")
    status = form_column(rel, plan, f.form, f.status, "disposition.status", cast="INTEGER").alias("status")
    reason = form_column(rel, plan, f.form, f.reason, "disposition.reason", cast="VARCHAR")
    blank = duckdb.FunctionExpression("trim", reason) != duckdb.ConstantExpression("")
    has_reason = duckdb.CoalesceOperator(blank, duckdb.ConstantExpression(False))
    instance = (
        duckdb.ColumnExpression("redcap_repeat_instance")
        if "redcap_repeat_instance" in rel.columns
        else duckdb.ConstantExpression(None).cast(duckdb.sqltype("INTEGER"))
    )
    rel.select("record_id", instance.alias("instance"), status, has_reason.alias("has_reason")).to_view(
        "_disposition", replace=True
    )


def disposition_rows(counts: pd.DataFrame, subjects: pd.DataFrame, cohorts: list[int], labels: dict) -> list[dict]:
    """All ``disposition`` rows. ``counts``: sql/disposition.sql; ``subjects``: the analysis set."""
    from registry.analysis.exposure import code_text

    found = {(int(r.cohort), code_text(r.status)): r for r in counts.itertuples()}
    codes = list(labels) + sorted({s for _, s in found if s is not None and s not in labels}, key=float)
    rows = []
    for cohort in cohorts:
        n = int((subjects["cohort"] == cohort).sum())
        for level in [*codes, None]:
            r = found.get((cohort, level))
            if level is None and r is None:
                continue
            k, reasons = (int(r.subjects), int(r.with_reason)) if r is not None else (0, 0)
            rows.append(
                {
                    "cohort": cohort,
                    "level": level,
                    "label": labels.get(level, level) if level is not None else "not recorded",
                    "subjects": k,
                    "percent": 100.0 * k / n if n else None,
                    "with_reason": reasons,
                    "without_reason": k - reasons,
                }
            )
    return rows


def compute_disposition(con: duckdb.DuckDBPyConnection, plan, f: DispositionFields, subjects) -> list[dict]:
    """Stage the plan's disposition fields and return the ``disposition`` rows."""
    from registry.analysis.choices import choice_labels
    from registry.analysis.stage import run_sql

    stage_disposition(con, plan, f)
    counts = run_sql(con, "disposition")
    return disposition_rows(counts, subjects, [c for c, _ in plan.cohorts], choice_labels(con, f.status))
