"""The records of an ODM export (``ClinicalData``), streamed into the rows a CSV export has.

One ``SubjectData`` at a time (the file is never held in memory whole), by :mod:`odm_fast` when
the records are laid out as REDCap writes them, else by the XML parser: one row per record ×
event × repeating instrument × instance, the instance blank unless the form or event repeats,
the columns in REDCap's order. The rows go to a temporary CSV file that DuckDB's ``read_csv``
loads into the temp table ``raw``; the header is mapped by :func:`registry.redcap.header.map_header`.
"""

from __future__ import annotations

import codecs
import csv
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from registry.errors import ExportError, InputFileError
from registry.redcap import odm_fast
from registry.redcap.columns import PSEUDO_COLUMNS
from registry.redcap.header import map_header
from registry.redcap.odm_fast import Form, NotRegular
from registry.redcap.odm_metadata import OdmMetadata, read_metadata
from registry.redcap.odm_values import cell_value, decimal_comma_note, read_decimal_commas
from registry.redcap.odm_xml import ODM_FIX, attrs, iter_subjects, iterparse, local_name, strip_prefix
from registry.redcap.project import Project
from registry.redcap.raw_rows import number_rows
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
    row_keys: dict[tuple, tuple] = field(default_factory=dict)  # (event, its key, form OID, its key) -> row key


def _element_subject(subject, meta: OdmMetadata) -> tuple[dict[str, str], list[Form]]:
    """One SubjectData element (from the XML parser) -> its attributes and forms, as odm_fast gives them."""
    datetimes = meta.datetime_items
    forms: list[Form] = []

    def add_form(event: dict[str, str] | None, form_el) -> None:
        cells: dict[str, str] = {}
        for group in form_el:
            if not group.tag.endswith("ItemGroupData"):
                continue
            for item in group:  # only ItemData* elements carry an ItemOID; the common case is inline
                oid = item.get("ItemOID")
                if oid is None:
                    continue
                value = item.get("Value")
                if value is None or item.get("IsNull") is not None:  # base64 files, text content, IsNull
                    value = cell_value(item, meta, oid)
                elif value == "":
                    value = None
                elif oid in datetimes:
                    value = value.replace("T", " ", 1)
                if value is not None:
                    cells[oid] = value
        # ODM's own FormData attributes carry no namespace
        form = {k: v for k in ("FormOID", "FormRepeatKey") if (v := form_el.get(k)) is not None}
        forms.append((event, form, cells))

    for child in subject:
        tag = local_name(child.tag)
        if tag == "StudyEventData":
            event = attrs(child)
            for form_el in child:
                if form_el.tag.endswith("FormData"):
                    add_form(event, form_el)
        elif tag == "FormData":
            add_form(None, child)
    return attrs(subject), forms


def _local(names: dict[str, str]) -> dict[str, str]:
    return {k.rsplit(":", 1)[-1]: v for k, v in names.items()}


def _event(event_attrs: dict[str, str] | None, meta: OdmMetadata) -> tuple[str | None, str]:
    """A StudyEventData's event (None in a classic project or outside any event) and its repeat key."""
    if event_attrs is None:
        return None, "1"
    ea = _local(event_attrs)
    event = ea.get("UniqueEventName") or strip_prefix(ea.get("StudyEventOID", ""), "Event.")
    if not meta.longitudinal and event == CLASSIC_EVENT:
        event = None
    return event or None, ea.get("StudyEventRepeatKey") or "1"


def _row_key(meta: OdmMetadata, event: str | None, event_key: str, form_oid: str, form_key: str,
             where: str) -> tuple[str | None, str | None, str | None]:
    """The row a form's values go to: (event, repeating instrument, instance)."""
    form = strip_prefix(form_oid, "Form.")
    if meta.repeats_event(event):
        return (event, None, event_key)
    if meta.repeats_form(event, form):
        return (event, form, form_key)
    for what, k in (("instrument", form_key), ("event", event_key)):
        if k not in ("", "1"):
            raise ExportError(
                f"form '{form}' has instance {k} but the ODM does not declare the {what} repeating",
                where=f"{where}, event {event or '(none)'}, FormData {form_oid or form}",
                fix="export 'CDISC ODM (XML) — project metadata and data' so that the repeating "
                    "setup comes with the data, or pass --repeating with the repeating instruments export")
    return (event, None, None)


def _subject_rows(subject: dict[str, str], forms: list[Form], meta: OdmMetadata, rid: str,
                  flat: _Flat) -> list[dict[str, str]]:
    """One record's attributes and forms -> its export rows, in order (record × event × instrument × instance)."""
    a = _local(subject)
    record = a.get("SubjectKey", "")
    where = f"{meta.path}, SubjectData {record or '#' + str(flat.subjects)}"
    if not record.strip():
        raise ExportError("a SubjectData element has no SubjectKey (record ID)", where=where, fix=ODM_FIX)
    rows: dict[tuple, dict[str, str]] = {}
    last: object = rows  # the forms of one StudyEventData share its attributes: read them once
    for event_attrs, form_attrs, cells in forms:
        if event_attrs is not last:
            last = event_attrs
            event, event_key = _event(event_attrs, meta)
        form_oid = form_attrs.get("FormOID", "")
        form_key = form_attrs.get("FormRepeatKey") or "1"
        at = (event, event_key, form_oid, form_key)
        key = flat.row_keys.get(at)
        if key is None:
            key = flat.row_keys[at] = _row_key(meta, event, event_key, form_oid, form_key, where)
        rows.setdefault(key, {}).update(cells)
    dag = a.get("DataAccessGroup") or next(
        (r["redcap_data_access_group"] for r in rows.values() if r.get("redcap_data_access_group")), None)
    out = []
    for (event, instrument, instance), values in rows.items():
        row = values
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


