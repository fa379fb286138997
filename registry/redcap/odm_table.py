"""The export rows of ODM records read by :mod:`~registry.redcap.odm_fast`, built in DuckDB.

:func:`read_rows` leaves the records in the table ``odm_el`` (one row per structural tag and per
non-empty item, with the line of its SubjectData, StudyEventData and FormData) and works out, in
Python, only what there are few of: the attributes of each distinct tag, the row key of each
distinct (event, form) pair (:func:`registry.redcap.odm_shape.row_key`), the record ID and DAG
of each record. :func:`create_raw` then builds the temp table ``raw`` in one query: items
grouped into their rows, the last non-empty value of an item kept, as the XML parser's path does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from registry.errors import ExportError
from registry.redcap import odm_fast
from registry.redcap.odm_metadata import OdmMetadata
from registry.redcap.odm_shape import Flat, event_of, local, row_key
from registry.redcap.odm_xml import ODM_FIX
from registry.sqltext import insert_rows, quote_name, reader, render, sql_literal

read_sql = reader("registry.redcap")
DAG = "redcap_data_access_group"
PSEUDO = {"redcap_event_name": "event", "redcap_repeat_instrument": "instrument",
          "redcap_repeat_instance": "instance"}


@dataclass
class FastRows:
    """What :func:`create_raw` needs: the items that have a value (in order of first sight)."""

    rid: str
    source: Path
    tmp: Path
    oids: list[str] = field(default_factory=list)  # the items with a value
    present: set[str] = field(default_factory=set)  # those that are not the record ID
    decoded: dict[str, str] = field(default_factory=dict)
    datetimes: set[str] = field(default_factory=set)


def read_rows(con, source: Path, meta: OdmMetadata, rid: str, tmp: Path) -> tuple[Flat, FastRows]:
    """Read the records into ``odm_el``, ``odm_subjects`` and ``odm_form_rows``; what was seen."""
    els = odm_fast.read_elements(con, source, tmp)
    flat = Flat()
    first_bad = _subjects(con, els, meta)
    pairs = []
    for event_tag, form_tag, first, subject_tag in con.execute(read_sql("odm_form_pairs")).fetchall():
        event, event_key = event_of(els.tags[event_tag] if event_tag is not None else None, meta)
        form = els.tags[form_tag]
        record = local(els.tags[subject_tag]).get("SubjectKey", "")
        try:
            key = row_key(meta, event, event_key, form.get("FormOID", ""), form.get("FormRepeatKey") or "1",
                          f"{meta.path}, SubjectData {record}")
        except ExportError:
            if first_bad is not None and first_bad[0] < first:
                raise first_bad[1] from None
            raise
        pairs.append((event_tag, form_tag, *key))
        flat.events = flat.events or key[0] is not None
        flat.repeats = flat.repeats or key[2] is not None
    if first_bad is not None:
        raise first_bad[1]
    con.execute("create or replace temp table odm_pairs (event_tag varchar, form_tag varchar, event varchar, "
                "instrument varchar, instance varchar)")
    insert_rows(con, "odm_pairs", pairs)
    con.execute(read_sql("odm_form_rows"))
    flat.subjects = con.execute("select count(*) from odm_subjects").fetchone()[0]
    flat.rows = con.execute("select coalesce(max(row_no), 0) from odm_form_rows").fetchone()[0]
    rows = FastRows(rid=rid, source=source, tmp=tmp, decoded=els.decoded, datetimes=meta.datetime_items)
    rows.oids = els.oids
    rows.present = {oid for oid in els.oids if oid != rid}
    flat.dag = DAG in rows.present or con.execute("select count(dag) > 0 from odm_subjects").fetchone()[0]
    return flat, rows


def _subjects(con, els: odm_fast.Elements, meta: OdmMetadata) -> tuple[int, ExportError] | None:
    """The table ``odm_subjects`` (line, record ID, DAG); the first SubjectData with no SubjectKey."""
    subjects, first_bad = [], None
    for n, (k, tag) in enumerate(con.execute("select k, text from odm_el where kind = 2 order by k").fetchall(), 1):
        a = local(els.tags[tag])
        record = a.get("SubjectKey", "")
        if not record.strip() and first_bad is None:
            first_bad = (k, ExportError("a SubjectData element has no SubjectKey (record ID)",
                                        where=f"{meta.path}, SubjectData {record or '#' + str(n)}", fix=ODM_FIX))
        subjects.append((k, record, a.get("DataAccessGroup") or None))
    con.execute("create or replace temp table odm_subjects (sk bigint, record varchar, dag varchar)")
    insert_rows(con, "odm_subjects", subjects)
    return first_bad


def extras(con, rows: FastRows, known: set[str]) -> list[str]:
    """The items the metadata does not name, in the order a CSV writer meets them (row by row)."""
    extra = sorted(rows.present - known)
    if not extra:
        return []
    return [oid for (oid,) in con.execute(
        "select i.oid from odm_el i join odm_form_rows r on r.k = i.fk "
        "where i.kind = 6 and list_contains($oids, i.oid) "
        "group by i.oid order by min({'row': r.row_no, 'k': i.k})", {"oids": extra}).fetchall()]


def create_raw(con, rows: FastRows, keep: list[tuple[str, str]]) -> None:
    """The temp table ``raw``: ``__row`` and the columns ``keep`` (export name, mapped name)."""
    columns = []
    for r, m in keep:
        cell = f"c[{sql_literal(r)}]" if r in rows.present else None
        if cell is not None and r in rows.datetimes:
            cell = f"regexp_replace({cell}, 'T', ' ')"
        if r == rows.rid:
            expr = "record"
        elif r in PSEUDO:
            expr = f"coalesce({PSEUDO[r]}, {cell})" if cell else PSEUDO[r]
        elif r == DAG:
            expr = "coalesce(dag, first_dag)"
        else:
            expr = cell or "null::varchar"
        columns.append(f"{expr} as {quote_name(m)}")
    struct = json.dumps(dict.fromkeys(rows.oids, "VARCHAR"))
    dag_items = "true" if DAG in rows.present else "false"  # the DAG items are looked for only if there are any
    items = " + ".join(f"(c[{sql_literal(oid)}] is not null)::int" for oid in rows.oids) or "0"
    sql = render(read_sql("odm_raw"), columns=", ".join(columns), dag_items=dag_items, items=items)
    _cells(con, rows, last_values=False)
    con.execute("drop table odm_el")  # what raw needs of it is in odm_cells: memory for raw
    con.execute(sql, {"struct": struct})
    if con.execute("select bool_or(__written_twice) from raw").fetchone()[0]:  # rare: read the items again
        odm_fast.read_elements(con, rows.source, rows.tmp)
        _cells(con, rows, last_values=True)
        con.execute(sql, {"struct": struct})
    con.execute("alter table raw drop column __written_twice")


def _cells(con, rows: FastRows, last_values: bool) -> None:
    """The table ``odm_cells``: each row's items as a JSON object (``last_values``: an item written
    twice in a row has its last value; slower, so done only when there is one)."""
    if rows.decoded:
        con.execute("create or replace temp table odm_decoded (raw varchar, decoded varchar)")
        insert_rows(con, "odm_decoded", list(rows.decoded.items()))
    slots = {"value": "coalesce(d.decoded, i.value)" if rows.decoded else "i.value",
             "decoded": "left join odm_decoded d on d.raw = i.value" if rows.decoded else ""}
    con.execute(render(read_sql("odm_cells"), source="last_values" if last_values else "items", **slots))


def drop(con) -> None:
    """Drop the working tables (after ``raw`` is built, or when the XML parser's path takes over)."""
    for table in ("odm_el", "odm_forms", "odm_subjects", "odm_pairs", "odm_form_rows", "odm_decoded", "odm_cells"):
        con.execute(f"drop table if exists {table}")
