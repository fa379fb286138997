"""From the wide export (temp table ``raw``) to one typed table per instrument.

REDCapTidieR's model: each instrument's rows are keyed by record, event and repeat
instance. A row of the export belongs to a form when it is that form's repeating-instrument
row, or when it is a plain (or repeating-event) row with data on the form. Every cell is cast
by its field's type; a value that does not fit goes to ``_cast_failures`` and a missing-data
code to ``_missing_values``, never silently to NULL.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.redcap.columns import Column, form_columns, missing_code_columns, quote_ident
from registry.redcap.project import Project

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
                      on_form=None) -> dict[str, dict[str, int]]:
    """Create ``<schema>.<form>`` for every form, and the side tables. Returns counts per form."""
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
    counts: dict[str, dict[str, int]] = {}
    dag = "r.redcap_data_access_group" if "redcap_data_access_group" in header else "cast(null as varchar)"
    join = "left join __anchor a on a.record_id = r.record_id" if anchor else ""
    for plan in plan_forms(project, header, dropped):
        route = _route_sql(plan, missing_cols)
        values = ",\n  ".join(_value_sql(c, _anchored(c, project), plan.present) for c in plan.columns)
        table = f"{s}.{quote_ident(plan.form)}"
        con.execute(
            f"create table {table} as select {KEYS_SQL}, {dag} as redcap_data_access_group,\n  {values}\n"
            f"from raw r {join} where {route} order by r.__row",
            {"form": plan.form},
        )
        _write_side_rows(con, project, plan, s, join, codes, missing_cols)
        rows, records = con.execute(f"select count(*), count(distinct record_id) from {table}").fetchone()
        counts[plan.form] = {"rows": rows, "records": records}
        if on_form:
            on_form(plan.form)
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


def _write_side_rows(con, project: Project, plan: FormPlan, s: str, join: str,
                     codes: list[str], missing_cols: dict[str, tuple[str, str]]) -> None:
    """Cells that fail their type, and missing-data codes, of one form's columns.

    Every non-blank cell of a form's column counts, whether or not its row carries other data
    of the form, so that nothing is dropped unseen.
    """
    keys = "$form, r.record_id, r.redcap_event_name, cast(r.redcap_repeat_instance as integer)"
    fails, missing = [], []
    for c in plan.data_columns():
        x = f"r.{quote_ident(c.name)}"
        field = c.name if c.kind == "bool" else c.field_name
        if c.kind == "bool":
            fails.append(f"select {keys}, '{field}', {x}, 'not a checkbox value (0 or 1)' from raw r "
                         f"where {x} is not null and not {c.valid_sql(x)}")
            continue
        coded = f"list_contains($codes, {x})"
        missing.append(f"select {keys}, '{field}', {x} from raw r where {coded} and not {c.valid_sql(x)}"
                       if c.kind != "text" else f"select {keys}, '{field}', {x} from raw r where {coded}")
        if c.kind != "text":
            fails.append(f"select {keys}, '{field}', {x}, 'not a valid {c.kind} value' from raw r "
                         f"where {x} is not null and not {c.valid_sql(x)} and not {coded}")
        if _anchored(c, project):
            fails.append(f"select {keys}, '{field}', {x}, 'no study-day anchor ({project.study_day_anchor}) "
                         f"for this record' from raw r {join} where {x} is not null and {c.valid_sql(x)} "
                         "and a.__anchor is null")
    form_fields = {c.field_name for c in plan.columns}
    for col, (fname, code) in missing_cols.items():
        if fname in form_fields and col in plan.present:
            missing.append(f"select {keys}, '{fname}', '{code}' from raw r where r.{quote_ident(col)} = '1'")
    params = {"form": plan.form, "codes": codes}
    if fails:
        con.execute(f"insert into {s}._cast_failures " + "\nunion all\n".join(fails), params)
    if missing:
        con.execute(f"insert into {s}._missing_values " + "\nunion all\n".join(missing), params)


def write_records(con, header: list[str], schema: str) -> int:
    s = quote_ident(schema)
    dag = "any_value(redcap_data_access_group)" if "redcap_data_access_group" in header else "cast(null as varchar)"
    sid = "any_value(redcap_survey_identifier)" if "redcap_survey_identifier" in header else "cast(null as varchar)"
    con.execute(
        f"create table {s}._records as select record_id, {dag} as redcap_data_access_group, "
        f"{sid} as redcap_survey_identifier from raw group by record_id order by min(__row)"
    )
    return con.execute(f"select count(*) from {s}._records").fetchone()[0]
