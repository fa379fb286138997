"""REDCap's whole-project CDISC ODM XML export: the project and its records in one file.

REDCap's "CDISC ODM (XML) — project metadata and data" export (and the API's project XML)
holds the data dictionary (``MetaDataVersion``), events and arms (``StudyEventDef``), the
repeating setup and the missing-data codes (``GlobalVariables``) and the records
(``ClinicalData``). :func:`read_odm_project` rebuilds the :class:`Project` from the metadata;
:func:`load_odm` flattens the records into the rows a CSV export of the same project has
and loads them into the temp table ``raw`` as the JSON loader does.

Where REDCap's ODM differs from its CSV exports, and how that is undone here:

- field types use internal names (``select``, ``textarea``) and so do some validations
  (``int``, ``float``, ``date``…): mapped through ``LEGACY_TYPES``/``LEGACY_VALIDATIONS``;
- a checkbox is one ItemDef per choice (``field___code``, ``redcap:Variable`` = the field),
  its real choices in the CodeList's ``redcap:CheckboxChoices``: rebuilt as one field;
- ``<form>_complete`` is an item although no dictionary has it: it is a column, not a field;
- the repeating setup is in ``redcap:RepeatingInstrumentsAndEvents`` (REDCap writes
  ``Repeating="No"`` on every FormDef); ``Repeating="Yes"`` on a FormDef or StudyEventDef is
  honoured too;
- datetimes are written with a ``T`` (``2024-01-02T10:30``): turned back into a space;
- file fields are base64 (``ItemDataBase64Binary``): the file name (``redcap:DocName``) is kept, as a
  CSV export shows it (``[document]`` when the ODM names no file);
- a comma-decimal REDCap writes ``11,2`` in number and calc fields: read when the whole column does;
- line breaks inside attribute values (labels, notes values) are written raw, which an XML
  parser must turn into spaces: they are escaped as ``&#10;`` before parsing so they survive.

Records are streamed one ``SubjectData`` at a time, so the file is never held in memory whole.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import json
import re
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from registry.errors import DictionaryError, ExportError, InputFileError
from registry.redcap import decimal_comma
from registry.redcap.columns import PSEUDO_COLUMNS
from registry.redcap.dictionary import (
    API_COLUMNS,
    LEGACY_TYPES,
    LEGACY_VALIDATIONS,
    Dictionary,
    Field,
    _row_to_field,
    parse_choices,
)
from registry.redcap.project import (
    STANDARD_MISSING_CODES,
    Event,
    Project,
    _check_anchor,
    read_events,
    read_mapping,
    read_repeating,
)
from registry.sqltext import quote_name

ODM_FIX = ("export the project again from REDCap (Other Export Options > 'CDISC ODM (XML) — project "
           "metadata and data'); do not edit the file by hand")
METADATA_FIX = ("export 'CDISC ODM (XML) — project metadata and data' (not the data-only ODM), "
                "or pass the project's data dictionary with --dictionary")
# ODM DataType -> (REDCap field type, validation), for items without redcap:FieldType.
ODM_DATATYPES = {
    "integer": ("text", "integer"), "float": ("text", "number"), "date": ("text", "date_ymd"),
    "datetime": ("text", "datetime_seconds_ymd"), "partialDatetime": ("text", "datetime_seconds_ymd"),
    "time": ("text", "time"), "boolean": ("truefalse", ""),
}
CLASSIC_EVENT = "event_1_arm_1"  # what REDCap names the one event of a classic project


# --- small XML helpers (namespace-agnostic: ODM 1.3.x, the redcap: extension, or none) ------

def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _attrs(el: ET.Element) -> dict[str, str]:
    """Attributes by local name: ODM's own (``OID``) and REDCap's (``redcap:Variable``) alike."""
    return {k.rsplit("}", 1)[-1]: v for k, v in el.attrib.items()}


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _child(el: ET.Element | None, name: str) -> ET.Element | None:
    if el is None:
        return None
    return next((c for c in el if _local(c.tag) == name), None)


def _translated(el: ET.Element | None) -> str:
    """The text of a Question or Decode: REDCap's formatted (HTML) label if any, else the plain one."""
    if el is None:
        return ""
    formatted = _child(el, "FormattedTranslatedText")
    if formatted is not None and (formatted.text or "").strip():
        return formatted.text or ""
    plain = _child(el, "TranslatedText")
    return (plain.text or "") if plain is not None else ""


