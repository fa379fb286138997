"""Label exports and unusual codes: mapped back through the dictionary, or refused."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from conftest import ROOT, SAMPLE

from registry import store
from registry.redcap.dictionary import read_dictionary
from registry.redcap.project import unique_event_name

PSEUDO = {"redcap_event_name": "Event Name", "redcap_repeat_instrument": "Repeat Instrument",
          "redcap_repeat_instance": "Repeat Instance", "redcap_data_access_group": "Data Access Group"}


def label_headers(header: list[str]) -> list[str]:
    """The header REDCap writes in a UI 'CSV (labels)' export."""
    dic = read_dictionary(ROOT / "schemas/registry_project/dictionary.csv")
    out = []
    for col in header:
        if col in PSEUDO:
            out.append(PSEUDO[col])
        elif col.endswith("_complete"):
            out.append("Complete?")
        elif "___" in col:
            name, code = col.split("___")
            f = dic.by_name[name]
            label = next(c.label for c in f.choices if c.code == code)
            out.append(f"{f.label} (choice={label})")
        else:
            out.append(dic.by_name[col].label)
    return out


def table_rows(db: Path, table: str) -> list[tuple]:
    con = store.connect(db, read_only=True)
    rows = con.execute(f'select * from "{table}" order by all').fetchall()
    con.close()
    return rows


def test_a_ui_label_export_with_label_headers_loads_like_the_raw_export(cli, tmp_path):
    text = (SAMPLE / "sample_export_labels.csv").read_text()
    rows = list(csv.reader(io.StringIO(text)))
    rows[0] = label_headers(rows[0])
    path = tmp_path / "Registry_DATA_LABELS_2026-11-01_1200.csv"
    with path.open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    raw_db, label_db = tmp_path / "raw.duckdb", tmp_path / "labels.duckdb"
    assert cli("ingest", SAMPLE / "sample_export.csv", "--db", raw_db).exit_code == 0
    result = cli("ingest", path, "--db", label_db)
    assert result.exit_code == 0, result.stderr
    for table in ("demographics", "madrs", "esketamine_session", "disposition", "_records"):
        assert table_rows(raw_db, table) == table_rows(label_db, table), table


def test_negative_checkbox_codes_and_missing_data_code_columns_are_mapped_through_the_dictionary(cli, tmp_path, db):
    dictionary = tmp_path / "dictionary.csv"
    dictionary.write_text(
        "field_name,form_name,section_header,field_type,field_label,select_choices_or_calculations,field_note,"
        "text_validation_type_or_show_slider_number\n"
        "record_id,form_1,,text,Record ID,,,\n"
        'race,form_1,,checkbox,Race,"1, White | -99, Unknown",,\n'
        "age,form_1,,text,Age,,,integer\n"
    )
    export = tmp_path / "export.csv"
    export.write_text(
        "record_id,race___1,race____99,race___unk,age,form_1_complete\n"
        "1,1,0,0,UNK,2\n"
        "2,0,1,0,34,2\n"
        "3,0,0,1,,1\n"
    )
    result = cli("ingest", export, "--dictionary", dictionary, "--db", db, "--missing-codes", "UNK,NASK")
    assert result.exit_code == 0, result.stderr
    assert table_rows(db, "form_1") == [
        ("1", None, None, None, True, False, None, 2),
        ("2", None, None, None, False, True, 34, 2),
        ("3", None, None, None, False, False, None, 1),
    ]
    assert table_rows(db, "_missing_values") == [
        ("form_1", "1", None, None, "age", "UNK"),
        ("form_1", "3", None, None, "race", "UNK"),
    ]


def test_event_labels_become_redcap_unique_event_names():
    assert unique_event_name("Deadline to opt out", 2) == "deadline_to_opt_ou_arm_2"
    assert unique_event_name("Week 8", 1) == "week_8_arm_1"
    assert unique_event_name("Baseline (pre-dose)!", 1) == "baseline_predose_arm_1"
    assert unique_event_name("Визит", 1).endswith("_arm_1") and len(unique_event_name("Визит", 1)) == 16


def test_a_label_that_stands_for_two_codes_is_refused(cli, tmp_path, db):
    dictionary = tmp_path / "dictionary.csv"
    dictionary.write_text(
        "field_name,form_name,field_type,field_label,select_choices_or_calculations\n"
        "record_id,form_1,text,Record ID,\n"
        'colour,form_1,radio,Colour,"1, Red | 2, Blue | 3, Red"\n'
    )
    export = tmp_path / "export.csv"
    export.write_text("record_id,colour,form_1_complete\n1,Blue,Complete\n2,Red,Complete\n")
    result = cli("ingest", export, "--dictionary", dictionary, "--db", db)
    assert result.exit_code != 0
    assert "the label 'Red' stands for more than one code of colour" in result.stderr
    assert "record 2" in result.stderr and "raw data" in result.stderr
