"""From the wide export (table ``raw``) to one typed table per instrument.

REDCapTidieR's model: each instrument's rows are keyed by record, event and repeat
instance. A row of the export belongs to a form when it is that form's repeating-instrument
row, or when it is a plain (or repeating-event) row with data on the form. Every cell is cast
by its field's type; a value that does not fit goes to ``_cast_failures`` and a missing-data
code to ``_missing_values``, never silently to NULL (:mod:`registry.redcap.side_rows`). A value
on a row where its form cannot be (another repeating instrument's row, a plain row of an event
where the form repeats, or an event the form is not mapped to) goes to ``_misplaced_values``:
the ingest refuses it, or with ``--ignore-misplaced`` keeps it there only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from registry.redcap import misplaced, side_rows
from registry.redcap.columns import Column, form_columns, missing_code_columns
from registry.redcap.project import Project
from registry.sqltext import quote_ident

KEYS_SQL = (
    "r.record_id, r.redcap_event_name, "
    "cast(r.redcap_repeat_instance as integer) as redcap_repeat_instance"
)


@dataclass
class FormPlan:
    """The columns of one instrument table and which of them the export carries."""

    form: str
    columns: list[Column]
    present: set[str]

    def data_columns(self) -> list[Column]:
        return [c for c in self.columns if c.name in self.present]

    def missing_columns(self, missing_cols: dict[str, tuple[str, str]]) -> list[str]:
        """The export's missing-data-code checkbox columns of the form's fields."""
        fields = {c.field_name for c in self.columns}
        return [col for col, (fname, _code) in missing_cols.items() if fname in fields and col in self.present]

    def cells(self, missing_cols: dict[str, tuple[str, str]]) -> tuple[list[str], list[str]]:
        """The export columns of the form (missing-code checkboxes too), and those whose '0' is REDCap's filler."""
        extra = self.missing_columns(missing_cols)
        data = self.data_columns()
        fillers = [c.name for c in data if c.kind == "bool" or c.name == f"{self.form}_complete"]
        return [c.name for c in data] + extra, fillers + extra

    def side(self, missing_cols: dict[str, tuple[str, str]]) -> side_rows.Side:
        """The form's columns as the side-table checks see them (:mod:`registry.redcap.side_rows`)."""
        data = self.data_columns()
        return side_rows.Side([c for c in data if c.kind not in {"text", "bool"}],
                              [c for c in data if c.kind == "bool"], [c for c in data if c.kind == "text"],
                              self.missing_columns(missing_cols))


def plan_forms(project: Project, header: list[str], dropped: set[str]) -> list[FormPlan]:
    present = set(header)
    plans = []
    for form in project.dictionary.forms:
        cols = [c for c in form_columns(project.dictionary, form, present) if c.field_name not in dropped]
        plans.append(FormPlan(form, cols, present))
    return plans


def _route_sql(plan: FormPlan, missing_cols: dict[str, tuple[str, str]]) -> str:
    """SQL predicate: this export row holds data of the form."""
    tests = []
    for c in plan.data_columns():
        q = f"r.{quote_ident(c.name)}"
        if c.kind == "bool":
            tests.append(f"{q} = '1'")
        elif c.name == f"{plan.form}_complete":
            tests.append(f"({q} is not null and {q} <> '0')")
        else:
            tests.append(f"{q} is not null")
    tests += [f"r.{quote_ident(col)} = '1'" for col in plan.missing_columns(missing_cols)]
    data = " or ".join(tests) if tests else "false"
    return f"(r.redcap_repeat_instrument = $form or (r.redcap_repeat_instrument is null and ({data})))"


def _value_sql(c: Column, anchored: bool, present: set[str]) -> str:
    if c.name not in present:
        return f"cast(null as {'INTEGER' if anchored else c.duckdb_type}) as {quote_ident(c.name)}"
    x = f"r.{quote_ident(c.name)}"
    value = c.cast_sql(x)
    if anchored:
        value = (f"date_diff('day', a.__anchor, {value})" if c.kind == "datetime"
                 else f"cast({value} - a.__anchor as integer)")
    return f"case when {c.valid_sql(x)} then {value} end as {quote_ident(c.name)}"