def _strip_prefix(value: str, prefix: str) -> str:
    return value[len(prefix):] if value.startswith(prefix) else value


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def is_odm_file(path: str | Path, head: bytes | None = None) -> bool:
    """An ODM XML export: the name ends in ``.xml``, or the file starts as XML does."""
    path = Path(path)
    if path.suffix.lower() == ".xml":
        return True
    if head is None:
        try:
            with path.open("rb") as fh:
                head = fh.read(512)
        except OSError:
            return False
    start = head.lstrip(b"\xef\xbb\xbf \r\n\t")
    return start.startswith(b"<?xml") or start.startswith(b"<ODM")


# --- reading the file: raw line breaks in attribute values kept, errors made readable --------

_TAG = re.compile(rb"<(?:[^<>\"']|\"[^\"<]*\"|'[^'<]*')*>")
_QUOTED = re.compile(rb"\"[^\"]*\"|'[^']*'")
# An attribute value that holds a line break or tab: '="' then a break before the closing quote.
# One pattern per quote character, so that the search starts from a literal (fast).
_HINTS = (re.compile(rb"=\"[^\"\n\r\t]*[\n\r\t]"), re.compile(rb"='[^'\n\r\t]*[\n\r\t]"))


def _escape_breaks(match: re.Match) -> bytes:
    tag = match.group()
    if b"\n" not in tag and b"\r" not in tag and b"\t" not in tag:
        return tag
    return _QUOTED.sub(
        lambda q: q.group().replace(b"\r\n", b"&#10;").replace(b"\r", b"&#10;")
        .replace(b"\n", b"&#10;").replace(b"\t", b"&#9;"),
        tag,
    )


class _KeepBreaks:
    """A binary reader that escapes raw line breaks and tabs inside attribute values.

    XML parsers turn them into spaces (attribute-value normalisation), but REDCap writes
    multi-line labels and notes values unescaped. ``<`` cannot occur in an attribute value,
    so a chunk is processed up to its last ``<`` and the rest is carried to the next read.
    """

    def __init__(self, fh, chunk: int = 1 << 20):
        self.fh = fh
        self.chunk = chunk
        self.carry = b""
        self.eof = False

    def read(self, size: int = -1) -> bytes:
        while not self.eof:
            data = self.fh.read(self.chunk)
            if not data:
                self.eof = True
                out, self.carry = self.carry, b""
                return self._escape(out)
            buf = self.carry + data
            cut = buf.rfind(b"<")
            if cut <= 0:
                self.carry = buf
                continue
            out, self.carry = buf[:cut], buf[cut:]
            return self._escape(out)
        return b""

    @staticmethod
    def _escape(chunk: bytes) -> bytes:
        for hint in _HINTS:
            chunk = _KeepBreaks._escape_hinted(chunk, hint)
        return chunk

    @staticmethod
    def _escape_hinted(chunk: bytes, pattern: re.Pattern) -> bytes:
        """Fix only the tags around a hint; the nearest '<' before a hint inside a tag is its start."""
        out, last, pos = [], 0, 0
        while (hint := pattern.search(chunk, pos)) is not None:
            pos = hint.end()
            start = chunk.rfind(b"<", last, hint.start())
            tag = _TAG.match(chunk, start) if start >= 0 else None
            if tag is None or tag.end() <= hint.start():
                continue  # the quote is in text content, not in a tag
            out += [chunk[last:start], _escape_breaks(tag)]
            last = pos = tag.end()
        if not out:
            return chunk
        out.append(chunk[last:])
        return b"".join(out)


