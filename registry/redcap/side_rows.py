"""Cells that did not survive their cast (``_cast_failures``) and missing-data codes (``_missing_values``).

A typed cell is NULL where the export cell was not when the text does not fit the column's type
(or, for a study day, the record has no anchor date): a failed cast, or a missing-data code. Such
cells are read straight from the export (table ``raw``) on the form's rows. Checkbox cells
other than 0/1 are failed casts and text cells holding a code are missing values, on every row
where the form can be, so that nothing is dropped unseen.

Most columns of most exports have none: :func:`columns_to_search` tells them from what the
export's columns hold (:func:`count_values`, per (repeat instrument, event); :func:`cell_ranges`,
smallest and largest value) and the typed counts of the new table, so that only the few columns
that may hold one are searched cell by cell.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.redcap.columns import Column
from registry.redcap.project import Project
from registry.sqltext import quote_ident, reader, render

read_sql = reader("registry")

KEYS = "$form, r.record_id, r.redcap_event_name, cast(r.redcap_repeat_instance as integer)"
ANCHOR_JOIN = "left join __anchor a on a.record_id = r.record_id"


def anchored(c: Column, project: Project) -> bool:
    """The column's dates become study days (days from the record's anchor date)."""
    return bool(project.study_day_anchor) and c.kind in {"date", "datetime"}


@dataclass
class Side:
    """The side-table checks of one form's columns (or of those :func:`columns_to_search` kept)."""

    typed: list[Column]  # typed (not text, not checkbox) columns: failed casts and missing-data codes
    boxes: list[Column]  # checkbox columns: values other than 0/1
    texts: list[Column]  # text columns: missing-data codes
    missing: list[str]  # missing-data-code checkbox columns of the form's fields

    def ranged(self, form: str) -> list[str]:
        """Columns whose values' range tells whether they may hold one: checkboxes, the form status."""
        return ([c.name for c in self.boxes] + self.missing
                + [c.name for c in self.typed if c.name == f"{form}_complete"])

    def counted(self, form: str) -> list[Column]:
        """Typed columns told by comparing the table's typed values with the export's cells."""
        return [c for c in self.typed if c.name != f"{form}_complete"]


Counts = list[tuple[str | None, str | None, dict[str, int]]]


def count_values(con, columns: list[str]) -> Counts:
    """One pass over ``columns`` of ``raw``: the non-blank cells of each per (repeat instrument, event)."""
    columns = list(dict.fromkeys(columns))
    if not columns:
        return []
    counts = ", ".join(f"count(r.{quote_ident(c)})" for c in columns)
    rows = con.execute(render(read_sql("cell_counts.sql"), counts=counts)).fetchall()
    return [(ri, event, dict(zip(columns, n, strict=True))) for ri, event, *n in rows]


def merge_counts(parts: list[Counts]) -> Counts:
    """The :func:`count_values` of several column lists as one: each (repeat instrument, event) once."""
    merged: dict[tuple[str | None, str | None], dict[str, int]] = {}
    for part in parts:
        for ri, event, n in part:
            merged.setdefault((ri, event), {}).update(n)
    return [(ri, event, n) for (ri, event), n in merged.items()]


def totals(counts: Counts, form: str) -> dict[str, int]:
    """The counts summed over the rows that are ``form``'s or no repeating instrument's."""
    out: dict[str, int] = {}
    for ri, _event, n in counts:
        if ri is None or ri == form:
            for col, v in n.items():
                out[col] = out.get(col, 0) + v
    return out


def cell_ranges(con, sides: dict[str, Side], codes: list[str]) -> dict[str, tuple]:
    """One pass over ``raw`` (no grouping, so cheap): for the :meth:`Side.ranged` columns (smallest value,
    largest value, longest length); for text columns (cells holding a missing-data code,)."""
    ranged = list(dict.fromkeys(c for form, side in sides.items() for c in side.ranged(form)))
    texts = list(dict.fromkeys(c.name for side in sides.values() for c in side.texts))
    aggs = [f"min(r.{q}), max(r.{q}), max(strlen(r.{q}))" for q in map(quote_ident, ranged)]
    aggs += [f"count(*) filter (where list_contains($codes, r.{quote_ident(c)}))" for c in texts]
    if not aggs:
        return {}
    row = con.execute(render(read_sql("cell_ranges.sql"), aggregates=", ".join(aggs)),
                      {"codes": codes} if texts else {}).fetchone()
    out = {c: tuple(row[3 * i:3 * i + 3]) for i, c in enumerate(ranged)}
    return out | {c: (n,) for c, n in zip(texts, row[3 * len(ranged):], strict=True)}


