"""Reading REDCap data dictionaries: every real one, every quirk, and clear refusals."""

from __future__ import annotations

import pytest
from conftest import REDCAP, ROOT, SHARED, needs_shared

from registry.errors import DictionaryError
from registry.redcap.columns import checkbox_aliases, known_columns, missing_code_columns
from registry.redcap.dictionary import Choice, checkbox_column, parse_choices, parse_dictionary, read_dictionary

R = REDCAP / "REDCapR"


def test_choices_parse_with_any_spacing_and_commas_in_labels():
    assert parse_choices("1, Yes|0, No") == (Choice("1", "Yes"), Choice("0", "No"))
    assert parse_choices(" 1 ,Yes | 0,No ") == (Choice("1", "Yes"), Choice("0", "No"))
    assert parse_choices("3, Smith, John | a, A") == (Choice("3", "Smith, John"), Choice("a", "A"))
    assert parse_choices("-99, Unknown | 1.5, Half") == (Choice("-99", "Unknown"), Choice("1.5", "Half"))


def test_checkbox_columns_are_named_as_redcap_names_them():
    assert checkbox_column("race", "-99") == "race____99"
    assert checkbox_column("prereq_checkbox", "ABC") == "prereq_checkbox___abc"
    assert checkbox_column("x", "1.5") == "x___1_5"


def test_the_validation_types_dictionary_has_every_field_type():
    dic = read_dictionary(R / "validation-types-1/dictionary.csv")
    types = {f.field_type for f in dic.fields}
    assert types == {"text", "notes", "calc", "checkbox", "descriptive", "dropdown", "radio", "file", "slider",
                     "sql", "truefalse", "yesno"}
    validations = {f.validation for f in dic.fields if f.field_type == "text" and f.validation}
    assert {"date_dmy", "datetime_seconds_mdy", "number_2dp_comma_decimal", "time_mm_ss", "mrn_10d"} <= validations
    slider = next(f for f in dic.fields if f.field_type == "slider")
    assert (slider.vmin, slider.vmax) == ("-1", "101")


def test_a_dictionary_with_a_bom_and_replacement_characters_is_read():
    data = (R / "potentially-problematic-dictionary/dictionary.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    dic = parse_dictionary(data)
    assert dic.record_id_field == "record_id"
    assert len(dic.fields) == 6


@needs_shared()
def test_an_excel_resaved_dictionary_with_crlf_and_thousands_of_empty_rows_is_read():
    path = SHARED / "REDCapRITS/WARRIORtestForSoftwareUpgrades_DataDictionary_2018-06-21.csv"
    assert b"\r\n" in path.read_bytes()
    dic = read_dictionary(path)
    assert len(dic.fields) == 86
    assert sum(f.identifier for f in dic.fields) == 23


def test_the_api_json_metadata_is_read_like_the_csv():
    dic = read_dictionary(REDCAP / "redcap-etl/repeating-events.json")
    assert len(dic.fields) == 35
    assert dic.record_id_field == "record_id"


def test_the_record_id_field_is_the_first_field_whatever_its_name():
    assert read_dictionary(R / "survey/dictionary.csv").record_id_field == "participant_id"
    assert read_dictionary(R / "longitudinal/dictionary.csv").record_id_field == "study_id"


def test_branching_logic_required_and_identifier_flags_are_kept():
    dic = read_dictionary(ROOT / "schemas/registry_project/dictionary.csv")
    assert dic.by_name["relapse_date"].branching_logic == "[relapse_event] = '1'"
    assert dic.by_name["dem_cohort"].required
    assert not any(f.identifier for f in dic.fields)


def test_missing_data_codes_of_checkboxes_get_their_own_columns():
    dic = read_dictionary(ROOT / "schemas/registry_project/dictionary.csv")
    cols = missing_code_columns(dic, ("UNK", "NASK"))
    assert cols["dem_race___unk"] == ("dem_race", "UNK")
    assert "dem_race___unk" in known_columns(dic, ("UNK",))


def test_checkbox_columns_written_before_redcap_15_are_recognised():
    text = ("record_id,form_1,,text,ID,,,,,,,,,,,,,\n"
            "x,form_1,,checkbox,X,\"1.5, Half | 2, Two\",,,,,,,,,,,,\n")
    dic = parse_dictionary(b"field_name,form_name,section_header,field_type,field_label,"
                           b"select_choices_or_calculations\n" + text.encode())
    assert checkbox_aliases(dic) == {"x___15": "x___1_5"}


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the data dictionary is empty"),
    (b"\x00\x01binary", "binary"),
    (b"a,b,c\n1,2,3\n", "not a REDCap data dictionary"),
    (b"field_name,form_name,field_type\nrecord_id,f,text\nrecord_id,f,text\n", "defined twice"),
    (b"field_name,form_name,field_type\nRecord ID,f,text\n", "not a valid REDCap variable name"),
    (b"field_name,form_name,field_type,select_choices_or_calculations\nid,f,text,\nx,f,checkbox,\"A, A | a, a\"\n",
     "both give the export column 'x___a'"),
    (b"field_name,form_name,field_type\nstudy_id,f,text\nrecord_id,f,text\n",
     "both give the export column 'record_id'"),
    (b"field_name,form_name,field_type\nrecord_id,f,wibble\n", "unknown field type 'wibble'"),
    (b"field_name,form_name,field_type,select_choices_or_calculations\nrecord_id,f,text,\nx,f,checkbox,\n",
     "checkbox field 'x' has no choices"),
])
def test_an_unusable_dictionary_is_refused_with_where_and_how_to_fix(content, message):
    with pytest.raises(DictionaryError) as err:
        parse_dictionary(content, source="dict.csv")
    assert message in str(err.value)
    assert "dict.csv" in str(err.value) and "fix:" in str(err.value)
