"""Bad input is refused with what, where and how to fix it, and the registry is left as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REDCAP, batches_and_schemas, refuse

R = REDCAP / "REDCapR"
LONG = R / "longitudinal"
LONG_ARGS = ["--dictionary", LONG / "dictionary.csv", "--events", LONG / "event.csv"]
SPARSE = R / "repeating-instruments-sparse"




@pytest.fixture
def registry_with_one_batch(cli, db):
    result = cli("ingest", SPARSE / "data.csv", "--dictionary", SPARSE / "dictionary.csv", "--db", db)
    assert result.exit_code == 0, result.stderr
    return db




def write(tmp_path: Path, text: str | bytes, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def long_lines() -> list[str]:
    return LONG.joinpath("data.csv").read_text().split("\n")


def test_an_empty_file_is_refused(cli, registry_with_one_batch, tmp_path):
    msg = refuse(cli, registry_with_one_batch, write(tmp_path, ""), *LONG_ARGS, expect="the export is empty")
    assert "export.csv" in msg


def test_a_binary_file_is_refused(cli, registry_with_one_batch, tmp_path):
    refuse(
        cli,
        registry_with_one_batch,
        write(tmp_path, b"\x00\x01\x02binary\x00" * 50),
        *LONG_ARGS,
        expect="binary",
    )


def test_an_excel_workbook_is_refused_with_the_export_to_use_instead(cli, registry_with_one_batch, tmp_path):
    msg = refuse(
        cli,
        registry_with_one_batch,
        write(tmp_path, b"PK\x03\x04" + b"x" * 100),
        *LONG_ARGS,
        expect="ZIP or Excel",
    )
    assert "CSV / Microsoft Excel (raw data)" in msg


def test_a_file_cut_inside_a_quoted_value_is_refused_with_its_line(cli, registry_with_one_batch, tmp_path):
    text = LONG.joinpath("data.csv").read_text()
    cut = text.index('"Is he staying') + 40
    msg = refuse(
        cli, registry_with_one_batch, write(tmp_path, text[:cut]), *LONG_ARGS, expect="unterminated quote"
    )
    assert "line 2" in msg


def test_a_short_last_row_is_refused_with_its_line(cli, registry_with_one_batch, tmp_path):
    lines = long_lines()
    last = lines[-2] if lines[-1] == "" else lines[-1]
    body = "\n".join(lines[:-2] if lines[-1] == "" else lines[:-1])
    short = ",".join(last.split(",")[:5])
    msg = refuse(
        cli,
        registry_with_one_batch,
        write(tmp_path, body + "\n" + short + "\n"),
        *LONG_ARGS,
        expect="values but the header has",
    )
    assert "line 19" in msg


def test_a_ragged_row_with_an_extra_value_is_refused(cli, registry_with_one_batch, tmp_path):
    lines = long_lines()
    lines[3] = lines[3] + ",extra"
    msg = refuse(
        cli,
        registry_with_one_batch,
        write(tmp_path, "\n".join(lines)),
        *LONG_ARGS,
        expect="ragged or truncated row",
    )
    assert "line 4" in msg


def test_a_header_without_the_record_id_field_is_refused(cli, registry_with_one_batch, tmp_path):
    text = LONG.joinpath("data.csv").read_text().replace("study_id,", "participant,", 1)
    refuse(
        cli,
        registry_with_one_batch,
        write(tmp_path, text),
        *LONG_ARGS,
        expect="the header has no record-ID column 'study_id'",
    )


def test_a_longitudinal_export_without_event_names_is_refused(cli, registry_with_one_batch, tmp_path):
    lines = [",".join(line.split(",")[:1] + line.split(",")[2:]) for line in long_lines()[:1]]
    text = "\n".join(lines + ["100," + ",".join([""] * (len(lines[0].split(",")) - 1))])
    refuse(
        cli,
        registry_with_one_batch,
        write(tmp_path, text),
        *LONG_ARGS,
        expect="the project is longitudinal but the header has no 'redcap_event_name' column",
    )


def test_columns_not_in_the_dictionary_are_refused_and_named(cli, registry_with_one_batch, tmp_path):
    lines = long_lines()
    lines[0] += ",shoe_size,favourite_colour"
    lines = [lines[0]] + [line + ",," for line in lines[1:] if line]
    path = write(tmp_path, "\n".join(lines) + "\n")
    msg = refuse(
        cli, registry_with_one_batch, path, *LONG_ARGS, expect="2 column(s) are not in the data dictionary"
    )
    assert "shoe_size, favourite_colour" in msg and "--ignore-extra" in msg
    ok = cli("ingest", path, "--db", registry_with_one_batch, *LONG_ARGS, "--ignore-extra")
    assert ok.exit_code == 0, ok.stderr
    assert len(batches_and_schemas(registry_with_one_batch)[0]) == 2


def test_event_names_not_in_the_project_are_refused(cli, registry_with_one_batch, tmp_path):
    text = LONG.joinpath("data.csv").read_text().replace("visit_2_arm_1", "visit_9_arm_1")
    msg = refuse(
        cli,
        registry_with_one_batch,
        write(tmp_path, text),
        *LONG_ARGS,
        expect="event names not in the project: 'visit_9_arm_1'",
    )
    assert "--events" in msg


def test_a_non_integer_repeat_instance_is_refused_with_record_and_row(cli, registry_with_one_batch, tmp_path):
    lines = SPARSE.joinpath("data.csv").read_text().split("\n")
    row = next(i for i, line in enumerate(lines) if ",bp,2," in line)
    lines[row] = lines[row].replace(",bp,2,", ",bp,2a,")
    msg = refuse(
        cli,
        registry_with_one_batch,
        write(tmp_path, "\n".join(lines)),
        "--dictionary",
        SPARSE / "dictionary.csv",
        expect="repeat instance '2a' is not a whole number",
    )
    assert f"data row {row}" in msg and "redcap_repeat_instance" in msg


def test_two_rows_with_the_same_key_are_refused(cli, registry_with_one_batch, tmp_path):
    lines = long_lines()
    lines.insert(3, lines[2])
    msg = refuse(
        cli,
        registry_with_one_batch,
        write(tmp_path, "\n".join(lines)),
        *LONG_ARGS,
        expect="two rows have the same key (record 100, event dose_1_arm_1)",
    )
    assert "data rows 2, 3" in msg


def test_undecodable_bytes_are_refused_with_the_encoding_option_to_pass(
    cli, registry_with_one_batch, tmp_path
):
    text = LONG.joinpath("data.csv").read_text().replace("Zharko", "Zhárko").encode("latin-1")
    path = write(tmp_path, text)
    msg = refuse(cli, registry_with_one_batch, path, *LONG_ARGS, expect="not UTF-8")
    assert "--encoding" in msg and "line 2" in msg
    ok = cli("ingest", path, "--db", registry_with_one_batch, *LONG_ARGS, "--encoding", "latin-1")
    assert ok.exit_code == 0, ok.stderr


def test_an_export_that_is_not_there_is_refused(cli, registry_with_one_batch, tmp_path):
    refuse(cli, registry_with_one_batch, tmp_path / "nope.csv", *LONG_ARGS, expect="no such file")
