"""Keys and numbers from the user's side: instances are numbers (00001 is 1; 0 and >= 2^31 refused),
record IDs trimmed and refused when they collide, numbers beyond a field's type are failed casts,
and NUL bytes anywhere in the file are refused."""

from __future__ import annotations

import csv
import io

import duckdb
import pytest
from conftest import SAMPLE, refuse

EXPORT = SAMPLE / "sample_export.csv"


def edited(tmp_path, edit, name="export.csv"):
    """The sample export with ``edit(header, rows)`` applied."""
    header, *body = list(csv.reader(EXPORT.open(newline="")))
    edit(header, body)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *body])
    path = tmp_path / name
    path.write_text(out.getvalue())
    return path


def first_repeating(header, rows):
    i = header.index("redcap_repeat_instance")
    return next(r for r in rows if r[i]), i


@pytest.fixture
def registry(cli, db):
    assert cli("ingest", EXPORT, "--db", db).exit_code == 0
    return db


@pytest.mark.parametrize(("value", "expect"), [("0", "out of range"), ("2147483648", "out of range"),
                                               ("99999999999999999999999", "out of range")])
def test_instances_outside_1_to_2_31_are_refused(cli, registry, tmp_path, value, expect):
    def edit(header, rows):
        row, i = first_repeating(header, rows)
        row[i] = value
    message = refuse(cli, registry, edited(tmp_path, edit), expect=expect)
    assert "redcap_repeat_instance" in message and "Traceback" not in message


def test_an_instance_written_00001_is_instance_1_and_collides_with_it(cli, registry, tmp_path):
    def edit(header, rows):
        row, i = first_repeating(header, rows)
        rows.append([*row[:i], "0000" + row[i], *row[i + 1:]])
    refuse(cli, registry, edited(tmp_path, edit), expect="two rows have the same key")


def test_record_ids_that_differ_only_by_spaces_are_refused_and_surrounding_spaces_trimmed(cli, registry, tmp_path):
    def collide(header, rows):
        rows[0][0] = "SIR-0001\u200b"  # only SIR-0001's first row: two spellings of one record
    refuse(cli, registry, edited(tmp_path, collide), expect="differ only by spaces or zero-width")

    def padded(header, rows):
        for r in rows:
            if r[0] == "SIR-0002":
                r[0] = "  SIR-0002 "
    result = cli("ingest", edited(tmp_path, padded, "padded.csv"), "--db", registry)
    assert result.exit_code == 0, result.stderr
    con = duckdb.connect(str(registry), read_only=True)
    ids = {r[0] for r in con.execute("select record_id from batch_2._records").fetchall()}
    con.close()
    assert "SIR-0002" in ids and len(ids) == 120


@pytest.mark.parametrize(("field", "value"), [("dem_tx_failures", "99999999999999999999"), ("madrs_1", "1e309"),
                                              ("demographics_complete", "18446744073709551616")])
def test_numbers_beyond_the_fields_type_are_failed_casts(cli, registry, tmp_path, field, value):
    def edit(header, rows):
        i = header.index(field)
        next(r for r in rows if r[i])[i] = value
    result = cli("ingest", edited(tmp_path, edit), "--db", registry)
    assert result.exit_code == 0, result.stderr
    assert "1 value(s) did not fit their field type" in result.stdout
    con = duckdb.connect(str(registry), read_only=True)
    failed = con.execute("select count(*) from batch_2._cast_failures").fetchone()[0]
    con.close()
    assert failed == 1


def test_nul_bytes_after_the_first_64_kib_are_refused(cli, registry, tmp_path):
    data = bytearray(EXPORT.read_bytes())
    assert len(data) > 100_000
    data[90_000] = 0
    path = tmp_path / "nul.csv"
    path.write_bytes(bytes(data))
    message = refuse(cli, registry, path, expect="binary (it contains NUL bytes, the first at byte 90000)")
    assert "nul.csv" in message
