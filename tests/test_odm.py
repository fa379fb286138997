"""A whole-project CDISC ODM XML export ingests on its own: project and records from one file."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest
from conftest import REDCAP, refuse

from registry import store
from registry.errors import RegistryError
from registry.redcap.dictionary import API_COLUMNS
from registry.redcap.odm import read_odm_project

RUSSIAN = REDCAP / "REDCapR" / "russian" / "project.xml"

# A small longitudinal project written the way REDCap writes ODM: 2 events (the second one
# repeats), a repeating instrument on the first, a checkbox with a negative code, a datetime
# written with 'T', a multi-line notes value, a DAG, an identifier and missing-data codes.
MINI = """\ufeff<?xml version="1.0" encoding="UTF-8" ?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:redcap="https://projectredcap.org" ODMVersion="1.3.1"
     FileType="Snapshot" SourceSystem="REDCap" SourceSystemVersion="15.7.6">
<Study OID="Project.MiniLongitudinal">
<GlobalVariables>
  <StudyName>Mini longitudinal</StudyName>
  <redcap:MissingDataCodes>UNK, Unknown
NASK, Not asked</redcap:MissingDataCodes>
  <redcap:RepeatingInstrumentsAndEvents>
    <redcap:RepeatingInstruments>
      <redcap:RepeatingInstrument redcap:UniqueEventName="baseline_arm_1" redcap:RepeatInstrument="vitals"
          redcap:CustomLabel=""/>
    </redcap:RepeatingInstruments>
    <redcap:RepeatingEvent redcap:UniqueEventName="followup_arm_1"/>
  </redcap:RepeatingInstrumentsAndEvents>
