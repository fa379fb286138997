"""The PHI gate: cells that look like HIPAA Safe Harbor identifiers.

The ingest calls it on the export while every cell is still text, before anything is
stored. :func:`scan_identifiers` finds the free-text cells (in SQL, one pass over every cell);
:func:`scan_keys` the record IDs and data access groups that look like identifiers;
:func:`format_phi_refusal` words the refusal, naming record, event, field and kind but never
the value; :func:`redact_identifiers` and :func:`pseudonymise_keys` replace them for
``ingest --redact``.

What is scanned:

- free-text fields (``Field.is_free_text``: notes, and text with no validation) and text
  fields validated as ``email`` or ``phone``, for the kinds of registry/phi_patterns.py: e-mail
  addresses (also written "at ... dot com"), URLs, IP addresses, SSNs, fax and phone numbers,
  MRN and other account numbers, street addresses, ZIP codes, ages of 90 or more written in
  text, full dates, names with a title or credential, vehicle, device and licence numbers,
  biometric identifiers and photographs;
- every distinct record ID and data access group, with the same patterns;
- integer fields whose name is ``age`` or ends in ``age``, for ages over 90 (Safe Harbor
  codes every age over 89 as 90).

No cell is skipped: each one is tested against all patterns at once (one RE2 scan); the kinds
are named for the cells that matched. Patterns lean towards few false positives on clinical
text ("56 mg", "Week 8", "PHQ-9 10", "1200000 copies/mL", "2 sessions per week").
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from registry import phi_patterns, sqltext
from registry.redcap.dictionary import Field
from registry.sqltext import quote_ident

#: RE2 patterns, in the order hits are reported (see registry/phi_patterns.py).
PATTERNS = phi_patterns.PATTERNS
AGE_KIND = "age_over_89"
DAG_COLUMN = "redcap_data_access_group"
KEY_FIELDS = ("record ID", "data access group")
AGE_TOP_CODE = "90"
_VALIDATED_IDENTIFIERS = {"email", "phone"}
_AGE_VALIDATIONS = {"integer", "int", "number", "float"}
_SHOWN = 20


@dataclass(frozen=True)
class PhiHit:
    """One cell that looks like an identifier. It never holds the value."""

    record_id: str
    event: str | None
    instance: int | None
    field: str
    kind: str
    row: int


def scan_identifiers(con, table: str, fields: list[Field]) -> list[PhiHit]:
    """Find the cells of ``table`` that look like identifiers.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection holding ``table``.
    table : str
        The export as text: one VARCHAR column per export column, plus ``record_id``,
        ``redcap_event_name``, ``redcap_repeat_instance`` and ``__row`` (the data row).
    fields : list of Field
        The dictionary's fields; those without a column in ``table`` are skipped.

    Returns
    -------
    list of PhiHit
        One hit per cell and kind, in row order.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute(
    ...     "create table raw as select 1::bigint as __row, 'R1' as record_id, "
    ...     "null as redcap_event_name, null as redcap_repeat_instance, "
    ...     "'call 555-867-5309' as note")
    >>> [h.kind for h in scan_identifiers(con, "raw", [Field("note", "f", "notes")])]
    ['phone']
    """
    columns = _table_columns(con, table)
    scanned = [
        f.name for f in fields
        if f.name in columns and f.name != "record_id"
        and (f.is_free_text or (f.field_type == "text" and f.validation in _VALIDATED_IDENTIFIERS))
    ]
    ages = [
        f.name for f in fields
        if f.name in columns and f.field_type == "text" and f.validation in _AGE_VALIDATIONS
        and (f.name == "age" or f.name.endswith("age"))
    ]
    rows: list[tuple] = []
    if scanned:
        con.execute(_sql("phi_cells.sql", table=quote_ident(table), columns=", ".join(quote_ident(c) for c in scanned)))
        rows += _scan_cells(con)
    for name in ages:
        sql = _sql("phi_ages.sql", table=quote_ident(table), column=quote_ident(name))
        rows += con.execute(sql, {"field": name}).fetchall()
    rows.sort(key=lambda r: (r[0], r[4], _kind_order(r[5])))
    return [
        PhiHit(record_id=r[1], event=r[2], instance=_instance(r[3]), field=r[4], kind=r[5], row=int(r[0]))
        for r in rows
    ]


def scan_texts(texts: list[str]) -> list[set[str]]:
    """The kinds of identifier found in each of ``texts``, scanned as free-text cells.

    >>> scan_texts(["Dr. Smith referred her", "56 mg"])
    [{'name'}, set()]
    """
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("create table texts (__row bigint, record_id varchar, redcap_event_name varchar, "
                    "redcap_repeat_instance varchar, note varchar)")
        con.executemany("insert into texts values (?, 'R', null, null, ?)", list(enumerate(texts)))
        found: list[set[str]] = [set() for _ in texts]
        for hit in scan_identifiers(con, "texts", [Field("note", "f", "notes")]):
            found[hit.row].add(hit.kind)
        return found
    finally:
        con.close()


def scan_keys(con, table: str) -> list[PhiHit]:
    """Record IDs and data access groups of ``table`` that look like identifiers.

    Each distinct value is scanned once and reported at its first row, with ``field`` set to
    :data:`KEY_FIELDS` (``record ID`` or ``data access group``); the hit never holds the value.
    """
    dag = quote_ident(DAG_COLUMN) if DAG_COLUMN in _table_columns(con, table) else "cast(null as varchar)"
    con.execute(_sql("phi_key_cells.sql", table=quote_ident(table), dag=dag))
    rows = sorted(_scan_cells(con), key=lambda r: (r[0], r[4], _kind_order(r[5])))
    return [PhiHit(record_id=r[1], event=None, instance=None, field=r[4], kind=r[5], row=int(r[0])) for r in rows]


def pseudonymise_keys(con, table: str, hits: list[PhiHit]) -> dict[str, int]:
    """Replace each flagged record ID and DAG in every row of ``table`` by a stable pseudonym.

    The pseudonym is a keyed hash (``ID-`` or ``dag_`` and 12 hex digits) of the value with a
    random key kept in the registry (``registry.pseudonym_key``), so the same ID gets the same
    pseudonym in every batch of this registry, and an SSN-shaped ID cannot be recovered by
    hashing all SSNs. Returns the number of values replaced per key field.
    """
    rows = {field: sorted({h.row for h in hits if h.field == field}) for field in KEY_FIELDS}
    if not any(rows.values()):
        return {}
    key = _pseudonym_key(con)
    columns = {"record ID": ("record_id", "ID-"), "data access group": (DAG_COLUMN, "dag_")}
    for field, first_rows in rows.items():
        if first_rows:
            column, prefix = columns[field]
            con.execute(_sql("phi_pseudonymise.sql", table=quote_ident(table), column=quote_ident(column)),
                        {"key": key, "prefix": prefix, "rows": first_rows})
    return {field: len(r) for field, r in rows.items() if r}


def _pseudonym_key(con) -> str:
    con.execute("create table if not exists registry.pseudonym_key (key varchar not null)")
    row = con.execute("select key from registry.pseudonym_key").fetchone()
    if row is None:
        row = (secrets.token_hex(32),)
        con.execute("insert into registry.pseudonym_key values (?)", row)
    return row[0]


def _scan_cells(con) -> list[tuple]:
    """Run phi_scan.sql over the temporary view ``__phi_cells``."""
    try:
        return con.execute(_sql("phi_scan.sql"), {
            "any": phi_patterns.ANY, "clinical": phi_patterns.CLINICAL_QUANTITY, **PATTERNS,
        }).fetchall()
    finally:
        con.execute("drop view if exists __phi_cells")


def redact_identifiers(con, table: str, hits: list[PhiHit]) -> None:
    """Replace every hit's cell in ``table`` by ``[REDACTED:<kind>]``.

    A cell with several kinds gets the first in :data:`PATTERNS` order. An age field over 89
    is top-coded to ``90`` instead (Safe Harbor's "90 or older"), so it stays an integer; an age
    written in free text gets the marker like any other kind.
    """
    markers: dict[tuple[int, str], str] = {}
    for h in sorted(hits, key=lambda h: _kind_order(h.kind)):
        marker = AGE_TOP_CODE if h.kind == AGE_KIND else f"[REDACTED:{h.kind}]"
        markers.setdefault((h.row, h.field), marker)
    if not markers:
        return
    con.execute("create or replace temp table __phi_redactions (__row bigint, field varchar, marker varchar)")
    try:
        con.executemany(
            "insert into __phi_redactions values (?, ?, ?)",
            [(row, name, marker) for (row, name), marker in markers.items()],
        )
        for name in sorted({name for _, name in markers}):
            sql = _sql("phi_redact.sql", table=quote_ident(table), column=quote_ident(name))
            con.execute(sql, {"field": name})
    finally:
        con.execute("drop table if exists __phi_redactions")


def format_phi_refusal(hits: list[PhiHit], source: str) -> str:
    """Word the refusal: which record, event, field and kind, never the value.

    The caller adds the fix (export again, or ``--redact``), e.g. as :class:`PhiError`'s ``fix``.

    >>> print(format_phi_refusal([PhiHit("SIR-0001", "study_end_arm_1", None, "disp_reason", "phone", 7)],
    ...                          "export.csv"))
    export.csv: 1 cell looks like an identifier (HIPAA Safe Harbor); nothing was stored.
      row 7: record SIR-0001, event study_end_arm_1, field disp_reason: phone
    """
    cells = sorted({(h.row, h.record_id, h.event, h.instance, h.field) for h in hits})
    kinds: dict[tuple, list[str]] = {}
    for h in hits:
        kinds.setdefault((h.row, h.record_id, h.event, h.instance, h.field), []).append(h.kind)
    noun = "cell looks" if len(cells) == 1 else "cells look"
    lines = [f"{source}: {len(cells)} {noun} like an identifier (HIPAA Safe Harbor); nothing was stored."]
    for key in cells[:_SHOWN]:
        row, record, event, instance, name = key
        if name in KEY_FIELDS:
            lines.append(f"  row {row}: the {name}: {', '.join(dict.fromkeys(kinds[key]))}")
            continue
        where = f"record {record}"
        if event:
            where += f", event {event}"
        if instance is not None:
            where += f", instance {instance}"
        lines.append(f"  row {row}: {where}, field {name}: {', '.join(dict.fromkeys(kinds[key]))}")
    if len(cells) > _SHOWN:
        lines.append(f"  … and {len(cells) - _SHOWN} more")
    return "\n".join(lines)


def _kind_order(kind: str) -> int:
    order = [*PATTERNS, AGE_KIND]
    return order.index(kind) if kind in order else len(order)


def _instance(value) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def _table_columns(con, table: str) -> set[str]:
    return {r[0] for r in con.execute(f"select * from {quote_ident(table)} limit 0").description}




def _sql(name: str, **identifiers: str) -> str:
    return sqltext.render(sqltext.read_sql("registry", name), **identifiers)