def _within(lo: str | None, hi: str | None, longest: int | None, low: str, high: str) -> bool:
    """Every cell is one character from ``low`` to ``high`` (or there is none)."""
    return hi is None or (longest == 1 and low <= lo and hi <= high)


def typed_counts_sql(side: Side, form: str) -> str:
    """Aggregates of the new table: the typed values of :meth:`Side.counted`'s columns."""
    return ", ".join(f"count({quote_ident(c.name)})" for c in side.counted(form))


def columns_to_search(side: Side, form: str, totals: dict[str, int], typed: list[int],
                      ranges: dict[str, tuple]) -> Side:
    """The columns that may hold a failed cast or a missing-data code.

    ``totals``: the export's cells over the rows that are the form's or no repeating instrument's
    (:func:`totals`); ``typed``: the table's typed values (:func:`typed_counts_sql`). A typed column
    with as many typed values as cells lost none: such a cell routes its row to the form, so every
    one reached the table. A form status of one digit, a checkbox of 0/1 and a missing-code
    checkbox of 0 only never fail; ``ranges`` (:func:`cell_ranges`) tells them.
    """
    lost = {c.name for c, n in zip(side.counted(form), typed, strict=True) if totals.get(c.name, 0) != n}
    status = f"{form}_complete"
    if status in ranges and not _within(*ranges[status], "0", "9"):
        lost.add(status)
    return Side([c for c in side.typed if c.name in lost],
                [c for c in side.boxes if not _within(*ranges[c.name], "0", "1")],
                [c for c in side.texts if ranges[c.name][0]],
                [col for col in side.missing if not _within(*ranges[col], "0", "0")])


def insert_sql(project: Project, side: Side, missing_cols: dict[str, tuple[str, str]], s: str, route: str,
               placed: str, params: dict) -> list[tuple[str, dict]]:
    """The inserts into ``_cast_failures`` and ``_missing_values`` of the cells of ``side``.

    ``route``: SQL predicate "export row r is one of the form's table rows"; ``placed``: "the form can
    be on row r". Parameters are bound (a code such as O'K is data, not SQL).
    """
    anchor = project.study_day_anchor
    fails, missing = [], []
    for c in side.typed:
        x = f"r.{quote_ident(c.name)}"
        valid = c.valid_sql(x)
        if anchored(c, project):  # the typed value is NULL also when the record has no anchor date
            reason = (f"case when {valid} then 'no study-day anchor ({anchor}) for this record' "
                      f"else 'not a valid {c.kind} value' end")
            lost, join = f"not ({valid} and a.__anchor is not null)", ANCHOR_JOIN
        else:
            reason, lost, join = f"'not a valid {c.kind} value'", f"not {valid}", ""
        cell = f"{x} is not null and {lost} and {route}"
        fails.append(f"select {KEYS}, '{c.field_name}', {x}, {reason} from raw r {join} "
                     f"where {cell} and not list_contains($codes, {x})")
        missing.append(f"select {KEYS}, '{c.field_name}', {x} from raw r {join} "
                       f"where {cell} and list_contains($codes, {x})")
    for c in side.boxes:
        x = f"r.{quote_ident(c.name)}"
        fails.append(f"select {KEYS}, '{c.name}', {x}, 'not a checkbox value (0 or 1)' from raw r "
                     f"where {x} is not null and {x} not in ('0', '1') and {placed}")
    for c in side.texts:
        x = f"r.{quote_ident(c.name)}"
        missing.append(f"select {KEYS}, '{c.field_name}', {x} from raw r where list_contains($codes, {x}) and {placed}")
    params = dict(params)
    for col in side.missing:
        fname, code = missing_cols[col]
        x = f"r.{quote_ident(col)}"
        n = len(params)
        params |= {f"field_{n}": fname, f"code_{n}": code, f"column_{n}": col}
        missing.append(f"select {KEYS}, $field_{n}, $code_{n} from raw r where {x} = '1' and {placed}")
        fails.append(f"select {KEYS}, $column_{n}, {x}, 'not a checkbox value (0 or 1)' from raw r "
                     f"where {x} is not null and {x} not in ('0', '1') and {placed}")
    out = []
    if fails:
        out.append((f"insert into {s}._cast_failures " + "\nunion all\n".join(fails), params))
    if missing:
        out.append((f"insert into {s}._missing_values " + "\nunion all\n".join(missing), params))
    return out
