"""The records of an ODM export (``ClinicalData``), streamed into the rows a CSV export has.

One ``SubjectData`` at a time (the file is never held in memory whole), by :mod:`odm_fast` when
the records are laid out as REDCap writes them (a large file in parts, one process per core:
:mod:`odm_parts`), else by the XML parser: one row per record ×
event × repeating instrument × instance, the instance blank unless the form or event repeats,
the columns in REDCap's order. The rows go to temporary CSV files that DuckDB's ``read_csv``
loads, in order, into the table ``raw``; the header is mapped by :func:`registry.redcap.header.map_header`.
"""

from __future__ import annotations

import codecs
import tempfile
from pathlib import Path
from typing import NamedTuple

from registry.errors import InputFileError
from registry.redcap import odm_fast, odm_parts, ordered_read
from registry.redcap.columns import PSEUDO_COLUMNS
from registry.redcap.header import map_header
from registry.redcap.odm_fast import Form, NotRegular
from registry.redcap.odm_metadata import OdmMetadata, read_metadata
from registry.redcap.odm_rows import Flat, RowFile, write_subject
from registry.redcap.odm_values import cell_value, decimal_comma_note, read_decimal_commas
from registry.redcap.odm_xml import attrs, iter_subjects, iterparse, local_name
from registry.redcap.project import Project
from registry.redcap.raw_rows import number_rows
from registry.sqltext import quote_name


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


def load_odm(con, source: Path, project: Project, info, *, ignore_extra: bool = False,
             encoding: str | None = None) -> list[str]:
    """Flatten an ODM export's ClinicalData into the table ``raw``; return its columns.

    Rows and columns are those of a CSV export of the same project: one row per record ×
    event × repeating instrument × instance, the instance blank unless the form or event
    repeats, the columns in REDCap's order (record ID, the pseudo columns, then form by form).
    The shape (repeating setup, column order, datetime items) comes from the ODM's own
    metadata; the column names are then checked against ``project`` as for any export.
    """
    source = Path(source)
    with tempfile.TemporaryDirectory(prefix="registry-odm-") as tmp:
        try:  # REDCap's own layout, read without building elements; anything else with the XML parser
            meta, rid, flat, files, columns, options = _fast_rows(con, Path(tmp), source, encoding, project)
        except NotRegular:
            meta, rid, flat, files, columns, options = _write_rows(
                Path(tmp) / "rows.csv", _parsed_records(source, encoding), source, project)
        if flat.rows == 0:
            raise InputFileError("the ODM export holds no records (no SubjectData in ClinicalData)",
                                 where=str(info.path),
                                 fix="export the project with its data ('CDISC ODM (XML) — project metadata "
                                     "and data'), with records selected")
        known = {rid, *PSEUDO_COLUMNS, *meta.columns}
        flat.extras = dict.fromkeys(c for c in columns if c not in known)
        raw = _header(meta, rid, flat)
        mapped = map_header(list(raw), project, info.path, ignore_extra, info)
        keep = [(r, m) for r, m in zip(raw, mapped, strict=True) if r not in info.ignored_columns]
        select = ", ".join(f"{quote_name(r)} as {quote_name(m)}" for r, m in keep)
        ordered_read.read(  # the parts read at once, in order
            con, f"select {select} from read_csv($path, columns = $columns, header = false, auto_detect = false, "
                 f"delim = ',', quote = '\"', escape = '\"', max_line_size = 100000000, {options})",
            files, {"columns": {c: "VARCHAR" for c in columns}})
        number_rows(con)
    header = [m for _r, m in keep]
    commas = read_decimal_commas(con, project, header)
    if commas:
        info.notes.append(decimal_comma_note(commas))
    return header


class _Rows(NamedTuple):
    """The records as CSV files of rows (read in order as one), and what the header needs."""

    meta: OdmMetadata
    rid: str
    flat: Flat
    files: list[str]
    columns: list[str]
    options: str  # read_csv's options for the files


def _fast_rows(con, folder: Path, source: Path, encoding: str | None, project: Project) -> _Rows:
    """The records by :mod:`odm_fast`: a large file in parts, one process per core (:mod:`odm_parts`),
    and by one process when it is small, when its items are not all in the metadata or when a part
    fails but for being irregular (that read says what is wrong, as it always has)."""
    meta = _fast_metadata(source, encoding)
    offset, prefixes = odm_fast.clinical_data(source)
    if meta is not None:
        parts = odm_parts.how_many(con, source.stat().st_size - offset)
        if parts > 1:
            meta.repeating |= _given_repeating(project, meta)
            rid = meta.record_id_field or project.dictionary.record_id_field
            columns = list(dict.fromkeys([rid, *PSEUDO_COLUMNS, *meta.columns]))
            offsets = odm_parts.cuts(source, offset, parts)
            try:
                read = odm_parts.read_parts(odm_parts.jobs(source, offsets, prefixes, meta, rid, columns, folder))
            except odm_parts.PartFailed:
                read = None
            if read is not None and all(part.columns == columns for part in read):
                return _Rows(meta, rid, Flat.combined([p.flat for p in read]), [str(p.path) for p in read], columns,
                             "parallel = true")
            for part in folder.glob("part*.csv"):
                part.unlink()
    return _write_rows(folder / "rows.csv", _fast_records(source, meta, offset, prefixes), source, project)


def _fast_metadata(source: Path, encoding: str | None) -> OdmMetadata | None:
    """The metadata of the first Study that has it (as :func:`_parsed_records` chooses it), if any."""
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
    return meta


def _fast_records(source: Path, meta: OdmMetadata | None, offset: int, prefixes: set[str]):
    """The metadata, then each record by :mod:`odm_fast` (ClinicalData at ``offset``, found once by the caller)."""
    if meta is not None:
        yield meta
    yield from odm_fast.part_subjects(source, offset, None, prefixes, meta.datetime_items if meta else set())


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


def _write_rows(path: Path, records, source: Path, project: Project) -> _Rows:
    """The records as CSV rows in ``path``, by one process."""
    meta = OdmMetadata(path=source)
    flat = Flat()
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
                rows = RowFile(fh, [rid, *PSEUDO_COLUMNS, *meta.columns])
            write_subject(rows, *item, meta, rid, flat)
    if rows is None:
        return _Rows(meta, rid, flat, [str(path)], [], "")
    return _Rows(meta, rid, flat, [str(path)], rows.columns, rows.read_options())


def _given_repeating(project: Project, meta: OdmMetadata) -> set[tuple[str | None, str | None]]:
    """A repeating setup given with the project (--repeating, or its own ODM) adds to the file's."""
    given = set(project.repeating or ())
    if not meta.longitudinal:
        given = {(None, form) for _event, form in given if form}
    return given


def _header(meta: OdmMetadata, rid: str, flat: Flat) -> list[str]:
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