class _RowFile:
    """The flat rows, written as CSV cells in a fixed column order (new columns are added at the end;
    DuckDB pads the shorter earlier rows with NULLs)."""

    def __init__(self, fh, columns: list[str]):
        self.fh = fh
        self.writer = csv.writer(fh, lineterminator="\n")
        self.lines: dict[tuple[str, ...], str] = {}
        self.columns = list(dict.fromkeys(columns))
        self.index = {c: i for i, c in enumerate(self.columns)}
        self.rows = 0
        self.ragged = False  # a column was added after rows were written: those rows are short

    def write(self, row: dict[str, str]) -> None:
        """One row: as a line made from the format of rows with the same keys, or by the CSV writer
        when a value needs quoting."""
        keys = tuple(row)
        line = self.lines.get(keys)
        if line is None:
            line = self.lines[keys] = self._line(keys)
        values = row.values()
        text = "\x00".join(values)
        if '"' in text or "," in text or "\n" in text or "\r" in text:
            cells = [None] * len(self.columns)
            for key, value in row.items():
                cells[self.index[key]] = value
            self.writer.writerow(cells)
        else:
            self.fh.write(line.format(*values))
        self.rows += 1

    def _line(self, keys: tuple[str, ...]) -> str:
        """The format of a row with these keys (``{0},,{1}…``); a new key becomes a column at the end."""
        for key in keys:
            if key not in self.index:
                self.index[key] = len(self.columns)
                self.columns.append(key)
                self.ragged = self.ragged or self.rows > 0
        at = {self.index[key]: n for n, key in enumerate(keys)}
        return ",".join(f"{{{at[i]}}}" if i in at else "" for i in range(len(self.columns))) + "\n"

    def read_options(self) -> str:
        """read_csv options for the file (DuckDB pads short rows only when it reads in one thread)."""
        return "null_padding = true, parallel = false" if self.ragged else "parallel = true"


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
    with tempfile.TemporaryDirectory(prefix="registry-odm-") as tmp:
        path = Path(tmp) / "rows.csv"
        try:  # REDCap's own layout, read without building elements; anything else with the XML parser
            meta, rid, rows, flat = _write_rows(path, _fast_records(source, encoding), source, project)
        except NotRegular:
            meta, rid, rows, flat = _write_rows(path, _parsed_records(source, encoding), source, project)
        if flat.rows == 0:
            raise InputFileError("the ODM export holds no records (no SubjectData in ClinicalData)",
                                 where=str(info.path),
                                 fix="export the project with its data ('CDISC ODM (XML) — project metadata "
                                     "and data'), with records selected")
        known = {rid, *PSEUDO_COLUMNS, *meta.columns}
        flat.extras = dict.fromkeys(c for c in rows.columns if c not in known)
        raw = _header(meta, rid, flat)
        mapped = map_header(list(raw), project, info.path, ignore_extra, info)
        keep = [(r, m) for r, m in zip(raw, mapped, strict=True) if r not in info.ignored_columns]
        select = ", ".join(f"{quote_name(r)} as {quote_name(m)}" for r, m in keep)
        con.execute(
            f"create or replace temp table raw as select {select} from "
            "read_csv($path, columns = $columns, header = false, auto_detect = false, delim = ',', quote = '\"', "
            f"escape = '\"', max_line_size = 100000000, {rows.read_options()})",
            {"path": str(path), "columns": {c: "VARCHAR" for c in rows.columns}},
        )
        number_rows(con)
    header = [m for _r, m in keep]
    commas = read_decimal_commas(con, project, header)
    if commas:
        info.notes.append(decimal_comma_note(commas))
    return header


def _fast_records(source: Path, encoding: str | None):
    """The metadata (as :func:`_parsed_records` chooses it), then each record by :mod:`odm_fast`."""
    try:
        if encoding and codecs.lookup(encoding).name != "utf-8":
            raise NotRegular("not UTF-8")
    except LookupError:
        raise NotRegular("an unknown encoding: the XML parser's path says so") from None
    meta = None
    for event, el in iterparse(source, ("start", "end"), encoding):
        name = local_name(el.tag)
        if event == "start" and name == "ClinicalData":
            break
        if event == "end" and name == "Study" and (meta is None or not meta.has_metadata):
            meta = read_metadata(el, source)
    if meta is not None:
        yield meta
    yield from odm_fast.subjects(source, meta.datetime_items if meta else set())


def _parsed_records(source: Path, encoding: str | None):
    """The metadata of the first Study that has it, then each record, by the XML parser."""
    meta = OdmMetadata(path=source)
    for el in iter_subjects(source, encoding):
        if el.tag.endswith("Study"):
            if not meta.has_metadata:
                meta = read_metadata(el, source)
                yield meta
            continue
        yield _element_subject(el, meta)


def _write_rows(path: Path, records, source: Path, project: Project):
    """The records as CSV rows in ``path``; the metadata, record ID field, row file and what was seen."""
    meta = OdmMetadata(path=source)
    flat = _Flat()
    rid = project.dictionary.record_id_field
    rows = None
    with path.open("w", encoding="utf-8", newline="") as fh:
        for item in records:
            if isinstance(item, OdmMetadata):
                meta = item
                meta.repeating |= _given_repeating(project, meta)
                rid = meta.record_id_field or rid
                continue
            if rows is None:
                rows = _RowFile(fh, [rid, *PSEUDO_COLUMNS, *meta.columns])
            flat.subjects += 1
            for row in _subject_rows(*item, meta, rid, flat):
                rows.write(row)
                flat.rows += 1
    return meta, rid, rows, flat


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
