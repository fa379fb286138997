"""The project an ODM export holds: dictionary, events and arms, repeating setup, missing-data codes.

``MetaDataVersion`` holds the dictionary (REDCap's internal type names mapped back; a checkbox
rebuilt from its one ItemDef per choice; ``<form>_complete`` a column, not a field),
``StudyEventDef``/``Protocol`` the events and arms, ``GlobalVariables`` the repeating setup and
the missing-data codes. :func:`read_odm_project` reads them without reading the records.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from registry.errors import DictionaryError
from registry.redcap.columns import PSEUDO_COLUMNS
from registry.redcap.dictionary import (
    API_COLUMNS,
    LEGACY_TYPES,
    LEGACY_VALIDATIONS,
    Dictionary,
    Field,
    parse_choices,
    row_to_field,
)
from registry.redcap.odm_xml import (
    ODM_FIX,
    attrs,
    child,
    children,
    iterparse,
    local_name,
    number,
    strip_prefix,
    translated,
)
from registry.redcap.project import (
    STANDARD_MISSING_CODES,
    Event,
    Project,
    check_anchor,
    read_events,
    read_mapping,
    read_repeating,
)
from registry.redcap.rawfile import check_file

METADATA_FIX = ("export 'CDISC ODM (XML) — project metadata and data' (not the data-only ODM), "
                "or pass the project's data dictionary with --dictionary")
# ODM DataType -> (REDCap field type, validation), for items without redcap:FieldType.
ODM_DATATYPES = {
    "integer": ("text", "integer"), "float": ("text", "number"), "date": ("text", "date_ymd"),
    "datetime": ("text", "datetime_seconds_ymd"), "partialDatetime": ("text", "datetime_seconds_ymd"),
    "time": ("text", "time"), "boolean": ("truefalse", ""),
}


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


def read_metadata(study: ET.Element | None, path: Path) -> OdmMetadata:
    meta = OdmMetadata(path=path)
    if study is None:
        return meta
    gv = child(study, "GlobalVariables")
    if gv is not None:
        name = child(gv, "StudyName")
        meta.study_name = (name.text or "").strip() if name is not None else ""
        codes = child(gv, "MissingDataCodes")
        if codes is not None:
            meta.missing_codes = _missing_codes(codes.text or "")
    mdv = child(study, "MetaDataVersion")
    if mdv is None:
        return meta
    meta.has_metadata = True
    meta.study_name = meta.study_name or attrs(mdv).get("Name", "")
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
    defs = {attrs(e).get("OID", ""): e for e in children(mdv, "StudyEventDef")}
    protocol = child(mdv, "Protocol")
    refs = []
    if protocol is not None:
        refs = sorted(children(protocol, "StudyEventRef"),
                      key=lambda r: number(attrs(r).get("OrderNumber")) or 0.0)
    order = [attrs(r).get("StudyEventOID", "") for r in refs if attrs(r).get("StudyEventOID") in defs]
    order += [oid for oid in defs if oid not in order]
    for oid in order:
        el = defs[oid]
        a = attrs(el)
        unique = a.get("UniqueEventName") or strip_prefix(oid, "Event.")
        try:
            arm = int(a.get("ArmNum") or 1)
        except ValueError:
            raise DictionaryError(f"event '{unique}' has arm number '{a.get('ArmNum')}', not a whole number",
                                  where=f"{meta.path}, StudyEventDef {oid}", fix=ODM_FIX) from None
        meta.events.append(Event(
            unique_name=unique, label=a.get("EventName") or a.get("Name", ""), arm=arm,
            day_offset=number(a.get("DayOffset")), offset_min=number(a.get("OffsetMin")),
            offset_max=number(a.get("OffsetMax")),
        ))
        meta.arms.setdefault(arm, a.get("ArmName") or f"Arm {arm}")
        for ref in children(el, "FormRef"):
            ra = attrs(ref)
            form = ra.get("FormName") or strip_prefix(ra.get("FormOID", ""), "Form.")
            meta.mapping.append((arm, unique, form))
        if a.get("Repeating", "").lower() == "yes":
            meta.repeating.add((unique, None))


def _read_repeating_setup(gv: ET.Element, meta: OdmMetadata) -> None:
    setup = child(gv, "RepeatingInstrumentsAndEvents")
    if setup is None:
        return
    for el in setup.iter():
        tag = local_name(el.tag)
        a = attrs(el)
        event = a.get("UniqueEventName") or None
        if not meta.longitudinal:
            event = None  # REDCap names the one event of a classic project event_1_arm_1
        if tag == "RepeatingInstrument" and a.get("RepeatInstrument"):
            meta.repeating.add((event, a["RepeatInstrument"]))
        elif tag == "RepeatingEvent" and event:
            meta.repeating.add((event, None))


def _read_forms(mdv: ET.Element, meta: OdmMetadata) -> None:
    groups = {attrs(g).get("OID", ""): g for g in children(mdv, "ItemGroupDef")}
    items = {attrs(i).get("OID", ""): i for i in children(mdv, "ItemDef")}
    code_lists = {attrs(c).get("OID", ""): c for c in children(mdv, "CodeList")}
    form_defs = children(mdv, "FormDef")
    for fd in form_defs:
        a = attrs(fd)
        meta.forms.append(a.get("FormName") or strip_prefix(a.get("OID", ""), "Form."))
    timestamps = {f"{f}_timestamp" for f in meta.forms}
    seen: set[str] = set()
    checkboxes: dict[str, dict[str, str]] = {}  # field -> its dictionary row (choices filled in later)
    checkbox_items: dict[str, list[str]] = {}  # field -> its item OIDs
    for fd, form in zip(form_defs, meta.forms, strict=True):
        fa = attrs(fd)
        meta.form_labels[form] = fa.get("Name", "")
        if fa.get("Repeating", "").lower() == "yes":
            meta.repeating.add((None, form))
        for gref in children(fd, "ItemGroupRef"):
            goid = attrs(gref).get("ItemGroupOID", "")
            group = groups.get(goid)
            if group is None:
                raise DictionaryError(f"form '{form}' refers to item group '{goid}', which is not defined",
                                      where=f"{meta.path}, FormDef {fa.get('OID', form)}", fix=ODM_FIX)
            for iref in children(group, "ItemRef"):
                ia = attrs(iref)
                oid = ia.get("ItemOID", "")
                item = items.get(oid)
                if item is None:
                    raise DictionaryError(f"item group '{goid}' refers to item '{oid}', which is not defined",
                                          where=f"{meta.path}, ItemGroupDef {goid}", fix=ODM_FIX)
                if oid in seen:
                    continue
                seen.add(oid)
                a = attrs(item)
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
            codes = [strip_prefix(oid, f"{variable}___") for oid in checkbox_items[variable]]
            row["select_choices_or_calculations"] = " | ".join(f"{c}, {c}" for c in codes)
    rid = attrs(mdv).get("RecordIdField") or (meta.rows[0][1]["field_name"] if meta.rows else "")
    meta.record_id_field = rid
    first = next((i for i, (_oid, r) in enumerate(meta.rows) if r["field_name"] == rid), None)
    if first:  # REDCap puts the record ID first; a dictionary's first field is its record ID
        meta.rows.insert(0, meta.rows.pop(first))


def _item_row(item: ET.Element, a: dict[str, str], variable: str, form: str, ftype: str,
              code_lists: dict[str, ET.Element], ref: dict[str, str]) -> dict[str, str]:
    """One dictionary row (API column names) from an ItemDef."""
    validation = a.get("TextValidationType", "")
    code_list = None
    clref = child(item, "CodeListRef")
    if clref is not None:
        code_list = code_lists.get(attrs(clref).get("CodeListOID", ""))
    if not ftype:  # not written by REDCap: go by the ODM data type
        ftype, fallback = ODM_DATATYPES.get(a.get("DataType", ""), ("text", ""))
        validation = validation or fallback
        if code_list is not None and ftype == "text":
            ftype = "radio"
    validation = LEGACY_VALIDATIONS.get(validation, validation)
    choices = ""
    if ftype == "checkbox":
        if code_list is not None:
            cb = attrs(code_list).get("CheckboxChoices", "")
            choices = " | ".join(f"{c.code}, {c.label}" for c in parse_choices(cb))
    elif ftype in {"radio", "dropdown", "sql"} and code_list is not None:
        choices = " | ".join(
            f"{attrs(ci).get('CodedValue', '')}, {translated(child(ci, 'Decode'))}"
            for ci in children(code_list, "CodeListItem")
        )
    elif ftype == "calc":
        choices = a.get("Calculation", "")
    elif ftype == "slider":
        choices = a.get("SliderLabels", "")
    elif ftype == "text":
        choices = a.get("OntologySearch", "")
    vmin = vmax = ""
    for rc in children(item, "RangeCheck"):
        cv = child(rc, "CheckValue")
        value = (cv.text or "").strip() if cv is not None else ""
        comparator = attrs(rc).get("Comparator", "")
        if comparator in {"GE", "GT"}:
            vmin = value
        elif comparator in {"LE", "LT"}:
            vmax = value
    required = a.get("RequiredField", "").lower() == "y" or ref.get("Mandatory", "").lower() == "yes"
    return {
        "field_name": variable, "form_name": form, "section_header": a.get("SectionHeader", ""),
        "field_type": ftype, "field_label": translated(child(item, "Question")),
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
    for event, el in iterparse(path, ("start", "end"), encoding):
        if event == "start" and local_name(el.tag) == "ClinicalData":
            return None
        if event == "end" and local_name(el.tag) == "Study":
            return el
    return None


def read_odm_project(path: str | Path, encoding: str | None = None) -> Project:
    """The project (dictionary, events/arms, repeating setup, missing-data codes) an ODM export holds."""
    path = Path(path)
    check_file(path)
    meta = read_metadata(_read_study(path, encoding), path)
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
            f = row_to_field(row, str(path), 0, warnings)
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
        check_anchor(project)
    return project
