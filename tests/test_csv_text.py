"""The text of a CSV export: mixed CR LF / LF line endings are read; a cut-short last record is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from cell_walk import unaccounted
from conftest import SAMPLE, refuse

from registry import store
from registry.redcap import csv_text

EXPORT = SAMPLE / "sample_export.csv"
REASON = b'"Lack of efficacy"'  # a quoted value of the sample (disp_reason)
LAST_LINE = len(EXPORT.read_bytes().splitlines())


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def tables(db: Path, *forms: str) -> list:
    con = store.connect(db, read_only=True)
    try:
        return [con.execute(f"select * from {form} order by all").fetchall() for form in forms]
    finally:
        con.close()


def mixed_rows(data: bytes) -> bytes:
    """Every other row ends with CR LF, the rest with LF."""
    lines = data.split(b"\n")
    return b"\n".join(line + b"\r" if k % 2 and line else line for k, line in enumerate(lines))


def test_crlf_inside_a_quoted_notes_value_of_an_lf_file_is_kept(cli, db, tmp_path):
    export = write(tmp_path / "notes.csv", EXPORT.read_bytes().replace(REASON, b'"Lack of\r\nefficacy"', 1))
    result = cli("ingest", export, "--db", db)
    assert result.exit_code == 0, result.stderr
    con = store.connect(db, read_only=True)
    assert con.execute("select count(*) from disposition where disp_reason = $v",
                       {"v": "Lack of\r\nefficacy"}).fetchone()[0] == 1
    con.close()
    assert unaccounted(db, export) == []


@pytest.mark.parametrize("chunk", [csv_text.CHUNK, 7])  # 7 bytes: CR LF pairs and quotes split across reads
def test_rows_mixing_crlf_and_lf_are_read_as_the_lf_file(cli, tmp_path, chunk, monkeypatch):
    monkeypatch.setattr(csv_text, "CHUNK", chunk)
    quoted_crlf = b'"Lack of\r\nefficacy"'
    lf = write(tmp_path / "lf.csv", EXPORT.read_bytes().replace(REASON, quoted_crlf, 1))
    mixed = write(tmp_path / "mixed.csv", mixed_rows(EXPORT.read_bytes()).replace(REASON, quoted_crlf, 1))
    assert b"\r\n" in mixed.read_bytes().split(REASON[:8])[0]  # rows end both ways before the quoted CR LF
    dbs = tmp_path / "lf.duckdb", tmp_path / "mixed.duckdb"
    for export, db in zip((lf, mixed), dbs, strict=True):
        result = cli("ingest", export, "--db", db)
        assert result.exit_code == 0, result.stderr
    forms = ("demographics", "madrs", "adverse_event", "disposition")
    assert tables(dbs[0], *forms) == tables(dbs[1], *forms)
    assert unaccounted(dbs[1], mixed) == []


def test_a_file_of_bare_cr_and_lf_line_breaks_is_read(cli, db, tmp_path):
    lines = EXPORT.read_bytes().split(b"\n")
    export = write(tmp_path / "cr.csv", b"\n".join(line + b"\r" if k == 5 else line for k, line in enumerate(lines))
                   .replace(b"\r\n", b"\r"))
    assert cli("ingest", export, "--db", db).exit_code == 0
    assert unaccounted(db, export) == []


@pytest.fixture
def with_batch(cli, db):
    assert cli("ingest", EXPORT, "--db", db).exit_code == 0
    return db


def test_cutting_off_the_last_value_and_the_final_newline_is_refused(cli, with_batch, tmp_path):
    body = EXPORT.read_bytes().rstrip(b"\n")
    assert not body.endswith(b",")  # the last value is not empty in the sample
    export = write(tmp_path / "cut.csv", body[: body.rfind(b",") + 1])
    err = refuse(cli, with_batch, export, expect="the last record is cut short")
    assert f"cut.csv, line {LAST_LINE} (the last record, record ID 'SIR-0120')" in err
    assert "empty disposition_complete" in err and "export the data from REDCap again" in err


def test_a_last_record_with_values_missing_and_no_final_newline_is_refused(cli, with_batch, tmp_path):
    body = EXPORT.read_bytes().rstrip(b"\n")
    export = write(tmp_path / "short.csv", body[: body.rfind(b",")])
    err = refuse(cli, with_batch, export, expect="the last record is cut short: it has 110 of the header's 111 values")
    assert f"line {LAST_LINE}" in err


def test_a_file_ending_inside_a_quoted_value_is_refused_as_cut_short(cli, with_batch, tmp_path):
    data = EXPORT.read_bytes()
    export = write(tmp_path / "quote.csv", data[: data.rfind(REASON) + 5])
    err = refuse(cli, with_batch, export, expect="the file ends inside a quoted value (unterminated quote)")
    assert "quote.csv, line" in err


def test_a_tab_delimited_file_cut_after_its_last_delimiter_is_refused(cli, with_batch, tmp_path):
    lines = EXPORT.read_text().replace(",", "\t").rstrip("\n")  # the sample's values hold no commas but quoted ones
    lines = lines.replace('"Lack of efficacy"', "Lack of efficacy").replace('"Escalated to ECT"', "Escalated")
    export = write(tmp_path / "tab.csv", lines[: lines.rfind("\t") + 1].encode())
    refuse(cli, with_batch, export, expect="empty disposition_complete")


def test_a_complete_last_row_without_a_final_newline_is_read(cli, db, tmp_path):
    export = write(tmp_path / "no_newline.csv", EXPORT.read_bytes().rstrip(b"\n"))
    result = cli("ingest", export, "--db", db)
    assert result.exit_code == 0, result.stderr
    assert unaccounted(db, export) == []
    assert cli.json("status", "--db", db, "--json")["rows"] == LAST_LINE - 1


def test_a_last_row_without_a_newline_whose_last_form_is_blank_there_is_read(cli, db, tmp_path):
    """An empty last status is REDCap's blank for a row without that form: no line break does not make it cut."""
    lines = EXPORT.read_bytes().rstrip(b"\n").split(b"\n")
    row = next(line for line in lines if b",adverse_event," in line)
    assert row.endswith(b",")
    export = write(tmp_path / "ae_last.csv", b"\n".join([line for line in lines if line != row] + [row]))
    result = cli("ingest", export, "--db", db)
    assert result.exit_code == 0, result.stderr
    assert unaccounted(db, export) == []
