"""Walk every non-empty cell of an export and find it in the registry's current batch.

A cell is accounted for when it is in its form's table (at the row's record, event and instance,
with the same value once typed), or recorded: a failed cast, a missing-data code, a redaction,
a dropped identifier, an ignored column, or a misplaced value (``--ignore-misplaced``). A checkbox
or form-status ``0`` where the form has no row is REDCap's filler (unchecked box, gray form).
Only the export file and the registry are read: the test sees what a user would.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime, time
from pathlib import Path

from registry import store

PSEUDO = {"redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
          "redcap_data_access_group", "redcap_survey_identifier"}


def read_export(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows (every cell as text, blank as '') of a CSV, API JSON or ODM XML export."""
    if path.suffix == ".xml":
        return read_odm_cells(path)
    if path.suffix == ".json":
        obj = json.loads(path.read_text(encoding="utf-8-sig"))
        records = obj["records"] if isinstance(obj, dict) else obj
        header = list(dict.fromkeys(k for r in records for k in r))
        return header, [{k: "" if r.get(k) is None else str(r.get(k)) for k in header} for r in records]
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames), [{k: v or "" for k, v in r.items()} for r in reader]


def _attr(element, name: str) -> str | None:
    """An attribute by its local name, whatever its namespace (redcap:UniqueEventName)."""
    return next((v for k, v in element.attrib.items() if k == name or k.endswith("}" + name)), None)


