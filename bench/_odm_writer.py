"""A REDCap CSV export rewritten as the CDISC ODM XML REDCap writes for the same project.

For the ingest benchmark: the same records as the CSV, in a whole-project ODM (metadata and
data) as REDCap's "CDISC ODM (XML) — project metadata and data" export lays them out — one
``SubjectData`` per record, a ``StudyEventData`` per event, a ``FormData`` per form (with its
``FormRepeatKey``), an ``ItemGroupData`` per item group (a form's items up to the next section
header, ``<form>_complete`` a group of its own, each named after its first item), the records
indented with tabs, datetimes written with ``T`` (as in tests/data/redcap/REDCapR/russian/project.xml).
"""

from __future__ import annotations

import csv
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from registry.redcap.columns import form_columns
from registry.redcap.dictionary import checkbox_column
from registry.redcap.project import Project

ODM_TYPES = {"dropdown": "select", "notes": "textarea"}
CHOICE_TYPES = {"radio", "dropdown", "yesno", "truefalse"}


def write_odm(project: Project, export: Path, out: Path) -> Path:
    """Write ``export`` (a CSV export of ``project``) to ``out`` as a whole-project ODM file."""
    with out.open("w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8" ?>\n<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" '
                 'xmlns:redcap="https://projectredcap.org" ODMVersion="1.3.1" FileType="Snapshot" '
                 'SourceSystem="REDCap">\n<Study OID="Project.Bench">\n')
        _write_metadata(fh, project)
        fh.write("</Study>\n<ClinicalData StudyOID=\"Project.Bench\" MetaDataVersionOID=\"Metadata.Bench_1\">\n")
        _write_records(fh, project, export)
        fh.write("</ClinicalData>\n</ODM>\n")
    return out


def _a(**attrs) -> str:
    return "".join(f" {k.replace('__', ':')}={quoteattr(str(v))}" for k, v in attrs.items())


def _write_metadata(fh, project: Project) -> None:
    dic = project.dictionary
    fh.write(f"<GlobalVariables><StudyName>{escape(project.name)}</StudyName>\n"
             "<redcap:RepeatingInstrumentsAndEvents><redcap:RepeatingInstruments>\n")
    for event, form in sorted(project.repeating or [], key=str):
        if form:
            where = _a(redcap__UniqueEventName=event, redcap__RepeatInstrument=form)
            fh.write(f"<redcap:RepeatingInstrument{where}/>\n")
    fh.write("</redcap:RepeatingInstruments></redcap:RepeatingInstrumentsAndEvents></GlobalVariables>\n")
    fh.write(f'<MetaDataVersion OID="Metadata.Bench_1" Name="Bench"{_a(redcap__RecordIdField=dic.record_id_field)}>\n')
    fh.write("<Protocol>\n")
    for i, e in enumerate(project.events or [], 1):
        fh.write(f'<StudyEventRef StudyEventOID="Event.{e.unique_name}" OrderNumber="{i}" Mandatory="No"/>\n')
    fh.write("</Protocol>\n")
    for e in project.events or []:
        fh.write(f'<StudyEventDef OID="Event.{e.unique_name}"{_a(Name=e.label)} Type="Common" Repeating="No"'
                 f'{_a(redcap__UniqueEventName=e.unique_name, redcap__ArmNum=e.arm)}>\n')
        for _arm, event, form in project.mapping or []:
            if event == e.unique_name:
                fh.write(f'<FormRef FormOID="Form.{form}" Mandatory="No"{_a(redcap__FormName=form)}/>\n')
        fh.write("</StudyEventDef>\n")
    for form in dic.forms:
        fh.write(f'<FormDef OID="Form.{form}"{_a(Name=project.instrument_labels.get(form, form))} Repeating="No"'
                 f'{_a(redcap__FormName=form)}>\n')
        for group, _items in _form_groups(project, form):
            fh.write(f'<ItemGroupRef ItemGroupOID="{group}" Mandatory="No"/>\n')
        fh.write("</FormDef>\n")
    code_lists = []
    for form in dic.forms:
        for group, items in _form_groups(project, form):
            fh.write(f'<ItemGroupDef OID="{group}"{_a(Name=form)} Repeating="No">\n')
            for oid in items:
                fh.write(f'<ItemRef ItemOID="{oid}" Mandatory="No"/>\n')
            fh.write("</ItemGroupDef>\n")
    for form in dic.forms:
        for oid in _form_items(project, form):
            col = next((c for c in form_columns(dic, form) if c.name == oid), None)
            f = dic.by_name.get(oid) or (col.field if col else None)
            if f is None or oid == f"{form}_complete":
                fh.write(f'<ItemDef OID="{oid}" Name="{oid}" DataType="text"{_a(redcap__Variable=oid)}'
                         ' redcap:FieldType="select"><Question><TranslatedText>Complete?</TranslatedText>'
                         "</Question></ItemDef>\n")
                continue
            attrs = {"redcap__Variable": f.name, "redcap__FieldType": ODM_TYPES.get(f.field_type, f.field_type)}
            if f.identifier:
                attrs["redcap__Identifier"] = "y"
            if f.validation:
                attrs["redcap__TextValidationType"] = f.validation
            if f.field_type == "calc":
                attrs["redcap__Calculation"] = f.choices_text
            fh.write(f'<ItemDef OID="{oid}" Name="{oid}" DataType="text"{_a(**attrs)}>'
                     f"<Question><TranslatedText>{escape(f.label)}</TranslatedText></Question>")
            if f.field_type == "checkbox" or f.field_type in CHOICE_TYPES:
                fh.write(f'<CodeListRef CodeListOID="{oid}.choices"/>')
                code_lists.append((oid, f))
            fh.write("</ItemDef>\n")
    for oid, f in code_lists:
        if f.field_type == "checkbox":
            fh.write(f'<CodeList OID="{oid}.choices" Name="{oid}" DataType="boolean"'
                     f'{_a(redcap__Variable=f.name, redcap__CheckboxChoices=f.choices_text)}>'
                     '<CodeListItem CodedValue="1"><Decode><TranslatedText>Checked</TranslatedText></Decode>'
                     '</CodeListItem></CodeList>\n')
            continue
        fh.write(f'<CodeList OID="{oid}.choices" Name="{oid}" DataType="text"{_a(redcap__Variable=f.name)}>')
        for c in f.choices:
            fh.write(f"<CodeListItem{_a(CodedValue=c.code)}><Decode><TranslatedText>{escape(c.label)}"
                     "</TranslatedText></Decode></CodeListItem>")
        fh.write("</CodeList>\n")
    fh.write("</MetaDataVersion>\n")


