"""From the wide export (temp table ``raw``) to one typed table per instrument.

REDCapTidieR's model: each instrument's rows are keyed by record, event and repeat
instance. A row of the export belongs to a form when it is that form's repeating-instrument
row, or when it is a plain (or repeating-event) row with data on the form. Every cell is cast
by its field's type; a value that does not fit goes to ``_cast_failures`` and a missing-data
code to ``_missing_values``, never silently to NULL. A value on a row where its form cannot be
(another repeating instrument's row, or an event the form is not mapped to) goes to
``_misplaced_values``: the ingest refuses it, or with ``--ignore-misplaced`` keeps it there only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from registry.redcap import misplaced
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

    def cells(self, missing_cols: dict[str, tuple[str, str]]) -> tuple[list[str], list[str]]:
        """The export columns of the form (missing-code checkboxes too), and those whose '0' is REDCap's filler."""
        fields = {c.field_name for c in self.columns}
        extra = [col for col, (fname, _code) in missing_cols.items() if fname in fields and col in self.present]
        data = self.data_columns()
        fillers = [c.name for c in data if c.kind == "bool" or c.name == f"{self.form}_complete"]
        return [c.name for c in data] + extra, fillers + extra


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
    form_fields = {c.field_name for c in plan.columns}
    for col, (fname, _code) in missing_cols.items():
        if fname in form_fields and col in plan.present:
            tests.append(f"r.{quote_ident(col)} = '1'")
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


def _anchored(c: Column, project: Project) -> bool:
    return bool(project.study_day_anchor) and c.kind in {"date", "datetime"}


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
    dag = "r.redcap_data_access_group" if "redcap_data_access_group" in header else "cast(null as varchar)"
    join = "left join __anchor a on a.record_id = r.record_id" if anchor else ""

    def write(plan: FormPlan, placed: str, repeats: list[str] = ()) -> dict[str, int]:
        params = {"form": plan.form, "events": misplaced.form_events(project, plan.form), "repeats": list(repeats)}
        route = f"{_route_sql(plan, missing_cols)} and {placed}"
        values = ",\n  ".join(_value_sql(c, _anchored(c, project), plan.present) for c in plan.columns)
        table = f"{s}.{quote_ident(plan.form)}"
        sql = (f"create table {table} as select {KEYS_SQL}, {dag} as redcap_data_access_group,\n  {values},\n"
               f"  r.__row from raw r {join} where {route}")
        _execute(con, sql, params)
        _write_side_rows(con, project, plan, s, table, codes, missing_cols, placed, params)
        if placed != "true":
            _execute(con, *misplaced.insert_sql(f"{s}._misplaced_values", plan.form, *plan.cells(missing_cols),
                                                placed, params))
        con.execute(f"alter table {table} drop column __row")
        rows, records = con.execute(f"select count(*), count(distinct record_id) from {table}").fetchone()
        return {"rows": rows, "records": records}

    counts: dict[str, dict[str, int]] = {}
    for plan in plans:
        counts[plan.form] = write(plan, "true")
        if on_form:
            on_form(plan.form)
    # Then one pass for values where their form cannot be (after the tables: run first, it slows them);
    # only such a form (most exports have none) is written again with its rows told apart.
    suspect, repeats = misplaced.suspect_forms(con, project, {plan.form: plan.cells(missing_cols) for plan in plans})
    for plan in plans:
        if plan.form in suspect:
            con.execute(f"drop table {s}.{quote_ident(plan.form)}")
            for side in ("_cast_failures", "_missing_values"):
                con.execute(f"delete from {s}.{side} where form = $form", {"form": plan.form})
            counts[plan.form] = write(plan, misplaced.placed_sql(project), repeats.get(plan.form, []))
    if not ignore_misplaced:
        misplaced.refuse(con, f"{s}._misplaced_values", source)
    return counts


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


def _write_side_rows(con, project: Project, plan: FormPlan, s: str, table: str, codes: list[str],
                     missing_cols: dict[str, tuple[str, str]], placed: str, params: dict) -> None:
    """Cells that did not survive their cast, and missing-data codes, of one form's columns.

    A typed cell that is NULL where the export cell was not is a failed cast (or a missing-data
    code); found by joining the new table back to the export on the row number. Checkbox
    cells are checked on every row, so that nothing is dropped unseen.
    """
    keys = "$form, j.record_id, j.redcap_event_name, cast(j.redcap_repeat_instance as integer)"
    typed = [c for c in plan.data_columns() if c.kind not in {"text", "bool"}]
    fails, missing = [], []
    for c in typed:
        x, t = f"j.{quote_ident(c.name)}", f"j.{quote_ident(c.name + '__typed')}"
        reason = (f"case when {c.valid_sql(x)} then 'no study-day anchor ({project.study_day_anchor}) for this "
                  f"record' else 'not a valid {c.kind} value' end" if _anchored(c, project)
                  else f"'not a valid {c.kind} value'")
        fails.append(f"select {keys}, '{c.field_name}', {x}, {reason} from j "
                     f"where {t} is null and {x} is not null and not list_contains($codes, {x})")
        missing.append(f"select {keys}, '{c.field_name}', {x} from j where {t} is null and list_contains($codes, {x})")
    keys_r = keys.replace("j.", "r.")
    for c in plan.data_columns():
        x = f"r.{quote_ident(c.name)}"
        if c.kind == "bool":
            fails.append(f"select {keys_r}, '{c.name}', {x}, 'not a checkbox value (0 or 1)' from raw r "
                         f"where {x} is not null and {x} not in ('0', '1') and {placed}")
        elif c.kind == "text":
            missing.append(f"select {keys_r}, '{c.field_name}', {x} from raw r "
                           f"where list_contains($codes, {x}) and {placed}")
    form_fields = {c.field_name for c in plan.columns}
    params = params | {"codes": codes}
    for col, (fname, code) in missing_cols.items():
        if fname in form_fields and col in plan.present:
            x = f"r.{quote_ident(col)}"
            n = len(params)  # the code is a bound value: a code such as O'K is data, not SQL
            params |= {f"field_{n}": fname, f"code_{n}": code, f"column_{n}": col}
            missing.append(f"select {keys_r}, $field_{n}, $code_{n} from raw r where {x} = '1' and {placed}")
            fails.append(f"select {keys_r}, $column_{n}, {x}, 'not a checkbox value (0 or 1)' from raw r "
                         f"where {x} is not null and {x} not in ('0', '1') and {placed}")
    joined = ", ".join(f"r.{quote_ident(c.name)}, t.{quote_ident(c.name)} as {quote_ident(c.name + '__typed')}"
                       for c in typed)
    if typed:  # the export cells and their typed values side by side, once for both inserts
        con.execute(f"create or replace temp table j as select r.record_id, r.redcap_event_name, "
                    f"r.redcap_repeat_instance, {joined} from raw r join {table} t on t.__row = r.__row")
    if fails:
        _execute(con, f"insert into {s}._cast_failures " + "\nunion all\n".join(fails), params)
    if missing:
        _execute(con, f"insert into {s}._missing_values " + "\nunion all\n".join(missing), params)


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