</GlobalVariables>
<MetaDataVersion OID="Metadata.MiniLongitudinal_1" Name="Mini longitudinal" redcap:RecordIdField="study_id">
  <Protocol>
    <StudyEventRef StudyEventOID="Event.baseline_arm_1" OrderNumber="1" Mandatory="No"/>
    <StudyEventRef StudyEventOID="Event.followup_arm_1" OrderNumber="2" Mandatory="No"/>
  </Protocol>
  <StudyEventDef OID="Event.baseline_arm_1" Name="Baseline" Type="Common" Repeating="No" redcap:EventName="Baseline"
      redcap:CustomEventLabel="" redcap:UniqueEventName="baseline_arm_1" redcap:ArmNum="1" redcap:ArmName="Arm 1"
      redcap:DayOffset="0" redcap:OffsetMin="0" redcap:OffsetMax="0">
    <FormRef FormOID="Form.demographics" OrderNumber="1" Mandatory="No" redcap:FormName="demographics"/>
    <FormRef FormOID="Form.vitals" OrderNumber="2" Mandatory="No" redcap:FormName="vitals"/>
  </StudyEventDef>
  <StudyEventDef OID="Event.followup_arm_1" Name="Follow-up" Type="Common" Repeating="Yes"
      redcap:EventName="Follow-up"
      redcap:CustomEventLabel="" redcap:UniqueEventName="followup_arm_1" redcap:ArmNum="1" redcap:ArmName="Arm 1"
      redcap:DayOffset="30" redcap:OffsetMin="2" redcap:OffsetMax="5">
    <FormRef FormOID="Form.visit" OrderNumber="1" Mandatory="No" redcap:FormName="visit"/>
  </StudyEventDef>
  <FormDef OID="Form.demographics" Name="Demographics" Repeating="No" redcap:FormName="demographics">
    <ItemGroupRef ItemGroupOID="demographics.study_id" Mandatory="No"/>
    <ItemGroupRef ItemGroupOID="demographics.demographics_complete" Mandatory="No"/>
  </FormDef>
  <FormDef OID="Form.vitals" Name="Vitals" Repeating="No" redcap:FormName="vitals">
    <ItemGroupRef ItemGroupOID="vitals.vit_date" Mandatory="No"/>
    <ItemGroupRef ItemGroupOID="vitals.vitals_complete" Mandatory="No"/>
  </FormDef>
  <FormDef OID="Form.visit" Name="Visit" Repeating="No" redcap:FormName="visit">
    <ItemGroupRef ItemGroupOID="visit.visit_when" Mandatory="No"/>
    <ItemGroupRef ItemGroupOID="visit.visit_complete" Mandatory="No"/>
  </FormDef>
  <ItemGroupDef OID="demographics.study_id" Name="Demographics" Repeating="No">
    <ItemRef ItemOID="study_id" Mandatory="No" redcap:Variable="study_id"/>
    <ItemRef ItemOID="dob" Mandatory="No" redcap:Variable="dob"/>
    <ItemRef ItemOID="race___1" Mandatory="No" redcap:Variable="race"/>
    <ItemRef ItemOID="race___2" Mandatory="No" redcap:Variable="race"/>
    <ItemRef ItemOID="race____99" Mandatory="No" redcap:Variable="race"/>
    <ItemRef ItemOID="comments" Mandatory="No" redcap:Variable="comments"/>
  </ItemGroupDef>
  <ItemGroupDef OID="demographics.demographics_complete" Name="Form Status" Repeating="No">
    <ItemRef ItemOID="demographics_complete" Mandatory="No" redcap:Variable="demographics_complete"/>
  </ItemGroupDef>
  <ItemGroupDef OID="vitals.vit_date" Name="Vitals" Repeating="No">
    <ItemRef ItemOID="vit_date" Mandatory="No" redcap:Variable="vit_date"/>
    <ItemRef ItemOID="weight" Mandatory="No" redcap:Variable="weight"/>
  </ItemGroupDef>
  <ItemGroupDef OID="vitals.vitals_complete" Name="Form Status" Repeating="No">
    <ItemRef ItemOID="vitals_complete" Mandatory="No" redcap:Variable="vitals_complete"/>
  </ItemGroupDef>
  <ItemGroupDef OID="visit.visit_when" Name="Visit" Repeating="No">
    <ItemRef ItemOID="visit_when" Mandatory="No" redcap:Variable="visit_when"/>
    <ItemRef ItemOID="visit_status" Mandatory="Yes" redcap:Variable="visit_status"/>
  </ItemGroupDef>
  <ItemGroupDef OID="visit.visit_complete" Name="Form Status" Repeating="No">
    <ItemRef ItemOID="visit_complete" Mandatory="No" redcap:Variable="visit_complete"/>
  </ItemGroupDef>
  <ItemDef OID="study_id" Name="study_id" DataType="text" Length="999" redcap:Variable="study_id"
      redcap:FieldType="text">
    <Question><TranslatedText>Study ID</TranslatedText></Question>
  </ItemDef>
  <ItemDef OID="dob" Name="dob" DataType="date" Length="999" redcap:Variable="dob" redcap:FieldType="text"
      redcap:TextValidationType="date_ymd" redcap:Identifier="y">
    <Question><TranslatedText>Date of birth</TranslatedText></Question>
  </ItemDef>
  <ItemDef OID="race___1" Name="race___1" DataType="boolean" Length="1" redcap:Variable="race"
      redcap:FieldType="checkbox">
    <Question><TranslatedText>Race</TranslatedText></Question>
    <CodeListRef CodeListOID="race___1.choices"/>
  </ItemDef>
  <ItemDef OID="race___2" Name="race___2" DataType="boolean" Length="1" redcap:Variable="race"
      redcap:FieldType="checkbox">
    <Question><TranslatedText>Race</TranslatedText></Question>
    <CodeListRef CodeListOID="race___2.choices"/>
  </ItemDef>
  <ItemDef OID="race____99" Name="race____99" DataType="boolean" Length="1" redcap:Variable="race"
      redcap:FieldType="checkbox">
    <Question><TranslatedText>Race</TranslatedText></Question>
    <CodeListRef CodeListOID="race____99.choices"/>
  </ItemDef>
  <ItemDef OID="comments" Name="comments" DataType="text" Length="999" redcap:Variable="comments"
      redcap:FieldType="textarea"
      redcap:FieldAnnotation="@HIDDEN-SURVEY">
    <Question><TranslatedText>Comments</TranslatedText></Question>
  </ItemDef>
  <ItemDef OID="demographics_complete" Name="demographics_complete" DataType="text" Length="1"
      redcap:Variable="demographics_complete" redcap:FieldType="select" redcap:SectionHeader="Form Status">
    <Question><TranslatedText>Complete?</TranslatedText></Question>
    <CodeListRef CodeListOID="demographics_complete.choices"/>
  </ItemDef>
  <ItemDef OID="vit_date" Name="vit_date" DataType="date" Length="999" redcap:Variable="vit_date"
      redcap:FieldType="text"
      redcap:TextValidationType="date_ymd">
    <Question><TranslatedText>Date</TranslatedText></Question>
  </ItemDef>
  <ItemDef OID="weight" Name="weight" DataType="float" Length="999" SignificantDigits="1" redcap:Variable="weight"
      redcap:FieldType="text" redcap:TextValidationType="float" redcap:FieldNote="kg">
    <Question><TranslatedText>Weight</TranslatedText></Question>
    <RangeCheck Comparator="GE" SoftHard="Soft"><CheckValue>20</CheckValue></RangeCheck>
    <RangeCheck Comparator="LE" SoftHard="Soft"><CheckValue>300</CheckValue></RangeCheck>
  </ItemDef>
  <ItemDef OID="vitals_complete" Name="vitals_complete" DataType="text" Length="1" redcap:Variable="vitals_complete"
      redcap:FieldType="select" redcap:SectionHeader="Form Status">
    <Question><TranslatedText>Complete?</TranslatedText></Question>
    <CodeListRef CodeListOID="vitals_complete.choices"/>
  </ItemDef>
  <ItemDef OID="visit_when" Name="visit_when" DataType="datetime" Length="999" redcap:Variable="visit_when"
      redcap:FieldType="text" redcap:TextValidationType="datetime_ymd">
    <Question><TranslatedText>When</TranslatedText></Question>
  </ItemDef>
  <ItemDef OID="visit_status" Name="visit_status" DataType="text" Length="1" redcap:Variable="visit_status"
      redcap:FieldType="select" redcap:RequiredField="y" redcap:BranchingLogic="[visit_when] &lt;&gt; ''">
    <Question><TranslatedText>Status</TranslatedText><redcap:FormattedTranslatedText>&lt;b&gt;Status&lt;/b&gt;</redcap:FormattedTranslatedText></Question>
    <CodeListRef CodeListOID="visit_status.choices"/>
  </ItemDef>
  <ItemDef OID="visit_complete" Name="visit_complete" DataType="text" Length="1" redcap:Variable="visit_complete"
      redcap:FieldType="select" redcap:SectionHeader="Form Status">
    <Question><TranslatedText>Complete?</TranslatedText></Question>
    <CodeListRef CodeListOID="visit_complete.choices"/>
  </ItemDef>
  <CodeList OID="race___1.choices" Name="race___1" DataType="boolean" redcap:Variable="race"
      redcap:CheckboxChoices="1, White|2, Black|-99, Not said">
    <CodeListItem CodedValue="1"><Decode><TranslatedText>Checked</TranslatedText></Decode></CodeListItem>
    <CodeListItem CodedValue="0"><Decode><TranslatedText>Unchecked</TranslatedText></Decode></CodeListItem>
  </CodeList>
  <CodeList OID="race___2.choices" Name="race___2" DataType="boolean" redcap:Variable="race"
      redcap:CheckboxChoices="1, White|2, Black|-99, Not said">
    <CodeListItem CodedValue="1"><Decode><TranslatedText>Checked</TranslatedText></Decode></CodeListItem>
    <CodeListItem CodedValue="0"><Decode><TranslatedText>Unchecked</TranslatedText></Decode></CodeListItem>
  </CodeList>
  <CodeList OID="race____99.choices" Name="race____99" DataType="boolean" redcap:Variable="race"
      redcap:CheckboxChoices="1, White|2, Black|-99, Not said">
    <CodeListItem CodedValue="1"><Decode><TranslatedText>Checked</TranslatedText></Decode></CodeListItem>
    <CodeListItem CodedValue="0"><Decode><TranslatedText>Unchecked</TranslatedText></Decode></CodeListItem>
  </CodeList>
  <CodeList OID="visit_status.choices" Name="visit_status" DataType="text" redcap:Variable="visit_status">
    <CodeListItem CodedValue="1"><Decode><TranslatedText>Done</TranslatedText></Decode></CodeListItem>
    <CodeListItem
        CodedValue="2"><Decode><TranslatedText>Missed, rescheduled</TranslatedText></Decode></CodeListItem>
  </CodeList>
  <CodeList OID="demographics_complete.choices" Name="demographics_complete" DataType="text"
      redcap:Variable="demographics_complete">
    <CodeListItem CodedValue="0"><Decode><TranslatedText>Incomplete</TranslatedText></Decode></CodeListItem>
    <CodeListItem CodedValue="1"><Decode><TranslatedText>Unverified</TranslatedText></Decode></CodeListItem>
    <CodeListItem CodedValue="2"><Decode><TranslatedText>Complete</TranslatedText></Decode></CodeListItem>
  </CodeList>
