"""The records of an ODM export (``ClinicalData``), streamed into the rows a CSV export has.

One ``SubjectData`` at a time (the file is never held in memory whole): one row per record ×
event × repeating instrument × instance, the instance blank unless the form or event repeats,
the columns in REDCap's order. The rows go to a temporary file that DuckDB loads into the
temp table ``raw``; the header is mapped by :func:`registry.redcap.header.map_header`.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from registry.errors import ExportError, InputFileError
from registry.redcap.header import map_header
from registry.redcap.odm_metadata import OdmMetadata, read_metadata
from registry.redcap.odm_values import cell_value, decimal_comma_note, read_decimal_commas
from registry.redcap.odm_xml import ODM_FIX, attrs, children, iterparse, local_name, strip_prefix
from registry.redcap.project import Project
from registry.sqltext import quote_name

CLASSIC_EVENT = "event_1_arm_1"  # what REDCap names the one event of a classic project


@dataclass
class _Flat:
    """What the flattening saw, for choosing the pseudo columns of the header."""

    events: bool = False
    repeats: bool = False
    dag: bool = False
    extras: dict[str, None] = field(default_factory=dict)
    subjects: int = 0
    rows: int = 0


def _subject_rows(subject: ET.Element, meta: OdmMetadata, rid: str, flat: _Flat) -> list[dict[str, str]]:
    """One SubjectData -> the export rows of its record, in order (record × event × instrument × instance)."""
    a = attrs(subject)
    record = a.get("SubjectKey", "")
    where = f"{meta.path}, SubjectData {record or '#' + str(flat.subjects)}"
    if not record.strip():
        raise ExportError("a SubjectData element has no SubjectKey (record ID)", where=where, fix=ODM_FIX)
    rows: dict[tuple, dict[str, str]] = {}

    def add_form(event: str | None, event_key: str, form_el: ET.Element) -> None:
        fa = attrs(form_el)
        form = strip_prefix(fa.get("FormOID", ""), "Form.")
        form_key = fa.get("FormRepeatKey") or "1"
        if meta.repeats_event(event):
            key = (event, None, event_key)
        elif meta.repeats_form(event, form):
            key = (event, form, form_key)
        else:
            for what, k in (("instrument", form_key), ("event", event_key)):
                if k not in ("", "1"):
                    raise ExportError(
                        f"form '{form}' has instance {k} but the ODM does not declare the {what} repeating",
                        where=f"{where}, event {event or '(none)'}, FormData {fa.get('FormOID', form)}",
                        fix="export 'CDISC ODM (XML) — project metadata and data' so that the repeating "
                            "setup comes with the data, or pass --repeating with the repeating instruments "
                            "export")
            key = (event, None, None)
        row = rows.setdefault(key, {})
        for group in form_el:
            if not group.tag.endswith("ItemGroupData"):
                continue
            for item in group:
                oid = item.get("ItemOID")
                if oid is None or "ItemData" not in item.tag:
                    continue
                value = cell_value(item, meta, oid)
                if value is not None:
                    row[oid] = value

    for child in subject:
        tag = local_name(child.tag)
        if tag == "StudyEventData":
            ea = attrs(child)
            event = ea.get("UniqueEventName") or strip_prefix(ea.get("StudyEventOID", ""), "Event.")
            if not meta.longitudinal and event == CLASSIC_EVENT:
                event = None
            for form_el in children(child, "FormData"):
                add_form(event or None, ea.get("StudyEventRepeatKey") or "1", form_el)
        elif tag == "FormData":
            add_form(None, "1", child)
    dag = a.get("DataAccessGroup") or next(
        (r["redcap_data_access_group"] for r in rows.values() if r.get("redcap_data_access_group")), None)
    out = []
    for (event, instrument, instance), values in rows.items():
        row = dict(values)
        row[rid] = record  # the record ID is on every row of a CSV export
        if event is not None:
            row["redcap_event_name"] = event
            flat.events = True
        if instance is not None:
            row["redcap_repeat_instance"] = instance
            flat.repeats = True
            if instrument is not None:
                row["redcap_repeat_instrument"] = instrument
        if dag:
            row["redcap_data_access_group"] = dag
            flat.dag = True
        out.append(row)
    return out


def load_odm(con, source: Path, project: Project, info, *, ignore_extra: bool = False,
             encoding: str | None = None) -> list[str]:
    """Flatten an ODM export's ClinicalData into the temp table ``raw``; return its columns.

    Rows and columns are those of a CSV export of the same project: one row per record ×
    event × repeating instrument × instance, the instance blank unless the form or event
    repeats, the columns in REDCap's order (record ID, the pseudo columns, then form by form).
    The shape (repeating setup, column order, datetime items) comes from the ODM's own
    metadata; the column names are then checked against ``project`` as for any export.
    """
    source = Path(source)
    meta = OdmMetadata(path=source)
    flat = _Flat()
    rid = project.dictionary.record_id_field
    clinical = None
    known = set(meta.columns)
    fh = tempfile.NamedTemporaryFile("w", suffix=".ndjson", encoding="utf-8", delete=False)
    ndjson = Path(fh.name)
    try:
        with fh:
            for event, el in iterparse(source, ("start", "end"), encoding):
                if event == "start":
                    if clinical is None and local_name(el.tag) == "ClinicalData":
                        clinical = el
                    continue
                tag = el.tag
                if not tag.endswith(("SubjectData", "Study")):
                    continue
                tag = local_name(tag)
                if tag == "Study" and not meta.has_metadata:
                    meta = read_metadata(el, source)
                    meta.repeating |= _given_repeating(project, meta)
                    known = set(meta.columns)
                    rid = meta.record_id_field or rid
                    el.clear()
                elif tag == "SubjectData" and clinical is not None:
                    flat.subjects += 1
                    for row in _subject_rows(el, meta, rid, flat):
                        for key in row:
                            if key not in known and key not in flat.extras:
                                flat.extras[key] = None
                        fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                        flat.rows += 1
                    el.clear()
                    with contextlib.suppress(ValueError):  # not a direct child: cleared is enough
                        clinical.remove(el)
        if flat.rows == 0:
            raise InputFileError("the ODM export holds no records (no SubjectData in ClinicalData)",
                                 where=str(info.path),
                                 fix="export the project with its data ('CDISC ODM (XML) — project metadata "
                                     "and data'), with records selected")
        raw = _header(meta, rid, flat)
        mapped = map_header(list(raw), project, info.path, ignore_extra, info)
        keep = [(r, m) for r, m in zip(raw, mapped, strict=True) if r not in info.ignored_columns]
        select = ", ".join(f"{quote_name(r)} as {quote_name(m)}" for r, m in keep)
        con.execute(
            f"create or replace temp table raw as select row_number() over () as __row, {select} from "
            "read_json($path, format = 'newline_delimited', columns = $columns, "
            "maximum_object_size = 268435456)",
            {"path": str(ndjson), "columns": {r: "VARCHAR" for r, _m in keep}},
        )
    finally:
        fh.close()
        ndjson.unlink(missing_ok=True)
    header = [m for _r, m in keep]
    commas = read_decimal_commas(con, project, header)
    if commas:
        info.notes.append(decimal_comma_note(commas))
    return header


def _given_repeating(project: Project, meta: OdmMetadata) -> set[tuple[str | None, str | None]]:
    """A repeating setup given with the project (--repeating, or its own ODM) adds to the file's."""
    given = set(project.repeating or ())
    if not meta.longitudinal:
        given = {(None, form) for _event, form in given if form}
    return given


def _header(meta: OdmMetadata, rid: str, flat: _Flat) -> list[str]:
    """Export columns in REDCap's CSV order: record ID, pseudo columns, then the items form by form."""
    head = [rid]
    if meta.longitudinal or flat.events:
        head.append("redcap_event_name")
    if meta.repeating or flat.repeats:
        head += ["redcap_repeat_instrument", "redcap_repeat_instance"]
    if "redcap_data_access_group" in meta.columns or flat.dag:
        head.append("redcap_data_access_group")
    if "redcap_survey_identifier" in meta.columns:
        head.append("redcap_survey_identifier")
    rest = dict.fromkeys([*meta.columns, *flat.extras])
    return head + [c for c in rest if c not in head]