def _ascii_compatible(head: bytes, encoding: str | None) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) > 1 and head[1:2] == b"\x00"):
        return False
    if encoding:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            raise InputFileError(f"unknown encoding '{encoding}'", where="--encoding",
                                 fix="use a Python codec name, e.g. --encoding cp1252, or leave it out "
                                     "and let the XML declaration say") from None
        return not name.startswith(("utf-16", "utf-32"))
    return True


_PARSE_MESSAGES = {
    "no element found": "the XML ends early: the file is truncated",
    "unclosed token": "the XML ends early: the file is truncated",
    "mismatched tag": "a closing tag does not match its opening tag",
    "not well-formed (invalid token)": "the XML is not well-formed (a stray '<' or '&', or a broken tag)",
    "junk after document element": "there is text after the end of the ODM document",
    "syntax error": "the file is not XML",
}


def _parse_error(exc: ET.ParseError, path: Path, encoding: str | None) -> InputFileError:
    """Say what is wrong and where; the position comes from the file as it is on disk."""
    line, column = exc.position
    try:  # positions in the escaped stream can be off by the line breaks escaped: parse the raw file
        parser = ET.XMLParser(encoding=encoding) if encoding else None
        with path.open("rb") as fh:
            for _ in ET.iterparse(fh, events=("end",), parser=parser):
                pass
    except ET.ParseError as raw_exc:
        line, column = raw_exc.position
    except (OSError, LookupError):
        pass
    text = str(exc).split(":", 1)[0]
    what = _PARSE_MESSAGES.get(text, f"the XML cannot be parsed ({text})")
    if "encoding" in str(exc) or "undefined entity" in str(exc):
        what = f"the XML cannot be parsed ({exc})"
    return InputFileError(f"the ODM export is malformed: {what}",
                          where=f"{path}, line {line}, column {column + 1}", fix=ODM_FIX)


