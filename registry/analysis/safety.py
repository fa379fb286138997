"""Adverse events by cohort, over the analysis set (``results.json`` ``adverse_events``).

Rows ``{cohort, category, level, subjects, events, percent}``; ``category``:

- ``any``: subjects with at least one event, and all their events (``level`` None);
- ``serious``: subjects with at least one serious event, and the serious events;
- ``severity``: per severity code, the subjects whose worst (highest-coded) event is at that
  level, and the events at that level;
- ``related``: the same by relatedness (strongest = highest code);
- ``term``: per term (trimmed and case-folded), subjects and events; most frequent first
  (subjects, then events, then the term).

``percent`` = 100 x subjects / subjects of the cohort in the analysis set. An event is a row
of the adverse-event form with a date or a term.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from registry.analysis.toml_table import TomlTable

KEYS = ["cohort", "category", "level", "subjects", "events", "percent"]


@dataclass(frozen=True)
class AdverseEventFields:
    """Where the adverse events live (plan ``[adverse_events]``)."""

    form: str = "adverse_event"
    date: str = "ae_date"
    term: str = "ae_term"
    severity: str = "ae_severity"
    serious: str = "ae_serious"
    serious_value: int = 1
    related: str = "ae_related"


def read_adverse_events(t: TomlTable) -> AdverseEventFields:
    """Read the plan's ``[adverse_events]`` table."""
    fields = AdverseEventFields(
        t.name_("form"),
        t.name_("date"),
        t.name_("term"),
        t.name_("severity"),
        t.name_("serious"),
        t.get("serious_value", int, 1),
        t.name_("related"),
    )
    t.done()
    return fields


def read_events(con: duckdb.DuckDBPyConnection, f: AdverseEventFields) -> pd.DataFrame:
    """``record_id``, ``date``, ``term``, ``severity``, ``serious``, ``related`` of every event."""
    import duckdb

    c = duckdb.ColumnExpression
    rel = con.table(f"reg.main.{f.form}")
    frame = rel.select(
        c("record_id"),
        c(f.date).alias("date"),
        c(f.term).alias("term"),
        c(f.severity).alias("severity"),
        c(f.serious).alias("serious"),
        c(f.related).alias("related"),
    ).df()
    frame = frame[frame["date"].notna() | frame["term"].notna()].copy()
    frame["serious"] = frame["serious"] == f.serious_value
    return frame


def adverse_event_rows(events: pd.DataFrame, subjects: pd.DataFrame, cohorts: list[int]) -> list[dict]:
    """All ``adverse_events`` rows. ``subjects``: the analysis set (``record_id``, ``cohort``)."""
    ev = events.merge(subjects[["record_id", "cohort"]], on="record_id", how="inner")
    ev["term_key"] = ev["term"].fillna("").astype(str).str.strip().str.casefold()
    rows: list[dict] = []
    for code in cohorts:
        n = int((subjects["cohort"] == code).sum())
        mine = ev[ev["cohort"] == code]

        def row(category, level, subj, count, code=code, n=n):
            return {
                "cohort": code,
                "category": category,
                "level": level,
                "subjects": int(subj),
                "events": int(count),
                "percent": 100.0 * subj / n if n else None,
            }

        rows.append(row("any", None, mine["record_id"].nunique(), len(mine)))
        serious = mine[mine["serious"]]
        rows.append(row("serious", None, serious["record_id"].nunique(), len(serious)))
        for category in ("severity", "related"):
            graded = mine.dropna(subset=[category])
            worst = graded.groupby("record_id")[category].max()
            for level in sorted(graded[category].unique()):
                rows.append(row(category, str(int(level)), (worst == level).sum(), (graded[category] == level).sum()))
        named = mine[mine["term_key"] != ""]
        terms = named.groupby("term_key").agg(subjects=("record_id", "nunique"), events=("record_id", "size"))
        terms = terms.reset_index().sort_values(["subjects", "events", "term_key"], ascending=[False, False, True])
        rows += [row("term", t.term_key, t.subjects, t.events) for t in terms.itertuples()]
    return rows
