"""A large CSV export is read in parts, one per thread: the same ``raw``, in the same order, as the whole file.

The part size is made small here (``MIN_PART_BYTES``) so that the sample export (500 kB) is cut
into several parts; the cuts must fall between records, never inside a quoted multi-line value,
and a file the strict reader refuses is refused as when read whole (same line).
"""

from __future__ import annotations

import csv
import io
import os
import tempfile

import duckdb
import pytest
from conftest import SAMPLE

from registry.errors import CsvFormatError
from registry.redcap import csv_parts
from registry.redcap.export import read_export
from registry.redcap.project import load_default_project

EXPORT = SAMPLE / "sample_export.csv"


def _read_raw(path, threads: int, part_bytes: int, monkeypatch) -> list[tuple]:
    monkeypatch.setattr(csv_parts, "MIN_PART_BYTES", part_bytes)
    con = duckdb.connect()
    con.execute(f"set threads = {threads}")
    read_export(con, path, load_default_project())
    return con.execute("select * from raw order by rowid").fetchall()


def _with_notes(tmp_path, every: int = 7):
    """The sample export with a multi-line, quoted, comma- and quote-holding note on every ``every``-th
    disposition row (so that some lie where the file is cut)."""
    lines = EXPORT.read_text("utf-8").split("\n")
    n = 0
    for i, line in enumerate(lines):
        if '"Lack of efficacy"' in line:
            n += 1
            if n % every == 0:
                lines[i] = line.replace('"Lack of efficacy"', '"Lack of ""efficacy"",\nat week 8\r\n\nand 16"')
    path = tmp_path / "notes.csv"
    path.write_bytes("\n".join(lines).encode("utf-8"))
    return path


@pytest.mark.parametrize("threads", [2, 3, 8])
def test_parts_give_the_same_rows_in_the_same_order(tmp_path, monkeypatch, threads):
    path = _with_notes(tmp_path)
    whole = _read_raw(path, 1, 1 << 40, monkeypatch)
    parts = _read_raw(path, threads, 20_000, monkeypatch)
    assert parts == whole
    # and what a CSV parser reads: every record, every value, in file order (``__row`` last)
    records = list(csv.reader(io.StringIO(path.read_text("utf-8"))))[1:]
    assert [row[:-1] for row in parts] == [tuple(v if v != "" else None for v in r) for r in records]
    assert [row[-1] for row in parts] == list(range(1, len(records) + 1))


def test_cuts_fall_after_a_record_never_inside_a_quoted_value(tmp_path, monkeypatch):
    path = _with_notes(tmp_path, every=1)
    monkeypatch.setattr(csv_parts, "MIN_PART_BYTES", 5_000)
    cuts = csv_parts.cut_points(path, 40)
    assert len(cuts) >= 30
    data = path.read_bytes()
    for cut in cuts:
        assert data[cut - 1:cut] == b"\n"
        assert data[:cut].count(b'"') % 2 == 0
        records_before = list(csv.reader(io.StringIO(data[:cut].decode("utf-8"))))
        assert all(len(r) == len(records_before[0]) for r in records_before)


def test_small_files_are_read_whole():
    assert csv_parts.cut_points(EXPORT, 2) == []


def test_a_stray_quote_in_an_unquoted_value_gives_the_rows_of_the_whole_file(tmp_path, monkeypatch):
    """``fputcsv`` never writes one, but a hand-edited file may: the quote count then lies about where
    quoted values are; a part that ends inside one is refused and the file is read whole."""
    path = _with_notes(tmp_path)
    text = path.read_text("utf-8").replace('"Mouth ulcer"', 'Mouth u"lcer', 1)
    path.write_bytes(text.encode("utf-8"))
    whole = _read_raw(path, 1, 1 << 40, monkeypatch)
    assert any(v == 'Mouth u"lcer' for row in whole for v in row)
    assert _read_raw(path, 4, 20_000, monkeypatch) == whole


def test_a_ragged_row_in_a_later_part_is_refused_naming_its_line(tmp_path, monkeypatch):
    lines = EXPORT.read_text("utf-8").split("\n")
    lines[2400] = lines[2400] + ",extra"
    path = tmp_path / "ragged.csv"
    path.write_bytes("\n".join(lines).encode("utf-8"))
    monkeypatch.setattr(csv_parts, "MIN_PART_BYTES", 20_000)
    con = duckdb.connect()
    con.execute("set threads = 4")
    with pytest.raises(CsvFormatError) as err:
        read_export(con, path, load_default_project())
    assert err.value.where == f"{path}, line 2401"
    assert "values but the header has" in str(err.value)


def test_no_part_files_are_left(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    path = _with_notes(tmp_path)
    _read_raw(path, 4, 20_000, monkeypatch)
    assert os.listdir(scratch) == []


def test_parts_are_copied_where_the_kernel_cannot(tmp_path, monkeypatch):
    """Without ``os.copy_file_range`` (macOS, Windows) the parts are copied through memory: the same rows."""
    path = _with_notes(tmp_path)
    whole = _read_raw(path, 1, 1 << 40, monkeypatch)
    monkeypatch.delattr(os, "copy_file_range")
    assert _read_raw(path, 3, 20_000, monkeypatch) == whole


def test_a_byte_order_mark_and_windows_line_breaks_read_the_same_in_parts(tmp_path, monkeypatch):
    path = _with_notes(tmp_path)
    text = path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + text)
    whole = _read_raw(path, 1, 1 << 40, monkeypatch)
    assert whole[0][0] == "SIR-0001"
    assert _read_raw(path, 3, 20_000, monkeypatch) == whole