def _iterparse(path: Path, events: tuple[str, ...], encoding: str | None = None):
    """``ET.iterparse`` over the file, its errors turned into :class:`InputFileError`."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InputFileError(f"cannot read the ODM export: {exc.strerror}", where=str(path),
                             fix="check the path of the export") from None
    with fh:
        head = fh.read(4)
        fh.seek(0)
        source = _KeepBreaks(fh) if _ascii_compatible(head, encoding) else fh
        parser = ET.XMLParser(encoding=encoding) if encoding else None
        try:
            parsing = ET.iterparse(source, events=events, parser=parser)
            event, el = next(parsing)
            root = _local(el.tag)
            if root != "ODM":
                raise InputFileError(f"the XML file is not a CDISC ODM export (its root element is <{root}>)",
                                     where=f"{path}, line 1", fix=ODM_FIX)
            yield event, el
            yield from parsing
        except ET.ParseError as exc:
            raise _parse_error(exc, path, encoding) from None


# --- the metadata ------------------------------------------------------------------------------

@dataclass
class OdmMetadata:
    """What the ODM's Study element says about the project's shape and its columns."""

    path: Path
    study_name: str = ""
    record_id_field: str = ""
    rows: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (ItemDef OID, dictionary row)
    columns: list[str] = field(default_factory=list)  # export columns (ItemOIDs) in REDCap's order
    forms: list[str] = field(default_factory=list)
    form_labels: dict[str, str] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    arms: dict[int, str] = field(default_factory=dict)
    mapping: list[tuple[int, str, str]] = field(default_factory=list)
    repeating: set[tuple[str | None, str | None]] = field(default_factory=set)
    missing_codes: tuple[str, ...] | None = None
    datetime_items: set[str] = field(default_factory=set)
    has_metadata: bool = False

    @property
    def longitudinal(self) -> bool:
        return bool(self.events)

    def repeats_event(self, event: str | None) -> bool:
        return event is not None and (event, None) in self.repeating

    def repeats_form(self, event: str | None, form: str) -> bool:
        return (None, form) in self.repeating or (event is not None and (event, form) in self.repeating)


def _read_metadata(study: ET.Element | None, path: Path) -> OdmMetadata:
    meta = OdmMetadata(path=path)
    if study is None:
        return meta
    gv = _child(study, "GlobalVariables")
    if gv is not None:
        name = _child(gv, "StudyName")
        meta.study_name = (name.text or "").strip() if name is not None else ""
        codes = _child(gv, "MissingDataCodes")
        if codes is not None:
            meta.missing_codes = _missing_codes(codes.text or "")
    mdv = _child(study, "MetaDataVersion")
    if mdv is None:
        return meta
    meta.has_metadata = True
    meta.study_name = meta.study_name or _attrs(mdv).get("Name", "")
    _read_events(mdv, meta)
    if gv is not None:
        _read_repeating_setup(gv, meta)
    _read_forms(mdv, meta)
    return meta


def _missing_codes(text: str) -> tuple[str, ...]:
    """``UNK, Unknown`` per line (or ``|``-separated) -> ``('UNK', …)``."""
    codes = []
    for piece in re.split(r"[\r\n|]+", text.replace("\\n", "\n")):
        code = piece.split(",", 1)[0].strip()
        if code and code not in codes:
            codes.append(code)
    return tuple(codes)


def _read_events(mdv: ET.Element, meta: OdmMetadata) -> None:
    defs = {_attrs(e).get("OID", ""): e for e in _children(mdv, "StudyEventDef")}
    protocol = _child(mdv, "Protocol")
    refs = []
    if protocol is not None:
        refs = sorted(_children(protocol, "StudyEventRef"),
                      key=lambda r: _number(_attrs(r).get("OrderNumber")) or 0.0)
    order = [_attrs(r).get("StudyEventOID", "") for r in refs if _attrs(r).get("StudyEventOID") in defs]
    order += [oid for oid in defs if oid not in order]
    for oid in order:
        el = defs[oid]
        a = _attrs(el)
        unique = a.get("UniqueEventName") or _strip_prefix(oid, "Event.")
        try:
            arm = int(a.get("ArmNum") or 1)
        except ValueError:
            raise DictionaryError(f"event '{unique}' has arm number '{a.get('ArmNum')}', not a whole number",
                                  where=f"{meta.path}, StudyEventDef {oid}", fix=ODM_FIX) from None
        meta.events.append(Event(
            unique_name=unique, label=a.get("EventName") or a.get("Name", ""), arm=arm,
            day_offset=_number(a.get("DayOffset")), offset_min=_number(a.get("OffsetMin")),
            offset_max=_number(a.get("OffsetMax")),
        ))
        meta.arms.setdefault(arm, a.get("ArmName") or f"Arm {arm}")
        for ref in _children(el, "FormRef"):
            ra = _attrs(ref)
            form = ra.get("FormName") or _strip_prefix(ra.get("FormOID", ""), "Form.")
            meta.mapping.append((arm, unique, form))
        if a.get("Repeating", "").lower() == "yes":
            meta.repeating.add((unique, None))


def _read_repeating_setup(gv: ET.Element, meta: OdmMetadata) -> None:
    setup = _child(gv, "RepeatingInstrumentsAndEvents")
    if setup is None:
        return
    for el in setup.iter():
        tag = _local(el.tag)
        a = _attrs(el)
        event = a.get("UniqueEventName") or None
        if not meta.longitudinal:
            event = None  # REDCap names the one event of a classic project event_1_arm_1
        if tag == "RepeatingInstrument" and a.get("RepeatInstrument"):
            meta.repeating.add((event, a["RepeatInstrument"]))
        elif tag == "RepeatingEvent" and event:
            meta.repeating.add((event, None))


def _read_forms(mdv: ET.Element, meta: OdmMetadata) -> None:
    groups = {_attrs(g).get("OID", ""): g for g in _children(mdv, "ItemGroupDef")}
    items = {_attrs(i).get("OID", ""): i for i in _children(mdv, "ItemDef")}
    code_lists = {_attrs(c).get("OID", ""): c for c in _children(mdv, "CodeList")}
    form_defs = _children(mdv, "FormDef")
    for fd in form_defs:
        a = _attrs(fd)
        meta.forms.append(a.get("FormName") or _strip_prefix(a.get("OID", ""), "Form."))
    timestamps = {f"{f}_timestamp" for f in meta.forms}
    seen: set[str] = set()
    checkboxes: dict[str, dict[str, str]] = {}  # field -> its dictionary row (choices filled in later)
    checkbox_items: dict[str, list[str]] = {}  # field -> its item OIDs
    for fd, form in zip(form_defs, meta.forms, strict=True):
        fa = _attrs(fd)
        meta.form_labels[form] = fa.get("Name", "")
        if fa.get("Repeating", "").lower() == "yes":
            meta.repeating.add((None, form))
        for gref in _children(fd, "ItemGroupRef"):
            goid = _attrs(gref).get("ItemGroupOID", "")
            group = groups.get(goid)
            if group is None:
                raise DictionaryError(f"form '{form}' refers to item group '{goid}', which is not defined",
                                      where=f"{meta.path}, FormDef {fa.get('OID', form)}", fix=ODM_FIX)
            for iref in _children(group, "ItemRef"):
                ia = _attrs(iref)
                oid = ia.get("ItemOID", "")
                item = items.get(oid)
                if item is None:
                    raise DictionaryError(f"item group '{goid}' refers to item '{oid}', which is not defined",
                                          where=f"{meta.path}, ItemGroupDef {goid}", fix=ODM_FIX)
                if oid in seen:
                    continue
                seen.add(oid)
                a = _attrs(item)
                variable = a.get("Variable") or a.get("Name") or oid
                ftype = LEGACY_TYPES.get(a.get("FieldType", ""), a.get("FieldType", ""))
                if ftype != "descriptive":
                    meta.columns.append(oid)
                if variable in PSEUDO_COLUMNS or variable == f"{form}_complete" or (
                        variable in timestamps and not ftype):
                    continue
                row = _item_row(item, a, variable, form, ftype, code_lists, ia)
                if row["text_validation_type_or_show_slider_number"].startswith("datetime"):
                    meta.datetime_items.add(oid)
                if row["field_type"] == "checkbox":
                    checkbox_items.setdefault(variable, []).append(oid)
                    if variable in checkboxes:
                        continue
                    checkboxes[variable] = row
                meta.rows.append((oid, row))
    for variable, row in checkboxes.items():
        if not row["select_choices_or_calculations"]:  # no redcap:CheckboxChoices: codes from the item names
            codes = [_strip_prefix(oid, f"{variable}___") for oid in checkbox_items[variable]]
            row["select_choices_or_calculations"] = " | ".join(f"{c}, {c}" for c in codes)
    rid = _attrs(mdv).get("RecordIdField") or (meta.rows[0][1]["field_name"] if meta.rows else "")
    meta.record_id_field = rid
    first = next((i for i, (_oid, r) in enumerate(meta.rows) if r["field_name"] == rid), None)
    if first:  # REDCap puts the record ID first; a dictionary's first field is its record ID
        meta.rows.insert(0, meta.rows.pop(first))


def _item_row(item: ET.Element, a: dict[str, str], variable: str, form: str, ftype: str,
              code_lists: dict[str, ET.Element], ref: dict[str, str]) -> dict[str, str]:
    """One dictionary row (API column names) from an ItemDef."""
    validation = a.get("TextValidationType", "")
    code_list = None
    clref = _child(item, "CodeListRef")
    if clref is not None:
        code_list = code_lists.get(_attrs(clref).get("CodeListOID", ""))
    if not ftype:  # not written by REDCap: go by the ODM data type
        ftype, fallback = ODM_DATATYPES.get(a.get("DataType", ""), ("text", ""))
        validation = validation or fallback
        if code_list is not None and ftype == "text":
            ftype = "radio"
    validation = LEGACY_VALIDATIONS.get(validation, validation)
    choices = ""
    if ftype == "checkbox":
        if code_list is not None:
            cb = _attrs(code_list).get("CheckboxChoices", "")
            choices = " | ".join(f"{c.code}, {c.label}" for c in parse_choices(cb))
    elif ftype in {"radio", "dropdown", "sql"} and code_list is not None:
        choices = " | ".join(
            f"{_attrs(ci).get('CodedValue', '')}, {_translated(_child(ci, 'Decode'))}"
            for ci in _children(code_list, "CodeListItem")
        )
    elif ftype == "calc":
        choices = a.get("Calculation", "")
    elif ftype == "slider":
        choices = a.get("SliderLabels", "")
    elif ftype == "text":
        choices = a.get("OntologySearch", "")
    vmin = vmax = ""
    for rc in _children(item, "RangeCheck"):
        cv = _child(rc, "CheckValue")
        value = (cv.text or "").strip() if cv is not None else ""
        comparator = _attrs(rc).get("Comparator", "")
        if comparator in {"GE", "GT"}:
            vmin = value
        elif comparator in {"LE", "LT"}:
            vmax = value
    required = a.get("RequiredField", "").lower() == "y" or ref.get("Mandatory", "").lower() == "yes"
    return {
        "field_name": variable, "form_name": form, "section_header": a.get("SectionHeader", ""),
        "field_type": ftype, "field_label": _translated(_child(item, "Question")),
        "select_choices_or_calculations": choices, "field_note": a.get("FieldNote", ""),
        "text_validation_type_or_show_slider_number": validation,
        "text_validation_min": vmin, "text_validation_max": vmax,
        "identifier": "y" if a.get("Identifier", "").lower() == "y" else "",
        "branching_logic": a.get("BranchingLogic", ""), "required_field": "y" if required else "",
        "custom_alignment": a.get("CustomAlignment", ""), "question_number": a.get("QuestionNumber", ""),
        "matrix_group_name": a.get("MatrixGroupName", ""),
        "matrix_ranking": "y" if a.get("MatrixRanking", "").lower() == "y" else "",
        "field_annotation": a.get("FieldAnnotation", ""),
    }


def _read_study(path: Path, encoding: str | None = None) -> ET.Element | None:
    """The Study element (metadata), without reading the records that follow it."""
    for event, el in _iterparse(path, ("start", "end"), encoding):
        if event == "start" and _local(el.tag) == "ClinicalData":
            return None
        if event == "end" and _local(el.tag) == "Study":
            return el
    return None


def read_odm_project(path: str | Path, encoding: str | None = None) -> Project:
    """The project (dictionary, events/arms, repeating setup, missing-data codes) an ODM export holds."""
    from registry.redcap.export import check_file

    path = Path(path)
    check_file(path)
    meta = _read_metadata(_read_study(path, encoding), path)
    if not meta.has_metadata:
        raise DictionaryError("the ODM export holds no project metadata (no MetaDataVersion)",
                              where=str(path), fix=METADATA_FIX)
    if not meta.rows:
        raise DictionaryError("the ODM metadata defines no fields", where=f"{path}, MetaDataVersion",
                              fix=METADATA_FIX)
    fields: list[Field] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for oid, row in meta.rows:
        try:
            f = _row_to_field(row, str(path), 0, warnings)
        except DictionaryError as exc:
            raise DictionaryError(exc.what, where=f"{path}, ItemDef {oid}", fix=exc.fix) from None
        if f.name in seen:
            raise DictionaryError(f"field '{f.name}' is defined twice", where=f"{path}, ItemDef {oid}",
                                  fix=ODM_FIX)
        seen.add(f.name)
        fields.append(f)
    codes = meta.missing_codes if meta.missing_codes is not None else STANDARD_MISSING_CODES
    dictionary = Dictionary(fields, source=str(path), sha256=_metadata_sha256(meta, codes), warnings=warnings)
    return Project(
        dictionary=dictionary, name=meta.study_name or path.stem,
        events=list(meta.events) or None, mapping=list(meta.mapping) or None,
        repeating=set(meta.repeating), instrument_labels=dict(meta.form_labels),
        missing_codes=codes, arms=dict(meta.arms),
    )


def dictionary_csv(meta: OdmMetadata) -> str:
    """The metadata as the dictionary CSV REDCap would download (API column names)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(API_COLUMNS)
    for _oid, row in meta.rows:
        writer.writerow([row[c] for c in API_COLUMNS])
    return buf.getvalue()