def write_form_tables(con, project: Project, header: list[str], schema: str, dropped: set[str],
                      on_form=None, *, ignore_misplaced: bool = False, source: str = "") -> dict[str, dict[str, int]]:
    """Create ``<schema>.<form>`` for every form, and the side tables. Returns counts per form.

    Values on rows where their form cannot be raise :class:`ExportError` naming the first (``source``
    is the export's name), unless ``ignore_misplaced``: then they are kept in ``_misplaced_values`` only.
    """
    s = quote_ident(schema)
    anchor = project.study_day_anchor
    if anchor:
        _write_anchor(con, project, header)
    missing_cols = missing_code_columns(project.dictionary, project.missing_codes)
    codes = list(project.missing_codes)
    con.execute(f"create table {s}._cast_failures (form varchar, record_id varchar, redcap_event_name varchar, "
                "redcap_repeat_instance integer, field varchar, raw_value varchar, reason varchar)")
    con.execute(f"create table {s}._missing_values (form varchar, record_id varchar, redcap_event_name varchar, "
                "redcap_repeat_instance integer, field varchar, code varchar)")
    con.execute(f"create table {s}._misplaced_values ({misplaced.TABLE_COLUMNS})")
    plans = plan_forms(project, header, dropped)
    cells = {plan.form: plan.cells(missing_cols) for plan in plans}
    sides = {plan.form: plan.side(missing_cols) for plan in plans}
    dag = "r.redcap_data_access_group" if "redcap_data_access_group" in header else "cast(null as varchar)"
    join = side_rows.ANCHOR_JOIN if anchor else ""

    def create(plan: FormPlan, placed: str, params: dict) -> tuple[str, list[int]]:
        """The form's table (its rows: ``route``); the table's row and record counts and typed counts."""
        route = f"{_route_sql(plan, missing_cols)} and {placed}"
        values = ",\n  ".join(_value_sql(c, side_rows.anchored(c, project), plan.present) for c in plan.columns)
        table = f"{s}.{quote_ident(plan.form)}"
        _execute(con, f"create table {table} as select {KEYS_SQL}, {dag} as redcap_data_access_group,\n  {values}\n"
                      f"from raw r {join} where {route}", params)
        typed_sql = side_rows.typed_counts_sql(sides[plan.form], plan.form)
        rows, records, *n = con.execute(f"select count(*), count(distinct record_id)"
                                        f"{', ' + typed_sql if typed_sql else ''} from {table}").fetchone()
        counts[plan.form] = {"rows": rows, "records": records}
        return route, n

    def write_side_rows(side: side_rows.Side, route: str, placed: str, params: dict) -> None:
        params = params | {"codes": codes}
        for sql, bound in side_rows.insert_sql(project, side, missing_cols, s, route, placed, params):
            _execute(con, sql, bound)

    counts: dict[str, dict[str, int]] = {}
    written: dict[str, tuple[str, list[int]]] = {}  # form -> its route and typed counts
    found: list[side_rows.Counts] = []
    ranges: dict[str, tuple] = {}
    for plan in plans:
        written[plan.form] = create(plan, "true", _params(project, plan.form))
        # What the table cannot tell, read from the form's export columns right after the table (while
        # they are in memory: a large export's ``raw`` outgrows DuckDB's memory, and a pass over all of
        # it reads it back from disk): values where the form cannot be, and the columns that may hold
        # failed casts or missing-data codes. Only a form with misplaced values is written again.
        found.append(side_rows.count_values(con, cells[plan.form][0]))
        ranges |= side_rows.cell_ranges(con, {plan.form: sides[plan.form]}, codes)
        if on_form:
            on_form(plan.form)
    values = side_rows.merge_counts(found)
    suspect, repeats = misplaced.suspect_forms(project, cells, values)
    for plan in plans:
        if plan.form not in suspect:
            route, n = written[plan.form]
            side = side_rows.columns_to_search(sides[plan.form], plan.form, side_rows.totals(values, plan.form), n,
                                               ranges)
            write_side_rows(side, route, "true", _params(project, plan.form))
    for plan in plans:
        if plan.form in suspect:
            params = _params(project, plan.form, repeats.get(plan.form, []))
            placed = misplaced.placed_sql(project)
            con.execute(f"drop table {s}.{quote_ident(plan.form)}")
            route, _n = create(plan, placed, params)
            write_side_rows(sides[plan.form], route, placed, params)
            _execute(con, *misplaced.insert_sql(f"{s}._misplaced_values", plan.form, *cells[plan.form],
                                                placed, params))
    if not ignore_misplaced:
        misplaced.refuse(con, f"{s}._misplaced_values", source)
    return {plan.form: counts[plan.form] for plan in plans}


def _params(project: Project, form: str, repeats: list[str] | None = None) -> dict:
    """The bound parameters of a form's SQL (:func:`misplaced.placed_sql`'s among them)."""
    return {"form": form, "events": misplaced.form_events(project, form), "repeats": repeats or []}


def _write_anchor(con, project: Project, header: list[str]) -> None:
    anchor = project.study_day_anchor
    if anchor in header:
        col = Column(anchor, "", "date")
        x = f"r.{quote_ident(anchor)}"
        con.execute(
            f"create or replace temp table __anchor as select r.record_id, min(cast({x} as date)) as __anchor "
            f"from raw r where {col.valid_sql(x)} group by r.record_id"
        )
    else:
        con.execute("create or replace temp table __anchor (record_id varchar, __anchor date)")


def _execute(con, sql: str, params: dict) -> None:
    """Run ``sql`` with the parameters it names (DuckDB refuses any it does not use: a form of only
    checkboxes and text, without ``<form>_complete``, names no ``$codes`` among its failures)."""
    used = set(re.findall(r"\$(\w+)", sql))
    con.execute(sql, {k: v for k, v in params.items() if k in used})


def write_records(con, header: list[str], schema: str) -> int:
    s = quote_ident(schema)
    dag = "any_value(redcap_data_access_group)" if "redcap_data_access_group" in header else "cast(null as varchar)"
    sid = "any_value(redcap_survey_identifier)" if "redcap_survey_identifier" in header else "cast(null as varchar)"
    con.execute(
        f"create table {s}._records as select record_id, {dag} as redcap_data_access_group, "
        f"{sid} as redcap_survey_identifier from raw group by record_id order by min(__row)"
    )
    return con.execute(f"select count(*) from {s}._records").fetchone()[0]
