"""A value on a row where its form cannot be is refused (record, event, instance and field named),
or with --ignore-misplaced kept in _misplaced_values and left out of the form tables."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from cell_walk import read_export, unaccounted
from conftest import REDCAP, SAMPLE, refuse

from registry import store

SPARSE = REDCAP / "REDCapR" / "repeating-instruments-sparse"


def write_export(out: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def mutate(source: Path, out: Path, pick, column: str, value: str) -> dict[str, str]:
    """Copy ``source`` with ``column`` set to ``value`` on the first row ``pick(row)`` accepts; that row."""
    header, rows = read_export(source)
    row = next(r for r in rows if pick(r))
    row[column] = value
    write_export(out, header, rows)
    return row


def with_plain_row(source: Path, out: Path, event: str, column: str, value: str) -> dict[str, str]:
    """Copy ``source`` with a plain row (no repeat instrument, no instance) of ``event`` added after the
    first record's last row, holding ``column`` = ``value``; that row."""
    header, rows = read_export(source)
    record = rows[0]["record_id"]
    row = dict.fromkeys(header, "") | {"record_id": record, "redcap_event_name": event, column: value,
                                       "redcap_data_access_group": rows[0]["redcap_data_access_group"]}
    last = max(i for i, r in enumerate(rows) if r["record_id"] == record)
    rows.insert(last + 1, row)
    write_export(out, header, rows)
    return row


def adverse_event_row(r):
    return r["redcap_repeat_instrument"] == "adverse_event"


@pytest.fixture
def with_batch(cli, db):
    """A registry that already holds the sample export (a refusal must leave it as it was)."""
    assert cli("ingest", SAMPLE / "sample_export.csv", "--db", db).exit_code == 0
    return db


def test_a_non_repeating_forms_value_on_a_repeating_row_is_refused_with_its_place(cli, with_batch, tmp_path):
    export = tmp_path / "madrs_on_ae.csv"
    row = mutate(SAMPLE / "sample_export.csv", export, adverse_event_row, "madrs_1", "3")
    err = refuse(cli, with_batch, export, expect="value(s) are on rows where their form cannot be")
    where = (f"record {row['record_id']}, event {row['redcap_event_name']}, "
             f"instance {row['redcap_repeat_instance']}, field madrs_1")
    assert where in err
    assert "repeating instrument adverse_event" in err
    assert "--ignore-misplaced" in err


def test_ignore_misplaced_stores_the_batch_without_the_value_and_records_it(cli, db, tmp_path):
    export = tmp_path / "madrs_on_ae.csv"
    row = mutate(SAMPLE / "sample_export.csv", export, adverse_event_row, "madrs_1", "3")
    result = cli("ingest", export, "--db", db, "--ignore-misplaced")
    assert result.exit_code == 0, result.stderr
    assert "1 value(s) on rows where their form cannot be" in result.stdout
    con = store.connect(db, read_only=True)
    key = {"r": row["record_id"], "e": row["redcap_event_name"], "i": int(row["redcap_repeat_instance"])}
    assert con.execute("select form, redcap_repeat_instrument, field, raw_value from _misplaced_values "
                       "where record_id = $r and redcap_event_name = $e and redcap_repeat_instance = $i",
                       key).fetchall() == [("madrs", "adverse_event", "madrs_1", "3")]
    assert con.execute("select count(*) from madrs where record_id = $r and redcap_event_name = $e",
                       {"r": key["r"], "e": key["e"]}).fetchone()[0] == 0
    assert con.execute("select count(*) from adverse_event where record_id = $r and redcap_event_name = $e "
                       "and redcap_repeat_instance = $i", key).fetchone()[0] == 1
    con.close()
    assert unaccounted(db, export) == []


def test_a_repeating_forms_value_on_a_plain_row_of_its_repeating_event_is_refused(cli, with_batch, tmp_path):
    """adverse_event repeats in treatment_log_arm_1: its values are only on its own instance rows there."""
    export = tmp_path / "ae_on_plain_row.csv"
    row = with_plain_row(SAMPLE / "sample_export.csv", export, "treatment_log_arm_1", "ae_term", "nausea")
    err = refuse(cli, with_batch, export, expect="value(s) are on rows where their form cannot be")
    assert f"record {row['record_id']}, event treatment_log_arm_1, field ae_term" in err
    assert "a non-repeating row of event treatment_log_arm_1, where the form is a repeating instrument" in err


