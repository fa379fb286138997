"""Exports of public REDCap projects that used to fail (issue 8, item 6): each now loads, from the CLI.

The files are built from the public REDCapR 'checkboxes-1' project (tests/data/redcap) and from
the ODM written the way REDCap writes it (test_odm.MINI), changed the way the real exports differ.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from conftest import REDCAP
from test_odm import MINI

from registry import store

CHECKBOXES = REDCAP / "REDCapR" / "checkboxes-1"


def rows_of(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def query(db: Path, sql: str, params=None):
    con = store.connect(db, read_only=True)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


def ingest(cli, db, export, *args):
    result = cli("ingest", export, "--db", db, *args)
    assert result.exit_code == 0, result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    return result


# --- a missing-data code with a quote ------------------------------------------------------------

def test_a_missing_data_code_with_a_quote_is_stored_as_data(cli, db, tmp_path):
    rows = rows_of(CHECKBOXES / "data.csv")
    rows[0].insert(6, "check_one___ok")  # the column REDCap adds for the code O'K on a checkbox
    for r in rows[1:]:
        r.insert(6, "1" if r[0] == "4" else "0")
    export = write_csv(tmp_path / "data.csv", rows)
    ingest(cli, db, export, "--dictionary", CHECKBOXES / "dictionary.csv", "--missing-codes", "O'K,NA")
    assert query(db, "select record_id, field, code from _missing_values") == [("4", "check_one", "O'K")]


# --- a form of only checkboxes and text, without its <form>_complete column ----------------------

def test_a_checkbox_and_text_form_without_its_complete_column_loads(cli, db, tmp_path):
    rows = rows_of(CHECKBOXES / "data.csv")
    keep = [i for i, c in enumerate(rows[0]) if not c.endswith("_complete")]
    export = write_csv(tmp_path / "data.csv", [[r[i] for i in keep] for r in rows])
    ingest(cli, db, export, "--dictionary", CHECKBOXES / "dictionary.csv")
    got = query(db, "select record_id, check_one___1, check_two___b, form_2_complete from form_2 order by record_id")
    assert got == [("1", True, False, None), ("2", False, True, None), ("3", True, False, None)]
    assert query(db, "select count(*) from _cast_failures") == [(0,)]


# --- a ';'-delimited data dictionary --------------------------------------------------------------

def test_a_semicolon_delimited_dictionary_is_read(cli, db, tmp_path):
    dictionary = write_csv(tmp_path / "dictionary.csv", rows_of(CHECKBOXES / "dictionary.csv"), delimiter=";")
    assert dictionary.read_text(encoding="utf-8").startswith("Variable / Field Name;Form Name;")
    ingest(cli, db, CHECKBOXES / "data.csv", "--dictionary", dictionary)
    got = query(db, "select record_id, check_two___a, check_two___c, form_2_complete from form_2 order by 1")
    assert got == [("1", True, True, 2), ("2", False, False, 0), ("3", False, False, 2)]
    labels = query(db, "select field_type, select_choices_or_calculations from _dictionary "
                       "where field_name = 'check_one'")
    assert labels == [("checkbox", "1, one|2, two|3, three|4, four")]


def test_a_semicolon_dictionary_with_commas_in_its_labels_keeps_them(tmp_path):
    from registry.redcap.dictionary import read_dictionary

    rows = rows_of(CHECKBOXES / "dictionary.csv")
    rows[1][4] = "Record ID, as REDCap numbers it"
    dic = read_dictionary(write_csv(tmp_path / "dictionary.csv", rows, delimiter=";"))
    assert dic.by_name["record_id"].label == "Record ID, as REDCap numbers it"
    assert [c.code for c in dic.by_name["check_two"].choices] == ["a", "b", "c", "d", "e"]


# --- a radio or dropdown field with no choices ----------------------------------------------------

def test_a_radio_field_without_choices_is_loaded_as_text_with_a_warning(cli, db, tmp_path):
    drows = rows_of(CHECKBOXES / "dictionary.csv")
    drows.append(["pick", "form_2", "", "radio", "Pick one", "", *[""] * 12])
    drows.append(["size", "form_2", "", "dropdown", "Size", " ", *[""] * 12])
    rows = rows_of(CHECKBOXES / "data.csv")
    rows[0][-1:-1] = ["pick", "size"]
    for r, values in zip(rows[1:], [["2", "L"], ["Other", ""], ["", ""], ["", ""]], strict=True):
        r[-1:-1] = values
    export = write_csv(tmp_path / "data.csv", rows)
    result = ingest(cli, db, export, "--dictionary", write_csv(tmp_path / "dictionary.csv", drows))
    assert "warning: radio field 'pick' has no choices" in result.stderr
    assert "warning: dropdown field 'size' has no choices" in result.stderr
    assert query(db, "select record_id, pick, size from form_2 order by 1") == [
        ("1", "2", "L"), ("2", "Other", None), ("3", None, None)]
    assert query(db, "select count(*) from _cast_failures") == [(0,)]
    status = cli.json("status", "--db", db, "--json")
    assert [n.split(":")[0] for n in status["notes"]] == [
        "radio field 'pick' has no choices", "dropdown field 'size' has no choices"]


def test_a_checkbox_field_without_choices_is_still_refused(cli, db, tmp_path):
    drows = rows_of(CHECKBOXES / "dictionary.csv")
    drows.append(["ticks", "form_2", "", "checkbox", "Ticks", "", *[""] * 12])
    result = cli("ingest", CHECKBOXES / "data.csv", "--db", db,
                 "--dictionary", write_csv(tmp_path / "dictionary.csv", drows))
    assert result.exit_code != 0
    assert "checkbox field 'ticks' has no choices" in result.stderr and "Traceback" not in result.stderr
    assert not db.exists() or query(db, "select count(*) from registry.batches") == [(0,)]


# --- ODM: decimal commas, and file-upload fields ---------------------------------------------------

BMI_REF = '    <ItemRef ItemOID="bmi" Mandatory="No" redcap:Variable="bmi"/>\n'
BMI_DEF = """  <ItemDef OID="bmi" Name="bmi" DataType="float" Length="999" redcap:Variable="bmi" redcap:FieldType="calc"
      redcap:Calculation="[weight]/4">
    <Question><TranslatedText>BMI</TranslatedText></Question>
  </ItemDef>
