"""From the gate's hits to data queries: one finding per cell and rule, with its status, value,
site and stable id.

:func:`add_context` keeps one finding per record, event, instance, field and rule of the
hits, marks it ``new`` or ``open`` against the previous validated batch, and takes its
flagged value (text, or NULL where the field is free text, which is never printed): read by
the check's own scan where it could, else looked up in the batch. It adds the record's data
access group, a ``query_id`` that is the same for the same record, event, instance, field
and rule in every batch, and the status ``confirmed`` when a site confirmed exactly this
value (:mod:`registry.queries`). The sentence a site coordinator reads comes from
:mod:`registry.checks.query_text`. The result is the temp view ``__result``: ``__context``
with a ``query`` column."""

from __future__ import annotations

from registry import sqltext
from registry.checks.query_text import Labels, compose_query
from registry.checks.suites import Check
from registry.sqltext import insert_rows, quote_ident

read_sql = sqltext.reader("registry.checks")

#: Columns every form table has; findings on them carry no value.
KEY_COLUMNS = {"record_id", "redcap_event_name", "redcap_repeat_instance", "redcap_data_access_group"}
#: Field types whose values are never printed (identifiers can hide there).
FREE_TEXT_TYPES = {"notes", "file", "descriptive"}


def add_context(con, schema: str, checks: dict[str, Check], tables: dict[str, dict[str, str]],
                labels: Labels, previous: int | None) -> None:
    """Create ``__context`` (one row per finding of ``__hits``: its check, status against the
    validated batch ``previous``, query_id, site, value, value_key) and the view ``__result``
    (``__context`` with each finding's ``query`` sentence).

    ``tables`` maps each table of the batch to its columns and their types and ``labels`` are
    the batch's field and event labels (the gate has read both already).
    """
    _fill_values(con, schema, labels, tables)
    con.execute(read_sql("findings_context.sql"), {"records_table": f"{schema}._records", "previous": previous})
    # many findings share field, rule, event and value: one sentence per distinct key
    keys = con.execute("select distinct field, rule, event, value, expectation from __context").fetchall()
    texts = [(*key, compose_query(*key[:4], checks.get(key[4]), labels)) for key in keys]
    con.execute("create or replace temp table __texts (field varchar, rule varchar, event varchar, "
                "value varchar, expectation varchar, query varchar)")
    insert_rows(con, "__texts", texts)
    con.execute(read_sql("findings_text.sql"))


def read_labels(con, schema: str) -> Labels:
    """Field labels, types and event labels from the batch's snapshot of the project."""
    s = quote_ident(schema)
    fields = {name: (label or name, ftype or "", validation or "") for name, label, ftype, validation in con.execute(
        f"select field_name, field_label, field_type, text_validation_type_or_show_slider_number "
        f"from {s}._dictionary").fetchall()}
    events = dict(con.execute(f"select unique_event_name, event_name from {s}._events").fetchall())
    return Labels(fields=fields, events=events)


def _fill_values(con, schema: str, labels: Labels, tables: dict[str, dict[str, str]]) -> None:
    """``__values``: the flagged cell of every finding whose check's scan did not read it
    (``__checks.scanned``) and that points at a column of a form table; missing-data codes."""
    con.execute("create or replace temp table __values (record_id varchar, event varchar, instance integer, "
                "field varchar, value varchar, shown boolean)")
    wanted = {f for (f,) in con.execute(
        "select distinct h.field from __hits as h join __checks as c using (check_idx) "
        "where not c.scanned and h.record_id is not null").fetchall()} - KEY_COLUMNS
    by_table = {table: [c for c in columns if c in wanted] for table, columns in tables.items()
                if not table.startswith("_")}
    selects = []  # one select per form table with flagged columns, inserted in one statement
    for table, columns in by_table.items():
        if not columns:
            continue
        cases = " ".join(f"when {_literal(c)} then cast(t.{quote_ident(c)} as varchar)" for c in columns)
        shown = [c for c in columns if shown_field(c, labels)]
        shown_sql = f"f.field in ({', '.join(_literal(c) for c in shown)})" if shown else "false"
        selects.append(
            f"select f.record_id, f.event, f.instance, f.field, any_value(case f.field {cases} end), "
            f"any_value({shown_sql}) "
            f"from (select distinct h.record_id, h.event, h.instance, h.field from __hits as h "
            f"join __checks as c using (check_idx) where not c.scanned "
            f"and h.field in ({', '.join(_literal(c) for c in columns)})) as f "
            f"join {quote_ident(schema)}.{quote_ident(table)} as t on t.record_id = f.record_id "
            "and t.redcap_event_name is not distinct from f.event "
            "and t.redcap_repeat_instance is not distinct from f.instance "
            "group by all"
        )
    if selects:
        con.execute("insert into __values " + "\nunion all\n".join(selects))
    # A missing-data code (rule I) is NULL in its typed column: the code is the value.
    con.execute(sqltext.render(read_sql("missing_codes.sql"), missing=f"{quote_ident(schema)}._missing_values"))


def shown_field(column: str, labels: Labels) -> bool:
    """Whether values of ``column`` may be printed in a finding (not free text, not unknown)."""
    return not _is_free_text(column, labels)


def _is_free_text(column: str, labels: Labels) -> bool:
    base = column.split("___", 1)[0]
    if base not in labels.fields:  # <form>_complete is a status code; anything else unknown stays hidden
        return not column.endswith("_complete")
    if column != base:  # a checkbox column holds a tick, never text
        return False
    _, ftype, validation = labels.fields[base]
    return ftype in FREE_TEXT_TYPES or (ftype == "text" and not validation)


def _literal(name: str) -> str:
    quote_ident(name)  # shape check: only REDCap-shaped names reach the SQL text
    return f"'{name}'"
