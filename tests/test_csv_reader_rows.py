"""The CSV reader numbers the export's data rows (``__row``) in file order, multi-line values included."""

from __future__ import annotations

import csv
import io

import duckdb
from conftest import SAMPLE

from registry.redcap import raw_rows
from registry.redcap.export import read_export
from registry.redcap.project import load_default_project

EXPORT = SAMPLE / "sample_export.csv"


def test_rows_are_numbered_in_file_order_with_multi_line_values(tmp_path):
    text = EXPORT.read_text("utf-8").replace('"Lack of efficacy"', '"Lack of\r\nefficacy\nat week 8"', 1)
    assert "Lack of\r\n" in text
    export = tmp_path / "notes.csv"
    export.write_bytes(text.encode("utf-8"))
    expected = [(i, row[0], row[1]) for i, row in enumerate(list(csv.reader(io.StringIO(text)))[1:], start=1)]
    con = duckdb.connect()
    read_export(con, export, load_default_project())
    rows = con.execute("select __row, record_id, redcap_event_name from raw order by rowid").fetchall()
    assert rows == expected
    assert raw_rows.renumber_if_out_of_order(con) is False


def test_rows_out_of_table_order_are_renumbered():
    con = duckdb.connect()
    con.execute("create temp table raw as select 10 - i as __row, 'R' || i as record_id from range(5) t(i)")
    assert raw_rows.renumber_if_out_of_order(con) is True
    assert con.execute("select __row, record_id from raw order by rowid").fetchall() == [
        (1, "R0"), (2, "R1"), (3, "R2"), (4, "R3"), (5, "R4")]