"""
FILE_REF = '    <ItemRef ItemOID="consent" Mandatory="No" redcap:Variable="consent"/>\n'
FILE_DEF = """  <ItemDef OID="consent" Name="consent" DataType="text" Length="999" redcap:Variable="consent"
      redcap:FieldType="file">
    <Question><TranslatedText>Signed consent</TranslatedText></Question>
  </ItemDef>
"""


def comma_odm(weights: tuple[str, str, str], bmis: tuple[str, str]) -> str:
    """MINI with a calc field, decimal commas where given, and a file-upload field with and without a name."""
    text = MINI.replace('    <ItemRef ItemOID="weight" Mandatory="No" redcap:Variable="weight"/>\n',
                        '    <ItemRef ItemOID="weight" Mandatory="No" redcap:Variable="weight"/>\n' + BMI_REF)
    text = text.replace('    <ItemRef ItemOID="comments" Mandatory="No" redcap:Variable="comments"/>\n',
                        '    <ItemRef ItemOID="comments" Mandatory="No" redcap:Variable="comments"/>\n' + FILE_REF)
    text = text.replace('  <ItemDef OID="vitals_complete"', BMI_DEF + FILE_DEF + '  <ItemDef OID="vitals_complete"')
    text = text.replace('<ItemData ItemOID="weight" Value="70.5"/>',
                        f'<ItemData ItemOID="weight" Value="{weights[0]}"/><ItemData ItemOID="bmi" Value="{bmis[0]}"/>')
    text = text.replace('<ItemData ItemOID="weight" Value="UNK"/>',
                        f'<ItemData ItemOID="weight" Value="{weights[1]}"/>')
    text = text.replace('<ItemData ItemOID="weight" Value="64"/>',
                        f'<ItemData ItemOID="weight" Value="{weights[2]}"/><ItemData ItemOID="bmi" Value="{bmis[1]}"/>')
    text = text.replace(
        '<ItemData ItemOID="comments" Value="first line',
        '<ItemDataBase64Binary ItemOID="consent" redcap:DocName="consent 101.pdf" redcap:MimeType="application/pdf">'
        'JVBERi0xLjQK</ItemDataBase64Binary>\n<ItemData ItemOID="comments" Value="first line')
    text = text.replace(
        '<ItemData ItemOID="race____99" Value="1"/>',
        '<ItemData ItemOID="race____99" Value="1"/><ItemDataBase64Binary ItemOID="consent">JVBERi0xLjQK'
        '</ItemDataBase64Binary>')
    assert text.count("bmi") == 7 and text.count("consent") >= 6
    return text


def test_an_odm_from_a_comma_decimal_redcap_loads_its_numbers_and_says_so(cli, db, tmp_path):
    odm = tmp_path / "project.xml"
    odm.write_text(comma_odm(("70,5", "UNK", "64"), ("17,63", "16")), encoding="utf-8")
    result = ingest(cli, db, odm)
    assert "decimal commas read as decimal points in 2 number/calc field(s)" in result.stderr
    got = query(db, "select record_id, redcap_repeat_instance, weight, bmi from vitals order by 1, 2")
    assert got == [("101", 1, 70.5, 17.63), ("101", 2, None, None), ("102", 1, 64.0, 16.0)]
    assert query(db, "select count(*) from _cast_failures") == [(0,)]
    assert query(db, "select field, code from _missing_values") == [("weight", "UNK")]
    notes = json.loads(query(db, "select notes from registry.batches")[0][0])
    assert notes == ["decimal commas read as decimal points in 2 number/calc field(s), every value of which "
                     "uses them: weight, bmi"]
    assert cli.json("status", "--db", db, "--json")["notes"] == notes


def test_a_column_mixing_decimal_points_and_commas_is_not_guessed(cli, db, tmp_path):
    odm = tmp_path / "project.xml"
    odm.write_text(comma_odm(("70.5", "UNK", "64,2"), ("17,63", "16")), encoding="utf-8")
    result = ingest(cli, db, odm)
    assert "1 number/calc field(s)" in result.stderr and "uses them: bmi" in result.stderr
    assert query(db, "select weight, bmi from vitals order by record_id, redcap_repeat_instance") == [
        (70.5, 17.63), (None, None), (None, 16.0)]
    assert query(db, "select record_id, field, raw_value from _cast_failures") == [("102", "weight", "64,2")]


def test_an_odm_with_decimal_points_has_no_note(cli, db, tmp_path):
    odm = tmp_path / "project.xml"
    odm.write_text(comma_odm(("70.5", "UNK", "64"), ("17.63", "16")), encoding="utf-8")
    result = ingest(cli, db, odm)
    assert "decimal comma" not in result.stderr
    assert cli.json("status", "--db", db, "--json")["notes"] == []


def test_an_odm_file_upload_field_keeps_the_file_name(cli, db, tmp_path):
    odm = tmp_path / "project.xml"
    odm.write_text(comma_odm(("70.5", "UNK", "64"), ("17.63", "16")), encoding="utf-8")
    ingest(cli, db, odm)
    assert query(db, "select record_id, consent from demographics order by 1") == [
        ("101", "consent 101.pdf"), ("102", "[document]")]
