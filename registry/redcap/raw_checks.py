"""Checks on the raw rows every reader produced (table ``raw``), before anything is stored.

A row without a record ID, record IDs that differ only by spaces, repeat instances that are
not numbers 1..2^31-1, unknown events or repeating instruments, and two rows with one key.
"""

from __future__ import annotations

from pathlib import Path

from registry.errors import ExportError, InputFileError
from registry.redcap.project import Project
from registry.redcap.rawfile import ExportInfo

_SPACE = r"[\s\x{200B}\x{200C}\x{200D}\x{2060}\x{FEFF}]"


def check_rows(con, display: Path, project: Project, info: ExportInfo) -> None:
    info.rows = con.execute("select count(*) from raw").fetchone()[0]
    if info.rows == 0:
        raise InputFileError("the export has a header but no data rows", where=str(display),
                             fix="export the data again, with records selected")
    info.has_dag = "redcap_data_access_group" in info.columns
    info.has_survey_identifier = "redcap_survey_identifier" in info.columns
    # one look at each distinct record ID: the first row without one, and whether any holds a space
    blank, spaced = con.execute(
        f"select min(first_row) filter (where record_id is null or trim(record_id) = ''), "
        f"bool_or(regexp_matches(record_id, '{_SPACE}')) "
        f"from (select record_id, min(__row) as first_row from raw group by record_id)").fetchone()
    if spaced:
        _normalise_record_ids(con, display)
        blank = con.execute("select min(__row) from raw where record_id is null or trim(record_id) = ''").fetchone()[0]
    if blank is not None:
        raise ExportError(f"a row has no record ID ({info.record_id_field} is blank)",
                          where=f"{display}, data row {blank}",
                          fix="every row of a REDCap export carries its record ID; export the data again")


def _normalise_record_ids(con, display: Path) -> None:
    """Trim record IDs of surrounding whitespace and zero-width spaces (REDCap trims a record name on
    import); refuse two IDs that differ only by such spaces (they would be one record, or two).
    Called only when an ID holds a space (else none to trim, and no two can differ only by spaces)."""
    collision = con.execute(
        f"select list(distinct record_id order by record_id), min(__row) from raw "
        f"group by regexp_replace(record_id, '{_SPACE}', '', 'g') having count(distinct record_id) > 1 "
        f"order by min(__row) limit 1"
    ).fetchone()
    if collision:
        shown = ", ".join(repr(v)[:40] for v in collision[0][:4])
        raise ExportError(f"record IDs differ only by spaces or zero-width characters: {shown}",
                          where=f"{display}, data row {collision[1]}, record ID",
                          fix="give each record one ID in REDCap (remove the stray spaces) and export again")
    con.execute(f"update raw set record_id = regexp_replace(record_id, '^{_SPACE}+|{_SPACE}+$', '', 'g') "
                f"where regexp_matches(record_id, '^{_SPACE}|{_SPACE}$')")


