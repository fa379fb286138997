"""Values on rows where their form cannot be: refused, or with ``--ignore-misplaced`` kept aside.

A REDCap export row belongs to one repeating instrument (``redcap_repeat_instrument`` set) or to
the event's non-repeating forms (and a repeating event's forms); in a longitudinal project only
the forms mapped to the row's event can hold values. A value of another form on such a row
(``madrs_1`` on an ``adverse_event`` row, or ``ae_term`` on the plain row of an event where
``adverse_event`` repeats) belongs to no row of its form's table, so it would be lost or stored
without its instance: the ingest refuses it, naming record, event, instance and field, or keeps it
in the batch's ``_misplaced_values`` only. A checkbox or form-status ``0`` there is REDCap's filler.

A form repeats in an event when the project's repeating setup says so, or when the export has a
row of it as a repeating instrument there (REDCap writes such rows only for a repeating form; a
form can repeat in one event and not in another). One pass over the export counts each column's
values per (repeat instrument, event) (:func:`registry.redcap.side_rows.count_values`); only the forms
with a count where they cannot be are then searched cell by cell.
"""

from __future__ import annotations

from registry.errors import ExportError
from registry.redcap.project import Project
from registry.sqltext import quote_ident, reader, render

read_sql = reader("registry")

TABLE_COLUMNS = ("form varchar, record_id varchar, redcap_event_name varchar, redcap_repeat_instance integer, "
                 "redcap_repeat_instrument varchar, field varchar, raw_value varchar, reason varchar, data_row bigint")


def placed_sql(project: Project) -> str:
    """SQL predicate: form ``$form`` can be on export row r: the row is the form's own repeating-instrument
    row, or a plain row of an event where the form does not repeat (``$repeats``: the events where it does,
    '' for a classic project's); and (when the instrument-event mapping is known) its event is one of
    ``$events``, the form's events."""
    same = ("(r.redcap_repeat_instrument is not distinct from $form or (r.redcap_repeat_instrument is null and "
            "not list_contains($repeats::varchar[], coalesce(r.redcap_event_name, ''))))")
    return f"({same} and list_contains($events::varchar[], r.redcap_event_name))" if project.mapping else same


def form_events(project: Project, form: str) -> list[str]:
    """The events ``form`` is mapped to (empty when the mapping is not known)."""
    return sorted({e for _arm, e, f in project.mapping or [] if f == form})


def suspect_forms(project: Project, cells: dict[str, tuple[list[str], list[str]]], counts
                  ) -> tuple[set[str], dict[str, list[str]]]:
    """Forms with a value (or filler) in a column of theirs on a row where they cannot be, and the
    events each form repeats in ('' for a classic project's; the ``$repeats`` of :func:`placed_sql`).

    ``cells``: form -> (its export columns, those of them whose '0' is filler); ``counts``: the
    export's non-blank cells of those columns per (repeat instrument, event)
    (:func:`registry.redcap.side_rows.count_values`).
    """
    repeats = _repeating(project, {(event, ri) for ri, event, _n in counts if ri is not None})
    events = {form: set(form_events(project, form)) for form in cells}
    suspect = set()
    for ri, event, n in counts:
        for form, (names, _fillers) in cells.items():
            if any(n[col] for col in names) and (
                    (ri is not None and ri != form) or (project.mapping and event not in events[form])
                    or (ri is None and (event or "") in repeats.get(form, ()))):
                suspect.add(form)
    return suspect, {form: sorted(evs) for form, evs in repeats.items()}


def _repeating(project: Project, seen: set[tuple[str | None, str]]) -> dict[str, set[str]]:
    """form -> the events it repeats in as an instrument: the project's repeating setup (a form-wide
    entry only in a classic project: in a longitudinal one a form can repeat in some events only) and
    ``seen``, the export's (event, repeat instrument) pairs."""
    pairs = set(seen)
    for event, form in project.repeating or ():
        if form is not None and (event is not None or not project.longitudinal):
            pairs.add((event, form))
    out: dict[str, set[str]] = {}
    for event, form in pairs:
        out.setdefault(form, set()).add(event or "")
    return out


def insert_sql(table: str, form: str, names: list[str], fillers: list[str], placed: str,
               params: dict) -> tuple[str, dict]:
    """SQL and parameters: the form's non-blank cells on rows where it cannot be, into ``table``
    (``_misplaced_values``). ``names``: its export columns, ``fillers``: those whose '0' is filler."""
    filler = set(fillers)
    any_value = " or ".join(f"(r.{quote_ident(n)} is not null and r.{quote_ident(n)} <> '0')" if n in filler
                            else f"r.{quote_ident(n)} is not null" for n in names)
    sql = render(read_sql("misplaced_values.sql"), table=table, placed=placed,
                 columns=", ".join(quote_ident(n) for n in names), any_value=any_value)
    return sql, params | {"form": form, "fillers": fillers}


def refuse(con, table: str, source: str) -> None:
    """Raise :class:`ExportError` naming the first misplaced values, if there are any."""
    n = con.execute(f"select count(*) from {table}").fetchone()[0]
    if not n:
        return
    first = con.execute(f"select data_row, record_id, redcap_event_name, redcap_repeat_instance, field, form, reason "
                        f"from {table} order by data_row, field limit 5").fetchall()
    cells = "; ".join(
        f"data row {row}: record {rid}" + (f", event {ev}" if ev else "") + (f", instance {inst}" if inst else "")
        + f", field {field}" for row, rid, ev, inst, field, _form, _reason in first)
    _row, _rid, _ev, _inst, field, form, reason = first[0]
    raise ExportError(
        f"{n} value(s) are on rows where their form cannot be, e.g. {field} (form {form}) on {reason}: "
        "REDCap never exports that, and the value would be lost",
        where=f"{source}, {cells}" + (f" and {n - len(first)} more" if n > len(first) else ""),
        fix="export the data again from REDCap (the file was edited or damaged), or pass --ignore-misplaced "
            "to store the batch without these values (they are kept in the batch's _misplaced_values)",
    )
