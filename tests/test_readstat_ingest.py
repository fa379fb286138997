"""`registry ingest` of a REDCap export delivered as SPSS .sav or Stata .dta: the same registry
content as the CSV, the same batch semantics and the same refusals."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyreadstat
import pytest
from conftest import SAMPLE

from registry import store
from registry.redcap.columns import field_kind
from registry.redcap.project import load_default_project
from registry.redcap.readstat import cell_text, format_number

EXPORT = SAMPLE / "sample_export.csv"
LABELS = SAMPLE / "sample_export_labels.csv"
NUMERIC_KINDS = {"int", "double", "comma_double"}


def typed_frame(csv_path=EXPORT) -> tuple[pd.DataFrame, dict, dict]:
    """The CSV as REDCap's SPSS/Stata export types it: numbers, dates (datetime64), strings;
    value labels of the coded fields; variable labels."""
    project = load_default_project()
    dic = project.dictionary
    text = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    frame, value_labels, labels = {}, {}, {}
    for name in text.columns:
        field = dic.by_name.get(name.split("___")[0])
        column = text[name].replace("", None)
        numeric = name.endswith("_complete") or name == "redcap_repeat_instance" or "___" in name
        if field is not None and "___" not in name:
            kind = field_kind(field)
            numeric = numeric or kind in NUMERIC_KINDS
            if kind == "date":
                frame[name] = pd.to_datetime(column, format="%Y-%m-%d")
                labels[name] = field.label
                continue
            if field.choices and kind == "int":
                value_labels[name] = {int(c.code): c.label for c in field.choices}
            labels[name] = field.label[:80]
        frame[name] = pd.to_numeric(column) if numeric else column
    return pd.DataFrame(frame), value_labels, labels


def date_formats(frame: pd.DataFrame) -> dict[str, str]:
    """SPSS date formats for the datetime64 columns (else they are written as DATETIME)."""
    return {c: "SDATE10" for c in frame.columns if str(frame[c].dtype).startswith("datetime64")}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("readstat")
    frame, value_labels, labels = typed_frame()
    sav, dta = folder / "sample_export.sav", folder / "sample_export.dta"
    # .sav with SPSS date variables (read back as dates); .dta with datetime variables (%tc,
    # read back as datetimes at midnight), as a site's conversion may leave them
    pyreadstat.write_sav(
        frame, sav, column_labels=labels, variable_value_labels=value_labels, variable_format=date_formats(frame)
    )
    pyreadstat.write_dta(frame, dta, column_labels=labels, variable_value_labels=value_labels)
    return {"sav": sav, "dta": dta}


def batch_count(db) -> int:
    if not db.exists():
        return 0
    con = store.connect(db, read_only=True)
    try:
        return len(store.history(con))
    finally:
        con.close()


def table_names(con, schema: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = $s order by 1", {"s": schema}
        ).fetchall()
    ]


def assert_same_batches(db, old: int, new: int) -> None:
    """Every table of batch ``old`` equals the one of batch ``new`` (EXCEPT ALL both ways)."""
    con = store.connect(db, read_only=True)
    try:
        tables = table_names(con, f"batch_{old}")
        assert tables == table_names(con, f"batch_{new}")
        assert {"demographics", "madrs", "esketamine_session", "_records", "_cast_failures"} <= set(tables)
        for t in tables:
            a, b = f'batch_{old}."{t}"', f'batch_{new}."{t}"'
            assert (
                con.execute(f"select count(*) from {a}").fetchone()
                == con.execute(f"select count(*) from {b}").fetchone()
            ), t
            for x, y in ((a, b), (b, a)):
                extra = con.execute(f"select * from {x} except all select * from {y}").fetchall()
                assert not extra, f"{t}: {extra[:3]}"
        rows = con.execute(
            "select records, rows, export_format, instrument_rows from registry.batches where batch_id in ($a, $b) "
            "order by batch_id",
            {"a": old, "b": new},
        ).fetchall()
        assert rows[0] == rows[1]
    finally:
        con.close()


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_an_spss_or_stata_file_of_the_sample_ingests_to_the_same_registry_content_as_its_csv(cli, db, files, fmt):
    assert cli("ingest", EXPORT, "--db", db).exit_code == 0
    result = cli("ingest", files[fmt], "--db", db)
    assert result.exit_code == 0, result.stderr
    assert f"batch 2: 120 records, 2598 rows from sample_export.{fmt} (raw export)" in result.stdout
    assert_same_batches(db, 1, 2)


def test_a_sav_of_the_label_export_ingests_like_the_label_csv(cli, db, tmp_path):
    text = pd.read_csv(LABELS, dtype=str, keep_default_na=False).replace("", None)
    sav = tmp_path / "labels.sav"
    pyreadstat.write_sav(text, sav)
    assert cli("ingest", LABELS, "--db", db).exit_code == 0
    result = cli("ingest", sav, "--db", db)
    assert result.exit_code == 0, result.stderr
    assert "(label export)" in result.stdout
    assert_same_batches(db, 1, 2)


def test_ingesting_the_same_sav_again_changes_nothing(cli, db, files):
    assert cli("ingest", files["sav"], "--db", db).exit_code == 0
    again = cli("ingest", files["sav"], "--db", db)
    assert "already in the registry as batch 1: nothing changed" in again.stdout


def test_a_sav_variable_not_in_the_dictionary_is_refused_like_in_a_csv_unless_ignored(cli, db, tmp_path):
    frame, value_labels, _ = typed_frame()
    frame = frame.assign(site_notes="x")
    sav = tmp_path / "extra.sav"
    pyreadstat.write_sav(frame, sav, variable_value_labels=value_labels)
    result = cli("ingest", sav, "--db", db)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: 1 column(s) are not in the data dictionary: site_notes")
    assert f"where: {sav}, line 1" in result.stderr
    assert batch_count(db) == 0
    result = cli("ingest", sav, "--db", db, "--ignore-extra")
    assert result.exit_code == 0, result.stderr


def test_a_dta_without_the_record_id_is_refused_like_a_csv(cli, db, tmp_path):
    frame, _, _ = typed_frame()
    dta = tmp_path / "norid.dta"
    pyreadstat.write_dta(frame.drop(columns=["record_id"]), dta)
    result = cli("ingest", dta, "--db", db)
    assert result.exit_code == 2
    assert "the header has no record-ID column 'record_id'" in result.stderr


def test_a_file_that_is_not_spss_is_refused_with_what_to_pass(cli, db, tmp_path):
    fake = tmp_path / "export.sav"
    fake.write_bytes(EXPORT.read_bytes()[:5000])
    result = cli("ingest", fake, "--db", db)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: the file cannot be read as a SPSS .sav file")
    assert "CSV / Microsoft Excel (raw data)" in result.stderr


def test_an_spss_file_named_csv_is_still_refused_as_binary(cli, db, files, tmp_path):
    renamed = tmp_path / "export.csv"
    renamed.write_bytes(files["sav"].read_bytes())
    result = cli("ingest", renamed, "--db", db)
    assert result.exit_code == 2
    assert "the file is an SPSS .sav file, not a CSV export" in result.stderr


@pytest.mark.parametrize(
    ("value", "validation", "text"),
    [
        (3.0, "", "3"),
        (36.5, "number", "36.5"),
        (1e-7, "number", "1e-07"),
        (float("nan"), "", None),
        ("", "", None),
        (" a ", "", " a "),
        (dt.date(2019, 6, 27), "date_ymd", "2019-06-27"),
        (dt.datetime(2019, 6, 27, 8, 5), "datetime_ymd", "2019-06-27 08:05"),
        (dt.datetime(2019, 6, 27, 8, 5, 9), "datetime_seconds_ymd", "2019-06-27 08:05:09"),
        (dt.time(8, 5), "time", "08:05"),
        (None, "", None),
    ],
)
def test_cells_read_back_as_the_text_the_csv_carries(value, validation, text):
    assert cell_text(value, validation) == text


def test_whole_numbers_lose_their_decimal_point_only_when_exact():
    assert format_number(2.0**60) == repr(2.0**60)
    assert format_number(-12.0) == "-12"