def check_keys(con, display: Path, project: Project, info: ExportInfo) -> None:
    """Events, repeat instruments and instances, and the uniqueness of each row's key."""
    cols = set(info.columns)
    for c in ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"):
        if c not in cols:
            con.execute(f"alter table raw add column {c} varchar")
    if "redcap_repeat_instance" in cols:
        bad = con.execute(
            "select __row, record_id, redcap_repeat_instance from raw where redcap_repeat_instance is not null "
            "and not regexp_full_match(redcap_repeat_instance, '[0-9]+') order by __row limit 1"
        ).fetchone()
        if bad:
            raise ExportError(
                f"repeat instance '{bad[2]}' is not a whole number",
                where=f"{display}, data row {bad[0]}, record {bad[1]}, field redcap_repeat_instance",
                fix="redcap_repeat_instance must be 1, 2, 3 …; export the data again",
            )
        bad = con.execute(
            "select __row, record_id, redcap_repeat_instance from raw where redcap_repeat_instance is not null "
            "and coalesce(try_cast(redcap_repeat_instance as hugeint) not between 1 and 2147483647, true) "
            "order by __row limit 1"
        ).fetchone()
        if bad:
            raise ExportError(
                f"repeat instance {bad[2][:30]} is out of range (REDCap numbers instances from 1 to 2147483647)",
                where=f"{display}, data row {bad[0]}, record {bad[1]}, field redcap_repeat_instance",
                fix="export the data again; REDCap numbers every instance from 1",
            )
        # instances are numbers: '00001' is instance 1, the same key as '1'
        con.execute("update raw set redcap_repeat_instance = cast(cast(redcap_repeat_instance as integer) as varchar) "
                    "where not regexp_full_match(redcap_repeat_instance, '[1-9][0-9]*')")  # only those not yet so
    if project.events:
        known = sorted(project.event_names())
        bad = con.execute(
            "select redcap_event_name, min(__row), count(*) from raw where redcap_event_name is not null "
            "and not list_contains($known, redcap_event_name) group by 1 order by 2 limit 5",
            {"known": known},
        ).fetchall()
        if bad:
            names = ", ".join(f"'{b[0]}' ({b[2]} rows, first at data row {b[1]})" for b in bad)
            raise ExportError(f"event names not in the project: {names}", where=f"{display}, redcap_event_name",
                              fix=f"the project's events are {', '.join(known)}; pass the events file that "
                                  "matches this export with --events")
        blank = con.execute("select min(__row) from raw where redcap_event_name is null").fetchone()[0]
        if blank is not None:
            raise ExportError("a row has no event name", where=f"{display}, data row {blank}, redcap_event_name",
                              fix="in a longitudinal export every row names its event; export the data again")
    forms = project.dictionary.forms
    bad = con.execute(
        "select redcap_repeat_instrument, min(__row) from raw where redcap_repeat_instrument is not null "
        "and not list_contains($forms, redcap_repeat_instrument) group by 1 order by 2 limit 5",
        {"forms": forms},
    ).fetchall()
    if bad:
        names = ", ".join(f"'{b[0]}' (first at data row {b[1]})" for b in bad)
        raise ExportError(f"repeating instruments not in the data dictionary: {names}",
                          where=f"{display}, redcap_repeat_instrument",
                          fix="pass the dictionary that matches this export with --dictionary")
    bad = con.execute(
        "select __row, record_id, redcap_event_name from raw "
        "where redcap_repeat_instrument is not null and redcap_repeat_instance is null order by __row limit 1"
    ).fetchone()
    if bad:
        raise ExportError("a repeating-instrument row has no repeat instance",
                          where=f"{display}, data row {bad[0]}, record {bad[1]}, field redcap_repeat_instance",
                          fix="export the data again; REDCap numbers every instance")
    # two rows with one key: first by the keys' hash (cheap), then, only if two hashes agree, by the keys
    dup = con.execute(
        "select 1 from raw group by hash(record_id, redcap_event_name, redcap_repeat_instrument, "
        "redcap_repeat_instance) having count(*) > 1 limit 1"
    ).fetchone() and con.execute(
        "select record_id, redcap_event_name, redcap_repeat_instrument, redcap_repeat_instance "
        "from raw group by all having count(*) > 1 order by min(__row) limit 1"
    ).fetchone()
    if dup:
        rows = [r[0] for r in con.execute(
            "select __row from raw where record_id = $r and redcap_event_name is not distinct from $e "
            "and redcap_repeat_instrument is not distinct from $f and redcap_repeat_instance is not distinct from $i "
            "order by __row", {"r": dup[0], "e": dup[1], "f": dup[2], "i": dup[3]},
        ).fetchall()]
        dup = (*dup, rows)
        key = f"record {dup[0]}" + (f", event {dup[1]}" if dup[1] else "") + (
            f", instrument {dup[2]}" if dup[2] else "") + (f", instance {dup[3]}" if dup[3] else "")
        rows = ", ".join(str(r) for r in dup[4][:10])
        raise ExportError(f"two rows have the same key ({key})", where=f"{display}, data rows {rows}",
                          fix="each record/event/instrument/instance appears once in a REDCap export; "
                              "remove the duplicated row or export the data again")
