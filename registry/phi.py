"""The PHI gate: free-text cells that look like HIPAA Safe Harbor identifiers.

The ingest calls it on the export while every cell is still text, before anything is
stored. :func:`scan_identifiers` finds the cells (in SQL, one pass over the table);
:func:`format_phi_refusal` words the refusal, naming record, event, field and kind but
never the value; :func:`redact_identifiers` replaces the cells for ``ingest --redact``.

What is scanned:

- free-text fields (``Field.is_free_text``: notes, and text with no validation) and text
  fields validated as ``email`` or ``phone``, for e-mail addresses, URLs, IPv4 addresses,
  SSNs, fax and phone numbers, MRN-like numbers (7 or more digits, or a number labelled
  MRN / medical record / chart), street addresses and PO boxes, ZIP codes (ZIP+4, or after a
  state), ages of 90 or more written in text ("92-year-old"), and full dates (with a day and
  a month: ``2024-03-05``, ``3/5/2024``, ``March 5``, ``5th of March``);
- integer fields whose name is ``age`` or ends in ``age``, for ages over 90 (Safe Harbor
  codes every age over 89 as 90).

The record-ID column is never scanned: it is the key, and a refusal would print it.
Patterns lean towards few false positives on clinical text ("56 mg", "Week 8", "2 h",
"PHQ-9 10", "BP 120/80", "CI 0.29-0.84"): a bare year, a time or a score is not a hit.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry import sqltext
from registry.redcap.dictionary import Field
from registry.sqltext import quote_ident

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DAY = r"(?:0?[1-9]|[12][0-9]|3[01])"
_MONTH_NUM = r"(?:0?[1-9]|1[0-2])"
_STREET = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl"
    r"|Terrace|Way|Circle|Parkway|Pkwy|Highway|Hwy|Square|Trail)"
)

#: RE2 patterns (DuckDB ``regexp_matches``), in the order hits are reported.
PATTERNS: dict[str, str] = {
    "email": r"(?i)[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}",
    "url": (
        r"(?i)(?:\b(?:https?|ftp)://|\bwww\.)[^\s]+"
        r"|(?i)(?:^|[^@a-z0-9._%+-])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|edu|gov|io|info|biz)\b"
    ),
    "ip_address": r"\b(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}\b",
    "ssn": r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b|(?i)\b(?:ssn|social security(?: number| no\.?)?)\W{0,3}[0-9]",
    "fax": r"(?i)\bfax\b\W{0,3}\+?[0-9(]",
    "phone": (
        r"(?:\+?\b1[\s.-]?)?(?:\([0-9]{3}\)\s?|\b[0-9]{3}[\s.-])[0-9]{3}[\s.-][0-9]{4}\b"
        r"|\b[0-9]{3}-[0-9]{4}\b"
        r"|(?i)\b(?:tel|phone|telephone|cell|mobile|pager)\b\W{0,3}\+?[0-9(]"
    ),
    "mrn": (
        r"\b[0-9]{7,}\b"
        r"|(?i)\b(?:mrn|medical record(?: number| no\.?| #)?|chart (?:number|no\.?|#))\W{0,3}[a-z]{0,3}[0-9]"
    ),
    "street_address": (
        r"\b[0-9]{1,6}\s+(?:[NSEW]\.?\s+)?(?:[A-Z][A-Za-z'.-]*\s+){1,3}" + _STREET + r"\b"
        r"|(?i)\bp\.?\s?o\.?\s+box\s+[0-9]"
        r"|(?i)\b(?:lives|living|resides|residing|address|moved) (?:at|to|on|is) [0-9]{1,6}\s+[a-z]"
    ),
    "zip_code": (
        r"\b[0-9]{5}-[0-9]{4}\b"
        r"|\b(?:A[KLRZ]|C[AOT]|D[CE]|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]"
        r"|O[HKR]|PA|RI|S[CD]|T[NX]|UT|V[AT]|W[AIVY]),?\s+[0-9]{5}\b"
    ),
    "age_over_89": r"(?i)\b(?:9[0-9]|1[0-1][0-9])[\s-]*(?:years?[\s-]*old|y/?o|yrs?[\s-]*old)\b"
                   r"|(?i)\baged?\s+(?:9[0-9]|1[0-1][0-9])(?:[^+0-9]|$)",
    "date": (
        r"\b(?:19|20)[0-9]{2}[-/.]" + _MONTH_NUM + r"[-/.]" + _DAY + r"\b"
        r"|\b" + _DAY + r"[-/.]" + _DAY + r"[-/.](?:19|20)?[0-9]{2}\b"
        r"|\b" + _MONTH + r"\.?\s+" + _DAY + r"(?:st|nd|rd|th)?\b"
        r"|\b" + _DAY + r"(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r"\b"
    ),
}
# A cell without a digit, '@' or web address cannot match any pattern above.
PREFILTER = r"[0-9@]|(?i)www\.|\.(?:com|org|net|edu|gov|io|info|biz)\b"
AGE_KIND = "age_over_89"
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
        sql = _sql("phi_scan.sql", table=quote_ident(table), columns=", ".join(quote_ident(c) for c in scanned))
        rows += con.execute(sql, {"prefilter": PREFILTER, **PATTERNS}).fetchall()
    for name in ages:
        sql = _sql("phi_ages.sql", table=quote_ident(table), column=quote_ident(name))
        rows += con.execute(sql, {"field": name}).fetchall()
    rows.sort(key=lambda r: (r[0], r[4], _kind_order(r[5])))
    return [
        PhiHit(record_id=r[1], event=r[2], instance=_instance(r[3]), field=r[4], kind=r[5], row=int(r[0]))
        for r in rows
    ]


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