</MetaDataVersion>
</Study>
<ClinicalData StudyOID="Project.MiniLongitudinal" MetaDataVersionOID="Metadata.MiniLongitudinal_1">
  <SubjectData SubjectKey="101" redcap:RecordIdField="study_id" redcap:DataAccessGroup="site_a">
    <StudyEventData StudyEventOID="Event.baseline_arm_1" StudyEventRepeatKey="1"
        redcap:UniqueEventName="baseline_arm_1">
      <FormData FormOID="Form.demographics" FormRepeatKey="1">
        <ItemGroupData ItemGroupOID="demographics.study_id" ItemGroupRepeatKey="1">
          <ItemData ItemOID="study_id" Value="101"/>
          <ItemData ItemOID="dob" Value="1970-05-06"/>
          <ItemData ItemOID="race___1" Value="1"/>
          <ItemData ItemOID="race___2" Value="0"/>
          <ItemData ItemOID="race____99" Value="0"/>
          <ItemData ItemOID="comments" Value="first line
second line"/>
        </ItemGroupData>
        <ItemGroupData ItemGroupOID="demographics.demographics_complete" ItemGroupRepeatKey="1">
          <ItemData ItemOID="demographics_complete" Value="2"/>
        </ItemGroupData>
      </FormData>
      <FormData FormOID="Form.vitals" FormRepeatKey="1">
        <ItemGroupData ItemGroupOID="vitals.vit_date" ItemGroupRepeatKey="1">
          <ItemData ItemOID="vit_date" Value="2024-01-02"/>
          <ItemData ItemOID="weight" Value="70.5"/>
        </ItemGroupData>
        <ItemGroupData ItemGroupOID="vitals.vitals_complete" ItemGroupRepeatKey="1">
          <ItemData ItemOID="vitals_complete" Value="2"/>
        </ItemGroupData>
      </FormData>
      <FormData FormOID="Form.vitals" FormRepeatKey="2">
        <ItemGroupData ItemGroupOID="vitals.vit_date" ItemGroupRepeatKey="1">
          <ItemData ItemOID="vit_date" Value="2024-01-09"/>
          <ItemData ItemOID="weight" Value="UNK"/>
        </ItemGroupData>
        <ItemGroupData ItemGroupOID="vitals.vitals_complete" ItemGroupRepeatKey="1">
          <ItemData ItemOID="vitals_complete" Value="1"/>
        </ItemGroupData>
      </FormData>
    </StudyEventData>
    <StudyEventData StudyEventOID="Event.followup_arm_1" StudyEventRepeatKey="1"
        redcap:UniqueEventName="followup_arm_1">
      <FormData FormOID="Form.visit" FormRepeatKey="1">
        <ItemGroupData ItemGroupOID="visit.visit_when" ItemGroupRepeatKey="1">
          <ItemData ItemOID="visit_when" Value="2024-02-01T10:30"/>
          <ItemData ItemOID="visit_status" Value="1"/>
        </ItemGroupData>
      </FormData>
    </StudyEventData>
    <StudyEventData StudyEventOID="Event.followup_arm_1" StudyEventRepeatKey="2"
        redcap:UniqueEventName="followup_arm_1">
      <FormData FormOID="Form.visit" FormRepeatKey="1">
        <ItemGroupData ItemGroupOID="visit.visit_when" ItemGroupRepeatKey="1">
          <ItemData ItemOID="visit_when" Value="2024-03-04T09:05"/>
          <ItemData ItemOID="visit_status" Value="2"/>
        </ItemGroupData>
        <ItemGroupData ItemGroupOID="visit.visit_complete" ItemGroupRepeatKey="1">
          <ItemData ItemOID="visit_complete" Value="2"/>
        </ItemGroupData>
      </FormData>
    </StudyEventData>
  </SubjectData>
  <SubjectData SubjectKey="102" redcap:RecordIdField="study_id">
    <StudyEventData StudyEventOID="Event.baseline_arm_1" StudyEventRepeatKey="1"
        redcap:UniqueEventName="baseline_arm_1">
      <FormData FormOID="Form.demographics" FormRepeatKey="1">
        <ItemGroupData ItemGroupOID="demographics.study_id" ItemGroupRepeatKey="1">
          <ItemData ItemOID="study_id" Value="102"/>
          <ItemData ItemOID="race___1" Value="0"/>
          <ItemData ItemOID="race___2" Value="0"/>
          <ItemData ItemOID="race____99" Value="1"/>
        </ItemGroupData>
      </FormData>
      <FormData FormOID="Form.vitals" FormRepeatKey="1">
        <ItemGroupData ItemGroupOID="vitals.vit_date" ItemGroupRepeatKey="1">
          <ItemData ItemOID="weight" Value="64"/>
        </ItemGroupData>
      </FormData>
    </StudyEventData>
  </SubjectData>