def _form_items(project: Project, form: str) -> list[str]:
    """The item OIDs of a form in export order (the record ID on the first form)."""
    dic = project.dictionary
    items = [dic.record_id_field] if form == dic.forms[0] else []
    for f in dic.form_fields(form):
        if f.field_type == "checkbox":
            items += [checkbox_column(f.name, c.code) for c in f.choices]
        else:
            items.append(f.name)
    return [*items, f"{form}_complete"]


def _form_groups(project: Project, form: str) -> list[tuple[str, list[str]]]:
    """The item groups of a form as REDCap makes them: a new group at each section header and for
    ``<form>_complete``; each group's OID is ``<form>.<its first item's field>``."""
    dic = project.dictionary
    heads = {checkbox_column(f.name, f.choices[0].code) if f.field_type == "checkbox" and f.choices else f.name
             for f in dic.form_fields(form) if f.section_header}
    groups: list[tuple[str, list[str]]] = []
    for oid in _form_items(project, form):
        if not groups or oid in heads or oid == f"{form}_complete":
            groups.append((f"{form}.{oid.split('___')[0]}", []))
        groups[-1][1].append(oid)
    return groups


def _write_records(fh, project: Project, export: Path) -> None:
    dic = project.dictionary
    forms = {form: _form_groups(project, form) for form in dic.forms}
    datetimes = {f.name for f in dic.fields if f.validation.startswith("datetime")}
    with export.open(newline="", encoding="utf-8") as src:
        reader = csv.reader(src)
        header = next(reader)
        at = {c: i for i, c in enumerate(header)}
        rid = at[dic.record_id_field]
        record = event = None
        for row in reader:
            if row[rid] != record:
                if event is not None:
                    fh.write("\t\t</StudyEventData>\n")
                if record is not None:
                    fh.write("\t</SubjectData>\n")
                record, event = row[rid], None
                dag = row[at["redcap_data_access_group"]] if "redcap_data_access_group" in at else ""
                fh.write(f"\t<SubjectData{_a(SubjectKey=record, redcap__RecordIdField=dic.record_id_field)}"
                         f"{_a(redcap__DataAccessGroup=dag) if dag else ''}>\n")
            row_event = row[at["redcap_event_name"]] if "redcap_event_name" in at else "event_1_arm_1"
            if row_event != event:
                if event is not None:
                    fh.write("\t\t</StudyEventData>\n")
                event = row_event
                fh.write(f'\t\t<StudyEventData StudyEventOID="Event.{event}" StudyEventRepeatKey="1"'
                         f'{_a(redcap__UniqueEventName=event)}>\n')
            instrument = row[at["redcap_repeat_instrument"]] if "redcap_repeat_instrument" in at else ""
            instance = row[at["redcap_repeat_instance"]] if "redcap_repeat_instance" in at else ""
            for form, groups in forms.items():
                if instrument and form != instrument:
                    continue
                cells = [[(oid, row[at[oid]]) for oid in items if oid in at and row[at[oid]] != ""]
                         for _group, items in groups]
                filled = [oid for group in cells for oid, _ in group]
                if not filled or (not instrument and all(oid == dic.record_id_field for oid in filled)):
                    continue
                fh.write(f'\t\t\t<FormData FormOID="Form.{form}" FormRepeatKey="{instance or 1}">\n')
                for (group, _items), group_cells in zip(groups, cells, strict=True):
                    if not group_cells:
                        continue
                    fh.write(f'\t\t\t\t<ItemGroupData ItemGroupOID="{group}" ItemGroupRepeatKey="1">\n')
                    for oid, value in group_cells:
                        if oid in datetimes:
                            value = value.replace(" ", "T", 1)
                        fh.write(f'\t\t\t\t\t<ItemData ItemOID="{oid}" Value={quoteattr(value)}/>\n')
                    fh.write("\t\t\t\t</ItemGroupData>\n")
                fh.write("\t\t\t</FormData>\n")
        if event is not None:
            fh.write("\t\t</StudyEventData>\n")
        if record is not None:
            fh.write("\t</SubjectData>\n")
