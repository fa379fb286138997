"""Casting by field type: failures and missing-data codes are kept, never silently NULL."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import REDCAP, SAMPLE

from registry import store
from registry.redcap.columns import Column, field_kind
from registry.redcap.dictionary import Field, parse_choices


def edit_sample(tmp_path: Path, edits: dict[tuple[str, str, str], str]) -> Path:
    """The bundled sample with cells replaced: {(record, event, column): value}."""
    with (SAMPLE / "sample_export.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    for row in rows[1:]:
        for (record, event, column), value in edits.items():
            if row[0] == record and row[1] == event and not row[2]:
                row[header.index(column)] = value
    path = tmp_path / "edited.csv"
    with path.open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return path


@pytest.fixture
def edited_registry(cli, db, tmp_path):
    export = edit_sample(tmp_path, {
        ("SIR-0001", "baseline_arm_1", "dem_age"): "UNK",
        ("SIR-0001", "baseline_arm_1", "madrs_1"): "abc",
        ("SIR-0002", "baseline_arm_1", "dem_tx_failures"): " 4 ",
        ("SIR-0003", "baseline_arm_1", "dem_index_date"): "",
        ("SIR-0004", "baseline_arm_1", "madrs_date"): "2021-02-30",
        ("SIR-0005", "baseline_arm_1", "dem_race___1"): "yes",
    })
    result = cli("ingest", export, "--db", db)
    assert result.exit_code == 0, result.stderr
    return store.connect(db, read_only=True)


def test_a_missing_data_code_is_kept_as_a_code_not_a_number(edited_registry):
    con = edited_registry
    assert con.execute("select dem_age from demographics where record_id = 'SIR-0001'").fetchall() == [(None,)]
    assert con.execute("select form, field, code from _missing_values where record_id = 'SIR-0001'").fetchall() == [
        ("demographics", "dem_age", "UNK")]


def test_a_value_that_fails_its_cast_is_kept_in_the_side_table(edited_registry):
    con = edited_registry
    rows = con.execute("select form, record_id, redcap_event_name, redcap_repeat_instance, field, raw_value, reason "
                       "from _cast_failures order by record_id, field").fetchall()
    assert ("madrs", "SIR-0001", "baseline_arm_1", None, "madrs_1", "abc", "not a valid int value") in rows
    assert ("madrs", "SIR-0004", "baseline_arm_1", None, "madrs_date", "2021-02-30", "not a valid date value") in rows
    assert ("demographics", "SIR-0005", "baseline_arm_1", None, "dem_race___1", "yes",
            "not a checkbox value (0 or 1)") in rows


def test_spaces_around_a_number_do_not_make_it_fail(edited_registry):
    con = edited_registry
    assert con.execute("select dem_tx_failures from demographics where record_id = 'SIR-0002'").fetchall() == [(4,)]


def test_dates_of_a_record_without_an_index_date_are_kept_with_the_reason(edited_registry):
    con = edited_registry
    reasons = con.execute("select distinct reason from _cast_failures where record_id = 'SIR-0003'").fetchall()
    assert reasons == [("no study-day anchor (dem_index_date) for this record",)]
    n_dates = con.execute("select count(*) from _cast_failures where record_id = 'SIR-0003'").fetchone()[0]
    assert n_dates >= 5  # esketamine start, visits, sessions, last follow-up …
    assert con.execute("select max(esk_date) from esketamine_session where record_id = 'SIR-0003'").fetchall() == [
        (None,)]


@pytest.mark.parametrize(("column", "value", "stored", "failure"), [
    ("madrs_complete", "10", 10, None),  # a status of two digits is a number, not a failed cast
    ("madrs_complete", "x", None, "not a valid int value"),
    ("dem_race___1", "01", None, "not a checkbox value (0 or 1)"),
    ("dem_race___1", "1", True, None),
])
def test_form_statuses_and_checkboxes_are_cast_or_kept_as_failures(cli, db, tmp_path, column, value, stored, failure):
    export = edit_sample(tmp_path, {("SIR-0001", "baseline_arm_1", column): value})
    assert cli("ingest", export, "--db", db).exit_code == 0
    con = store.connect(db, read_only=True)
    table = "madrs" if column.startswith("madrs") else "demographics"
    assert con.execute(f"select {column} from {table} where record_id = 'SIR-0001' "
                       "and redcap_event_name = 'baseline_arm_1'").fetchall() == [(stored,)]
    assert con.execute("select field, raw_value, reason from _cast_failures").fetchall() == (
        [(column, value, failure)] if failure else [])


def test_an_export_of_one_repeating_instruments_rows_only_ingests(cli, db, tmp_path):
    """No plain row at all: the other forms' tables are empty, nothing is lost or failed."""
    sparse = REDCAP / "REDCapR" / "repeating-instruments-sparse"
    lines = (sparse / "data.csv").read_text().splitlines()
    export = tmp_path / "bp_only.csv"
    export.write_text("\n".join([lines[0], *[line for line in lines[1:] if ",bp," in line]]) + "\n")
    result = cli("ingest", export, "--dictionary", sparse / "dictionary.csv", "--db", db)
    assert result.exit_code == 0, result.stderr
    con = store.connect(db, read_only=True)
    assert con.execute("select count(*) from bp").fetchone()[0] == len(lines[1:]) - sum(
        ",bp," not in line for line in lines[1:])
    assert con.execute("select count(*) from demographics").fetchone()[0] == 0
    assert con.execute("select count(*) from _cast_failures").fetchone()[0] == 0