def read_odm_cells(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The cells of a REDCap ODM file as the rows of its CSV export, read here with ElementTree alone
    (not the registry's reader): one row per record, event (and its repeat) and repeating-instrument
    instance; ItemOID is the CSV column, Value the cell."""
    from xml.etree import ElementTree

    root = ElementTree.parse(path).getroot()
    repeating_forms = {(_attr(e, "UniqueEventName") or None, _attr(e, "RepeatInstrument"))
                       for e in root.iterfind(".//{*}RepeatingInstrument")}
    repeating_events = {_attr(e, "UniqueEventName") for e in root.iterfind(".//{*}RepeatingEvent")}
    longitudinal = any(True for _ in root.iterfind(".//{*}StudyEventData"))
    rid_field, columns, rows = None, {}, {}
    for subject in root.iterfind(".//{*}SubjectData"):
        rid_field = rid_field or _attr(subject, "RecordIdField")
        events = list(subject.iterfind(".//{*}StudyEventData")) if longitudinal else [subject]
        for event_data in events:
            event = _attr(event_data, "UniqueEventName") if longitudinal else None
            event_instance = _attr(event_data, "StudyEventRepeatKey") if event in repeating_events else None
            for form_data in event_data.iterfind(".//{*}FormData"):
                form = form_data.get("FormOID").split(".", 1)[1]
                repeats = (event, form) in repeating_forms or (None, form) in repeating_forms
                key = (subject.get("SubjectKey"), event, form if repeats else None,
                       form_data.get("FormRepeatKey") if repeats else event_instance)
                row = rows.setdefault(key, {"redcap_event_name": event or "", "redcap_repeat_instrument": key[2] or "",
                                            "redcap_repeat_instance": key[3] or ""})
                for item in form_data.iterfind(".//{*}ItemData"):
                    row[item.get("ItemOID")] = item.get("Value") or ""
                    columns.setdefault(item.get("ItemOID"))
    rid_field = rid_field or next(iter(columns))
    pseudo = ["redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]
    header = [rid_field, *pseudo, *(c for c in columns if c != rid_field)]
    out = []
    for (record, *_rest), row in rows.items():
        row[rid_field] = record
        out.append({c: row.get(c, "") for c in header})
    return header, out


class Registry:
    """The current batch of a registry, indexed for cell look-ups."""

    def __init__(self, db: Path):
        con = store.connect(db, read_only=True)
        try:
            bid, dropped, redacted, ignored, anchor = con.execute(
                "select batch_id, dropped_identifiers, redacted, ignored_columns, study_day_anchor "
                "from registry.batches where is_current").fetchone()
            s = f"batch_{bid}"
            self.dropped = set(json.loads(dropped or "[]"))
            self.ignored = set(json.loads(ignored or "[]"))
            self.redacted = {(r["record_id"], r["event"], r["instance"], r["field"])
                             for r in json.loads(redacted or "[]")}
            self.anchor = anchor
            dic = con.execute(f"select field_name, form_name, field_type, text_validation_type_or_show_slider_number "
                              f"from {s}._dictionary").fetchall()
            self.form_of = {f: form for f, form, _t, _v in dic}
            self.checkbox = {f for f, _form, t, _v in dic if t == "checkbox"}
            self.dated = {f for f, _form, t, v in dic if t == "text" and (v or "").startswith(("date_", "datetime_"))}
            self.forms = sorted({form for _f, form, _t, _v in dic})
            self.tables = {}
            for form in self.forms:
                cur = con.execute(f'select * from {s}."{form}"')
                names = [d[0] for d in cur.description]
                self.tables[form] = {(r[0], r[1], r[2]): dict(zip(names, r, strict=True)) for r in cur.fetchall()}
            self.failures = set(con.execute(
                f"select form, record_id, redcap_event_name, redcap_repeat_instance, field, raw_value "
                f"from {s}._cast_failures").fetchall())
            self.missing = {(r, e, i, f, c.lower()) for r, e, i, f, c in con.execute(
                f"select record_id, redcap_event_name, redcap_repeat_instance, field, code "
                f"from {s}._missing_values").fetchall()}
            self.misplaced = set(con.execute(
                f"select record_id, redcap_event_name, redcap_repeat_instance, field, raw_value "
                f"from {s}._misplaced_values").fetchall())
        finally:
            con.close()

    def owner(self, column: str) -> tuple[str | None, str]:
        """(form, field) of an export column; form None when the column is no form's."""
        for suffix in ("_complete", "_timestamp"):
            if column.endswith(suffix) and column[: -len(suffix)] in self.tables:
                return column[: -len(suffix)], column
        if column in self.form_of:
            return self.form_of[column], column
        field = column.split("___")[0]
        if "___" in column and field in self.checkbox:
            return self.form_of[field], field
        return None, column


def _same(raw: str, stored, anchor_day: date | None) -> bool:
    """The stored, typed value is the export's text value."""
    text = raw.strip()
    try:
        if isinstance(stored, bool):
            return stored == (raw == "1")
        if isinstance(stored, int) and anchor_day is not None and text[:4].isdigit() and text[4:5] == "-":
            return stored == (datetime.fromisoformat(text).date() - anchor_day).days
        if isinstance(stored, int | float):
            return float(text.replace(",", ".")) == float(stored)
        if isinstance(stored, datetime):
            return stored == datetime.fromisoformat(text)
        if isinstance(stored, date):
            return stored == date.fromisoformat(text)
        if isinstance(stored, time):
            return stored == time.fromisoformat(text)
    except ValueError:
        return False
    return stored == raw


def unaccounted(db: Path, export: Path) -> list[str]:
    """Every non-empty cell of ``export`` that the registry neither stores nor records (empty: all found)."""
    reg = Registry(db)
    header, rows = read_export(export)
    rid_col = header[0]
    anchors: dict[str, date] = {}
    if reg.anchor and reg.anchor in header:
        for r in rows:
            if r[reg.anchor].strip():
                day = date.fromisoformat(r[reg.anchor].strip())
                anchors[r[rid_col].strip()] = min(day, anchors.get(r[rid_col].strip(), day))
    lost = []
    for n, r in enumerate(rows, start=1):
        rid = r[rid_col].strip()
        instance = int(r["redcap_repeat_instance"]) if r.get("redcap_repeat_instance") else None
        key = (rid, r.get("redcap_event_name") or None, instance)
        for column in header[1:]:
            raw = r[column]
            if raw == "" or column in PSEUDO or column in reg.ignored:
                continue
            form, field = reg.owner(column)
            if field in reg.dropped:
                continue
            if (*key, column, raw) in reg.misplaced:
                continue
            row = reg.tables.get(form, {}).get(key) if form else None
            stored = row.get(column) if row else None
            dated = field in reg.dated and reg.anchor
            if stored is not None and _same(raw, stored, anchors.get(rid) if dated else None):
                continue
            if (form, *key, column, raw) in reg.failures or (form, *key, field, raw) in reg.failures:
                continue
            if (*key, field, raw.lower()) in reg.missing:
                continue
            is_code_box = "___" in column and field in reg.checkbox and row is not None and column not in row
            if is_code_box and raw == "1" and (*key, field, column.split("___", 1)[1]) in reg.missing:
                continue
            if (rid, key[1], key[2], field) in reg.redacted and stored is not None:
                continue
            zero_filler = raw == "0" and ("___" in column or column.endswith("_complete"))
            if zero_filler and (row is None or is_code_box):
                continue
            lost.append(f"data row {n}: record {rid}, event {key[1]}, instance {key[2]}, {column} = {raw!r}"
                        f" (stored {stored!r})")
    return lost