def test_with_ignore_misplaced_a_repeating_forms_plain_row_value_is_kept_aside(cli, db, tmp_path):
    export = tmp_path / "ae_on_plain_row.csv"
    row = with_plain_row(SAMPLE / "sample_export.csv", export, "treatment_log_arm_1", "ae_term", "nausea")
    result = cli("ingest", export, "--db", db, "--ignore-misplaced")
    assert result.exit_code == 0, result.stderr
    con = store.connect(db, read_only=True)
    assert con.execute("select form, record_id, redcap_event_name, redcap_repeat_instance, field, raw_value "
                       "from _misplaced_values").fetchall() == [
        ("adverse_event", row["record_id"], "treatment_log_arm_1", None, "ae_term", "nausea")]
    assert con.execute("select count(*) from adverse_event where redcap_repeat_instance is null").fetchone()[0] == 0
    con.close()
    assert unaccounted(db, export) == []


def test_a_value_of_a_form_not_mapped_to_the_rows_event_is_refused(cli, with_batch, tmp_path):
    export = tmp_path / "phq9_at_study_end.csv"
    row = mutate(SAMPLE / "sample_export.csv", export, lambda r: r["redcap_event_name"] == "study_end_arm_1",
                 "phq9_2", "1")
    err = refuse(cli, with_batch, export, expect="value(s) are on rows where their form cannot be")
    assert f"record {row['record_id']}, event study_end_arm_1, field phq9_2" in err
    assert "not mapped to" in err


def test_with_ignore_misplaced_an_unmapped_events_value_is_not_in_the_form_table(cli, db, tmp_path):
    export = tmp_path / "phq9_at_study_end.csv"
    row = mutate(SAMPLE / "sample_export.csv", export, lambda r: r["redcap_event_name"] == "study_end_arm_1",
                 "phq9_2", "1")
    assert cli("ingest", export, "--db", db, "--ignore-misplaced").exit_code == 0
    con = store.connect(db, read_only=True)
    assert con.execute("select count(*) from phq9 where redcap_event_name = 'study_end_arm_1'").fetchone()[0] == 0
    assert con.execute("select record_id, field from _misplaced_values").fetchall() == [(row["record_id"], "phq9_2")]
    con.close()
    assert unaccounted(db, export) == []


@pytest.mark.parametrize("column", ["dem_race___1", "madrs_complete"])
def test_a_zero_checkbox_or_form_status_on_a_repeating_row_is_redcaps_filler(cli, db, tmp_path, column):
    export = tmp_path / "filler.csv"
    mutate(SAMPLE / "sample_export.csv", export, adverse_event_row, column, "0")
    result = cli("ingest", export, "--db", db)
    assert result.exit_code == 0, result.stderr
    con = store.connect(db, read_only=True)
    assert con.execute("select count(*) from _misplaced_values").fetchone()[0] == 0
    con.close()


@pytest.mark.parametrize(("column", "value"), [("dem_race___1", "1"), ("madrs_complete", "2"),
                                               ("esk_dose_mg", "56"), ("dem_race___1", "x")])
def test_a_checked_box_a_form_status_or_another_repeating_forms_value_there_is_refused(
        cli, with_batch, tmp_path, column, value):
    export = tmp_path / "misplaced.csv"
    mutate(SAMPLE / "sample_export.csv", export, adverse_event_row, column, value)
    err = refuse(cli, with_batch, export, expect="value(s) are on rows where their form cannot be")
    assert f"field {column}" in err


def test_a_classic_projects_field_on_a_repeating_instrument_row_is_refused(cli, db, tmp_path):
    """No events and no mapping: only the repeating-instrument rule applies."""
    export = tmp_path / "sparse.csv"
    row = mutate(SPARSE / "data.csv", export, lambda r: r["redcap_repeat_instrument"] == "bp", "race", "4")
    assert cli("ingest", SPARSE / "data.csv", "--dictionary", SPARSE / "dictionary.csv", "--db", db).exit_code == 0
    err = refuse(cli, db, export, "--dictionary", SPARSE / "dictionary.csv",
                 expect="value(s) are on rows where their form cannot be")
    assert f"record {row['record_id']}, instance {row['redcap_repeat_instance']}, field race" in err
    result = cli("ingest", export, "--dictionary", SPARSE / "dictionary.csv", "--db", db, "--ignore-misplaced")
    assert result.exit_code == 0, result.stderr
    assert unaccounted(db, export) == []