</ClinicalData>
</ODM>
"""


def write(tmp_path: Path, text: str | bytes, name: str = "project.xml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def write_dictionary(path: Path, rows: list[dict[str, str]]) -> Path:
    """A data dictionary CSV (API column names) of ``rows``."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=API_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def ingest(cli, db, export, *args):
    result = cli("ingest", export, "--db", db, *args)
    assert result.exit_code == 0, result.stderr
    return result


def query(db: Path, sql: str):
    con = store.connect(db, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()




# --- the REDCapR 'russian' project (REDCap 14.7.3, BOM, Cyrillic) -------------------------------

def test_the_test_copy_of_the_russian_project_is_byte_for_byte_the_shared_one():
    data = RUSSIAN.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf<?xml")
    assert len(data) == 716774


def test_every_record_of_the_russian_odm_is_in_the_registry_without_a_dictionary(cli, db):
    subjects = re.findall(r'<SubjectData SubjectKey="([^"]+)"', RUSSIAN.read_text(encoding="utf-8-sig"))
    assert subjects == ["AAAA", "BBBB", "CCCC"]
    ingest(cli, db, RUSSIAN)
    status = cli.json("status", "--db", db, "--json")
    assert status["records"] == len(subjects) == 3
    assert status["rows"] == 3  # classic project, no repeats: one row per record, as in a CSV export
    assert status["export_format"] == "raw"
    assert status["instruments"]["screening"] == 3
    assert sorted(r[0] for r in query(db, "select record_id from _records")) == subjects


def test_cyrillic_values_of_the_russian_odm_are_stored_intact(cli, db):
    ingest(cli, db, RUSSIAN)
    rows = dict(query(db, "select record_id, recruitment_other from screening"))
    assert rows == {"AAAA": "от сотрудницы", "BBBB": "мама и сестра", "CCCC": "подруга по общежитию"}
    typed = query(db, "select age, date_interview::varchar, screening_complete from screening order by record_id")
    assert typed == [(33.0, "2015-03-17", 2), (18.0, "2015-03-17", 2), (22.0, "2015-03-17", 2)]
    assert query(db, "select count(*) from _cast_failures") == [(0,)]


def test_the_dictionary_read_from_the_russian_odm_has_redcap_names_and_types():
    project = read_odm_project(RUSSIAN)
    dic = project.dictionary
    # 401 ItemDefs: 14 form-status items are not fields, 57 checkbox items are 13 checkbox fields.
    assert len(dic.fields) == 401 - 14 - 57 + 13 == 343
    assert Counter(f.field_type for f in dic.fields) == {
        "radio": 185, "text": 82, "notes": 42, "dropdown": 21, "checkbox": 13,
    }
    assert dic.record_id_field == "record_id"
    assert [f.name for f in dic.fields[:6]] == [
        "record_id", "date_interview", "interviewer", "recruitment_through", "recruitment_other", "age",
    ]
    assert len(dic.forms) == 14 and dic.forms[0] == "screening" and dic.forms[-1] == "tests_results"
    assert not [f.name for f in dic.fields if f.name.endswith("_complete") or "___" in f.name]
    assert dic.by_name["test_reason_1"].field_type == "dropdown"  # 'select' inside ODM
    assert dic.by_name["refuse_other"].field_type == "notes"  # 'textarea' inside ODM
    age = dic.by_name["age"]
    assert (age.validation, age.vmin, age.vmax) == ("number", "18", "44")  # 'float' and its RangeChecks
    assert dic.by_name["date_interview"].validation == "date_mdy"
    assert dic.by_name["interviewer"].note == "инициалы на английском"
    assert dic.by_name["refuse"].branching_logic == "[consent] = '0'"
    assert dic.by_name["recruitment_through"].label.startswith("Откуда участница узнала о проекте")
    assert [(c.code, c.label) for c in dic.by_name["pregnant_now"].choices] == [
        ("1", "Беременна / Pregnant"), ("0", "Не беременна / Not pregnant"),
    ]
    assert project.events is None and project.repeating == set()
    assert project.missing_codes == ()  # <redcap:MissingDataCodes></redcap:MissingDataCodes>
    assert project.name == "REDCapR: russian"
    assert project.instrument_labels["screening"] == "SCREENING"


def test_checkbox_fields_of_the_russian_odm_are_rebuilt_with_their_choices():
    dic = read_odm_project(RUSSIAN).dictionary
    boxes = [f for f in dic.fields if f.field_type == "checkbox"]
    assert len(boxes) == 13
    share = dic.by_name["shareresult_q14"]
    assert [c.code for c in share.choices] == ["1", "2", "3", "4", "5", "6", "7", "8", "999"]
    assert share.choices[0].label == "Матери / Mother"
    assert share.choices[-1].label == "Н/О / N/A"
    assert share.form == "survey_114_questions_about_counselling_and_testing"
    names = [f.name for f in dic.fields]  # one field, where its first choice item stands
    assert names[names.index("impressiontest_q12"):][:3] == ["impressiontest_q12", "shareresult_q14", "other_q14"]
    downers = dic.by_name["downers_q45_1"]
    assert downers.matrix_group == "drug_use"
    assert downers.choices[-1].label == "ОТК/НЗ / Refuse/ Don't know"


def test_the_flat_rows_of_the_russian_odm_have_the_columns_of_a_csv_export_in_order(tmp_path):
    import duckdb

    from registry.redcap.columns import form_columns
    from registry.redcap.export import read_export

    project = read_odm_project(RUSSIAN)
    con = duckdb.connect()
    info = read_export(con, RUSSIAN, project)
    dic = project.dictionary
    expected = ["record_id"] + [c.name for form in dic.forms for c in form_columns(dic, form)]
    assert info.columns == expected
    added = ["redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]  # blank key columns
    assert [r[0] for r in con.execute("describe raw").fetchall()] == [*expected, "__row", *added]
    assert "shareresult_q14___999" in info.columns
    assert con.execute("select record_id, shareresult_q14___1, refuse from raw order by __row").fetchall() == [
        ("AAAA", "0", None), ("BBBB", "0", None), ("CCCC", "0", None),
    ]


def test_reingesting_the_same_odm_changes_nothing(cli, db):
    ingest(cli, db, RUSSIAN)
    again = ingest(cli, db, RUSSIAN)
    assert "nothing changed" in again.stdout
    assert len(cli.json("history", "--db", db, "--json")) == 1
    assert read_odm_project(RUSSIAN).dictionary.sha256 == read_odm_project(RUSSIAN).dictionary.sha256


# --- a small longitudinal project written here ----------------------------------------------------

def test_a_longitudinal_odm_loads_the_rows_and_instances_a_csv_export_has(cli, db, tmp_path):
    ingest(cli, db, write(tmp_path, MINI))
    status = cli.json("status", "--db", db, "--json")
    # 101: demographics, vitals #1, vitals #2, follow-up #1, follow-up #2; 102: demographics, vitals #1
    assert (status["records"], status["rows"]) == (2, 7)
    assert status["instruments"] == {"demographics": 2, "vitals": 3, "visit": 2}
    assert status["dropped_identifiers"] == ["dob"]
    vitals = query(db, "select record_id, redcap_event_name, redcap_repeat_instance, vit_date::varchar, weight, "
                       "vitals_complete from vitals order by all")
    assert vitals == [
        ("101", "baseline_arm_1", 1, "2024-01-02", 70.5, 2),
        ("101", "baseline_arm_1", 2, "2024-01-09", None, 1),
        ("102", "baseline_arm_1", 1, None, 64.0, None),
    ]
    assert query(db, "select record_id, redcap_repeat_instance, field, code from _missing_values") == [
        ("101", 2, "weight", "UNK"),
    ]
    visits = query(db, "select record_id, redcap_event_name, redcap_repeat_instance, visit_when::varchar, "
                       "visit_status from visit order by all")
    assert visits == [
        ("101", "followup_arm_1", 1, "2024-02-01 10:30:00", 1),
        ("101", "followup_arm_1", 2, "2024-03-04 09:05:00", 2),
    ]
    demo = query(db, 'select record_id, redcap_repeat_instance, race___1, race___2, "race____99", comments '
                     "from demographics order by all")
    assert demo == [
        ("101", None, True, False, False, "first line\nsecond line"), ("102", None, False, False, True, None),
    ]
    assert query(db, "select distinct record_id, redcap_data_access_group from vitals order by 1") == [
        ("101", "site_a"), ("102", None),
    ]


def test_the_project_of_a_longitudinal_odm_has_its_events_repeats_and_missing_codes(cli, db, tmp_path):
    project = read_odm_project(write(tmp_path, MINI))
    assert [(e.unique_name, e.label, e.arm, e.day_offset) for e in project.events] == [
        ("baseline_arm_1", "Baseline", 1, 0.0), ("followup_arm_1", "Follow-up", 1, 30.0),
    ]
    assert project.mapping == [(1, "baseline_arm_1", "demographics"), (1, "baseline_arm_1", "vitals"),
                               (1, "followup_arm_1", "visit")]
    assert project.repeating == {("baseline_arm_1", "vitals"), ("followup_arm_1", None)}
    assert project.missing_codes == ("UNK", "NASK")
    assert project.arms == {1: "Arm 1"}
    dic = project.dictionary
    assert [f.name for f in dic.fields] == ["study_id", "dob", "race", "comments", "vit_date", "weight",
                                           "visit_when", "visit_status"]
    race = dic.by_name["race"]
    assert [(c.code, c.label) for c in race.choices] == [("1", "White"), ("2", "Black"), ("-99", "Not said")]
    status = dic.by_name["visit_status"]
    assert (status.field_type, status.required, status.label) == ("dropdown", True, "<b>Status</b>")
    assert status.branching_logic == "[visit_when] <> ''"
    assert [c.label for c in status.choices] == ["Done", "Missed, rescheduled"]
    assert dic.by_name["dob"].identifier and dic.by_name["comments"].annotation == "@HIDDEN-SURVEY"
    assert dic.by_name["visit_when"].validation == "datetime_ymd"
    ingest(cli, db, tmp_path / "project.xml")
    assert query(db, "select unique_event_name, arm_num from _events order by 1") == [
        ("baseline_arm_1", 1), ("followup_arm_1", 1),
    ]
    assert query(db, "select event_name, form_name from _repeating order by 1") == [
        ("baseline_arm_1", "vitals"), ("followup_arm_1", None),
    ]


def test_a_dictionary_given_with_an_odm_wins_over_the_odm_metadata(cli, db, tmp_path):
    export = write(tmp_path, MINI)
    rows = read_odm_project(export).dictionary.to_rows()
    for r in rows:
        if r["field_name"] == "weight":
            r["field_label"] = "Body weight (given dictionary)"
    ingest(cli, db, export, "--dictionary", write_dictionary(tmp_path / "dictionary.csv", rows))
    assert query(db, "select field_label from _dictionary where field_name = 'weight'") == [
        ("Body weight (given dictionary)",),
    ]
    assert cli.json("status", "--db", db, "--json")["rows"] == 7


def test_a_repeat_the_odm_does_not_declare_is_refused(cli, db, tmp_path):
    undeclared = re.sub(r"<redcap:RepeatingInstrument .*?/>", "", MINI, flags=re.S)
    assert undeclared != MINI
    result = cli("ingest", write(tmp_path, undeclared), "--db", db)
    assert result.exit_code != 0
    assert "form 'vitals' has instance 2" in result.stderr and "fix:" in result.stderr


# --- malformed files ------------------------------------------------------------------------------

@pytest.fixture
def registry_with_the_russian_batch(cli, db):
    ingest(cli, db, RUSSIAN)
    return db




def test_a_truncated_odm_file_is_refused_with_where_it_ends(cli, registry_with_the_russian_batch, tmp_path):
    data = RUSSIAN.read_bytes()
    cut = data.index(b'<ItemData ItemOID="age" Value="18"/>')
    msg = refuse(cli, registry_with_the_russian_batch, write(tmp_path, data[:cut]),
                 expect="the ODM export is malformed: the XML ends early")
    assert re.search(r"project\.xml, line \d+, column \d+", msg)


def test_a_malformed_odm_data_section_is_refused_and_the_registry_is_unchanged(
        cli, registry_with_the_russian_batch, tmp_path):
    text = MINI.replace('<ItemData ItemOID="weight" Value="64"/>', '<ItemData ItemOID="weight" Value="64">')
    line = next(i for i, t in enumerate(text.lstrip("\ufeff").split("\n"), 1) if 'Value="64">' in t)
    msg = refuse(cli, registry_with_the_russian_batch, write(tmp_path, text),
                 expect="a closing tag does not match its opening tag")
    assert f"project.xml, line {line + 1}" in msg  # the </ItemGroupData> that closes early


def test_a_malformed_odm_metadata_section_is_refused_before_reading_records(
        cli, registry_with_the_russian_batch, tmp_path):
    text = MINI.replace("<StudyName>Mini longitudinal</StudyName>", "<StudyName>Mini & co</StudyName>")
    refuse(cli, registry_with_the_russian_batch, write(tmp_path, text), expect="the ODM export is malformed")


def test_an_xml_file_that_is_not_odm_is_refused(cli, registry_with_the_russian_batch, tmp_path):
    refuse(cli, registry_with_the_russian_batch, write(tmp_path, "<?xml version='1.0'?><records/>"),
           expect="not a CDISC ODM export")


def test_an_odm_without_metadata_is_refused_unless_a_dictionary_is_given(cli, registry_with_the_russian_batch,
                                                                          tmp_path):
    start, end = MINI.index("<Study "), MINI.index("</Study>") + len("</Study>")
    refuse(cli, registry_with_the_russian_batch, write(tmp_path, MINI[:start] + MINI[end:]),
           expect="holds no project metadata")


def test_read_odm_project_raises_a_registry_error_for_a_missing_file(tmp_path):
    with pytest.raises(RegistryError, match="no such file"):
        read_odm_project(tmp_path / "nope.xml")