def _metadata_sha256(meta: OdmMetadata, codes: tuple[str, ...]) -> str:
    """SHA-256 of the canonical dictionary CSV plus events, arms, repeating setup and missing codes."""
    rest = {
        "events": [[e.unique_name, e.label, e.arm, e.day_offset, e.offset_min, e.offset_max]
                   for e in meta.events],
        "arms": sorted(meta.arms.items()), "mapping": sorted(meta.mapping),
        "repeating": sorted([e or "", f or ""] for e, f in meta.repeating),
        "missing_codes": list(codes),
    }
    text = dictionary_csv(meta) + "\n" + json.dumps(rest, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def apply_options(project: Project, *, events=None, mapping=None, repeating=None,
                  missing_codes: tuple[str, ...] | None = None,
                  study_day_anchor: str | None = None) -> Project:
    """Command-line options over what the ODM says (given files and codes win)."""
    if events:
        project.events = read_events(events)
    if mapping:
        project.mapping = read_mapping(mapping)
    if repeating:
        project.repeating = read_repeating(repeating)
    if missing_codes is not None:
        project.missing_codes = tuple(missing_codes)
    if study_day_anchor:
        project.study_day_anchor = study_day_anchor
        _check_anchor(project)
    return project


# --- the records -------------------------------------------------------------------------------

@dataclass
class _Flat:
    """What the flattening saw, for choosing the pseudo columns of the header."""

    events: bool = False
    repeats: bool = False
    dag: bool = False
    extras: dict[str, None] = field(default_factory=dict)
    subjects: int = 0
    rows: int = 0


def _value(el: ET.Element, meta: OdmMetadata, oid: str) -> str | None:
    """The cell of one ItemData (ODM's own attributes carry no namespace)."""
    if el.tag.endswith("ItemDataBase64Binary"):  # a file field: its file name, as a CSV export shows it
        name = _attrs(el).get("DocName", "").strip()
        return name or ("[document]" if (el.text or "").strip() else None)
    value = el.get("Value")
    if value is None:
        value = el.text or ""
    if value == "" or el.get("IsNull", "").lower() == "yes":
        return None
    if oid in meta.datetime_items:
        value = value.replace("T", " ", 1)
    return value


def _subject_rows(subject: ET.Element, meta: OdmMetadata, rid: str, flat: _Flat) -> list[dict[str, str]]:
    """One SubjectData -> the export rows of its record, in order (record × event × instrument × instance)."""
    a = _attrs(subject)
    record = a.get("SubjectKey", "")
    where = f"{meta.path}, SubjectData {record or '#' + str(flat.subjects)}"
    if not record.strip():
        raise ExportError("a SubjectData element has no SubjectKey (record ID)", where=where, fix=ODM_FIX)
    rows: dict[tuple, dict[str, str]] = {}

    def add_form(event: str | None, event_key: str, form_el: ET.Element) -> None:
        fa = _attrs(form_el)
        form = _strip_prefix(fa.get("FormOID", ""), "Form.")
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
                value = _value(item, meta, oid)
                if value is not None:
                    row[oid] = value

    for child in subject:
        tag = _local(child.tag)
        if tag == "StudyEventData":
            ea = _attrs(child)
            event = ea.get("UniqueEventName") or _strip_prefix(ea.get("StudyEventOID", ""), "Event.")
            if not meta.longitudinal and event == CLASSIC_EVENT:
                event = None
            for form_el in _children(child, "FormData"):
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
    from registry.redcap.export import _map_header

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
            for event, el in _iterparse(source, ("start", "end"), encoding):
                if event == "start":
                    if clinical is None and _local(el.tag) == "ClinicalData":
                        clinical = el
                    continue
                tag = el.tag
                if not tag.endswith(("SubjectData", "Study")):
                    continue
                tag = _local(tag)
                if tag == "Study" and not meta.has_metadata:
                    meta = _read_metadata(el, source)
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
        mapped = _map_header(list(raw), project, info.path, ignore_extra, info)
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
    commas = decimal_comma.read_decimal_commas(con, project, header)
    if commas:
        info.notes.append(decimal_comma.note(commas))
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