@pytest.mark.parametrize(("field_type", "validation", "choices", "kind"), [
    ("text", "integer", "", "int"),
    ("text", "number_2dp", "", "double"),
    ("text", "number_1dp_comma_decimal", "", "comma_double"),
    ("text", "date_mdy", "", "date"),
    ("text", "datetime_seconds_dmy", "", "datetime"),
    ("text", "time", "", "time"),
    ("text", "time_mm_ss", "", "text"),
    ("text", "email", "", "text"),
    ("radio", "", "1, A | 2, B", "int"),
    ("dropdown", "", "a, A | b, B", "text"),
    ("radio", "", "-99, Unknown | 1, One", "int"),
    ("calc", "", "[a]+[b]", "double"),
    ("slider", "number", "", "int"),
    ("notes", "", "", "text"),
    ("file", "signature", "", "text"),
])
def test_every_field_type_and_validation_has_a_storage_kind(field_type, validation, choices, kind):
    f = Field(name="x", form="f", field_type=field_type, validation=validation, choices=parse_choices(choices))
    assert field_kind(f) == kind


@pytest.mark.parametrize(("kind", "good", "bad"), [
    ("int", ["12", "-3", "+5"], ["1.5", "1_000", "0x10", "1e3"]),
    ("double", ["1.5", "-0.25", "7800.00", "1e-3", ".5"], ["inf", "nan", "1,5", "abc"]),
    ("comma_double", ["36,5", "36.5"], ["36;5"]),
    ("date", ["2023-02-24"], ["2023-02-30", "2023-2-4", "24/02/2023", "2023-02-24 12:04"]),
    ("datetime", ["2023-02-24 12:04", "2023-02-24 12:40:50"], ["2023-02-24", "12:04"]),
    ("time", ["12:04", "23:59:59"], ["25:00", "55:02:xx"]),
])
def test_values_are_checked_strictly_against_their_type(kind, good, bad):
    import duckdb

    col = Column("x", "f", kind)
    con = duckdb.connect()
    check = f"select {col.valid_sql('$v')}"
    for value in good:
        assert con.execute(check, {"v": value}).fetchone()[0], value
    for value in bad:
        assert not con.execute(check, {"v": value}).fetchone()[0], value
