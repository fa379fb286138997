"""A data manager's month: what really changed between two exports, and a shrinking export refused."""

from __future__ import annotations

import csv
import json

from gate_registry import SAMPLE

from registry import store

EXPORT = SAMPLE / "sample_export.csv"


def rows_of(path):
    with path.open(newline="") as f:
        return list(csv.reader(f))


def write(path, rows):
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def with_new_records(tmp_path, n: int):
    """The sample export plus ``n`` copies of its first record under new IDs (new patients this month)."""
    rows = rows_of(EXPORT)
    first = [r for r in rows[1:] if r[0] == rows[1][0]]
    extra = [[f"NEW-{i:03d}", *r[1:]] for i in range(n) for r in first]
    return write(tmp_path / f"plus_{n}.csv", rows + extra)


def without_records(tmp_path, ids: set[str], name="fewer.csv"):
    rows = rows_of(EXPORT)
    return write(tmp_path / name, [rows[0]] + [r for r in rows[1:] if r[0] not in ids])


def test_ten_new_patients_are_ten_records_added_and_no_value_changed(cli, db, tmp_path):
    assert cli("ingest", EXPORT, "--db", db).exit_code == 0
    assert cli("ingest", with_new_records(tmp_path, 10), "--db", db).exit_code == 0
    out = cli.json("diff", "--db", db, "--json")
    assert out["counts"] == {"records_added": 10, "records_removed": 0, "values_changed": 0}
    assert out["records_added"] == [f"NEW-{i:03d}" for i in range(10)] and out["values_changed"] == []


def test_the_terminal_shows_exact_counts_first_then_50_lines_per_part(cli, db, tmp_path):
    assert cli("ingest", EXPORT, "--db", db).exit_code == 0
    assert cli("ingest", with_new_records(tmp_path, 60), "--db", db).exit_code == 0
    text = cli("diff", "--db", db).stdout.splitlines()
    assert text[0] == ("batch 1 -> batch 2: 60 records added, 0 records removed, 0 values changed in records both "
                       "batches hold")
    assert text[1] == "records added (60):"
    assert text[2:52] == [f"  NEW-{i:03d}" for i in range(50)]
    assert text[52] == "  ... 10 more (use --all or --json)"
    every = cli("diff", "--db", db, "--all").stdout.splitlines()
    assert len([ln for ln in every if ln.startswith("  NEW-")]) == 60


def test_a_few_missing_records_are_named_in_a_warning_and_the_batch_is_stored(cli, db, tmp_path):
    assert cli("ingest", EXPORT, "--db", db).exit_code == 0
    gone = {"SIR-0001", "SIR-0002"}
    result = cli("ingest", without_records(tmp_path, gone), "--db", db)
    assert result.exit_code == 0, result.stderr
    assert "warning: 2 of the 120 records of batch 1 (2%) are not in this export: SIR-0001, SIR-0002" in result.stderr
    diff = cli.json("diff", "--db", db, "--json")
    assert diff["counts"]["records_removed"] == 2 and diff["counts"]["values_changed"] == 0


def test_an_export_missing_more_than_a_tenth_of_the_records_is_refused_and_nothing_is_written(cli, db, tmp_path):
    assert cli("ingest", EXPORT, "--db", db).exit_code == 0
    ids = sorted({r[0] for r in rows_of(EXPORT)[1:]})
    half = without_records(tmp_path, set(ids[60:]), "half.csv")
    result = cli("ingest", half, "--db", db)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "60 of the 120 records of batch 1 (50%) are not in this export: " + ", ".join(ids[60:70]) in result.stderr
    assert "--allow-missing-records" in result.stderr
    assert [h["batch_id"] for h in cli.json("history", "--db", db, "--json")] == [1]
    con = store.connect(db, read_only=True)
    try:
        assert con.execute("select count(*) from information_schema.schemata where schema_name = 'batch_2'"
                           ).fetchone()[0] == 0
    finally:
        con.close()
    allowed = cli("ingest", half, "--db", db, "--allow-missing-records")
    assert allowed.exit_code == 0, allowed.stderr
    assert json.loads(cli("status", "--db", db, "--json").stdout)["records"] == 60
