"""Batches: re-ingest is a no-op, new exports become current, history and diff, atomicity, one writer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLE

from registry import store

EXPORT = SAMPLE / "sample_export.csv"
LABELS = SAMPLE / "sample_export_labels.csv"
REGISTRY = [sys.executable, "-m", "registry.cli"]


def batch_ids(db: Path) -> list[int]:
    con = store.connect(db, read_only=True)
    ids = [r[0] for r in con.execute("select batch_id from registry.batches order by 1").fetchall()]
    con.close()
    return ids


def edited_export(tmp_path: Path) -> Path:
    """The sample with one value changed, one record removed and one record added."""
    lines = EXPORT.read_text().split("\n")
    header = lines[0].split(",")
    age = header.index("dem_age")
    out = [lines[0]]
    for line in lines[1:]:
        if line.startswith("SIR-0002,"):
            continue
        if line.startswith("SIR-0001,baseline_arm_1,,"):
            cells = line.split(",")
            cells[age] = "77"
            line = ",".join(cells)
        out.append(line)
    extra = [line.replace("SIR-0003,", "SIR-9999,", 1) for line in lines[1:] if line.startswith("SIR-0003,")]
    path = tmp_path / "export_2.csv"
    path.write_text("\n".join(out[:-1] + extra + [""]) if out[-1] == "" else "\n".join(out + extra) + "\n")
    return path


def test_re_ingesting_the_same_file_changes_nothing_and_says_so(cli, db):
    assert cli("ingest", EXPORT, "--db", db).exit_code == 0
    again = cli("ingest", EXPORT, "--db", db)
    assert again.exit_code == 0
    assert "already in the registry as batch 1: nothing changed" in again.stdout
    assert batch_ids(db) == [1]


def test_a_new_export_becomes_current_and_earlier_batches_stay_queryable(cli, db, tmp_path):
    cli("ingest", EXPORT, "--db", db)
    result = cli("ingest", edited_export(tmp_path), "--db", db)
    assert result.exit_code == 0, result.stderr
    status = cli.json("status", "--db", db, "--json")
    assert status["batch_id"] == 2
    assert status["records"] == 120  # one removed, one added
    con = store.connect(db, read_only=True)
    old_age = con.execute("select dem_age from batch_1.demographics where record_id = 'SIR-0001'").fetchall()
    new_age = con.execute("select dem_age from demographics where record_id = 'SIR-0001'").fetchall()
    assert old_age != new_age == [(77,)]
    history = cli.json("history", "--db", db, "--json")
    assert [(h["batch_id"], h["current"]) for h in history] == [(1, False), (2, True)]


def test_diff_lists_records_added_and_removed_and_values_changed(cli, db, tmp_path):
    cli("ingest", EXPORT, "--db", db)
    cli("ingest", edited_export(tmp_path), "--db", db)
    diff = cli.json("diff", "1", "2", "--db", db, "--json")
    assert diff["records_added"] == ["SIR-9999"]
    assert diff["records_removed"] == ["SIR-0002"]
    ages = [c for c in diff["values_changed"] if c["field"] == "dem_age" and c["record_id"] == "SIR-0001"]
    assert len(ages) == 1
    assert ages[0]["event"] == "baseline_arm_1" and ages[0]["new"] == "77" and ages[0]["old"] != "77"
    assert ages[0]["instance"] is None
    changed_records = {c["record_id"] for c in diff["values_changed"]}
    assert changed_records == {"SIR-0001"}  # an added or removed record's values are not "changes"
    assert diff["counts"] == {"records_added": 1, "records_removed": 1, "values_changed": len(diff["values_changed"])}
    default = cli.json("diff", "--db", db, "--json")
    assert default == diff


def test_raw_and_label_exports_load_to_the_same_registry_content(cli, tmp_path):
    raw_db, label_db = tmp_path / "raw.duckdb", tmp_path / "label.duckdb"
    assert cli("ingest", EXPORT, "--db", raw_db).exit_code == 0
    result = cli("ingest", LABELS, "--db", label_db)
    assert result.exit_code == 0, result.stderr
    assert "label export" in result.stdout
    import duckdb

    con = duckdb.connect()
    con.execute("attach $p as a (read_only)", {"p": str(raw_db)})
    con.execute("attach $p as b (read_only)", {"p": str(label_db)})
    tables = [r[0] for r in con.execute(
        "select table_name from duckdb_tables() where database_name = 'a' and schema_name = 'batch_1'").fetchall()]
    assert "madrs" in tables and "esketamine_session" in tables
    for t in tables:
        if t == "_dictionary":
            continue
        for x, y in (("a", "b"), ("b", "a")):
            extra = con.execute(
                f'select count(*) from (select * from {x}.batch_1."{t}" except all select * from {y}.batch_1."{t}")'
            ).fetchone()[0]
            assert extra == 0, f"{t}: {extra} rows of {x} not in {y}"


def test_dates_become_study_days_and_no_calendar_date_is_stored(cli, db):
    cli("ingest", EXPORT, "--db", db)
    con = store.connect(db, read_only=True)
    assert con.execute("select distinct dem_index_date from demographics").fetchall() == [(0,)]
    date_columns = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where data_type in ('DATE', 'TIMESTAMP') and table_schema like 'batch_%'"
    ).fetchall()
    assert date_columns == []
    assert con.execute("select min(esk_date) < 0, max(esk_date) > 100 from esketamine_session").fetchall() == [
        (True, True)]


def wait_for(proc: subprocess.Popen, text: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if text in line:
            return
        if proc.poll() is not None:
            raise AssertionError(f"process ended before '{text}': {proc.stderr.read()}")
    raise AssertionError(f"'{text}' not seen")


def paused_ingest(db: Path, export: Path) -> subprocess.Popen:
    env = dict(os.environ, REGISTRY_TEST_PAUSE_BEFORE_COMMIT="60")
    proc = subprocess.Popen(REGISTRY + ["ingest", str(export), "--db", str(db)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(proc, "paused before commit")
    return proc


def test_an_ingest_killed_before_commit_leaves_the_registry_exactly_as_before(cli, db, tmp_path):
    cli("ingest", EXPORT, "--db", db)
    before = cli.json("status", "--db", db, "--json")
    proc = paused_ingest(db, edited_export(tmp_path))  # everything written, nothing committed
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert cli.json("status", "--db", db, "--json") == before
    con = store.connect(db, read_only=True)
    schemas = [r[0] for r in con.execute(
        "select schema_name from duckdb_schemas() where schema_name like 'batch_%'").fetchall()]
    con.close()
    assert schemas == ["batch_1"]
    again = cli("ingest", edited_export(tmp_path), "--db", db)  # and the registry still takes new batches
    assert again.exit_code == 0, again.stderr
    assert batch_ids(db) == [1, 2]


@pytest.mark.parametrize("delay", [0.3, 0.8, 1.5])
def test_an_ingest_killed_at_any_moment_leaves_a_usable_registry(cli, db, tmp_path, delay):
    cli("ingest", EXPORT, "--db", db)
    proc = subprocess.Popen(REGISTRY + ["ingest", str(edited_export(tmp_path)), "--db", str(db)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    ids = batch_ids(db)
    assert ids in ([1], [1, 2])
    status = cli.json("status", "--db", db, "--json")
    assert status["batch_id"] == ids[-1] and status["records"] == 120


def test_a_second_ingest_while_one_runs_refuses_with_a_clear_message(db, tmp_path, cli):
    cli("ingest", EXPORT, "--db", db)
    first = paused_ingest(db, edited_export(tmp_path))
    try:
        second = subprocess.run(REGISTRY + ["ingest", str(LABELS), "--db", str(db), "--wait", "1"], cwd=ROOT,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 3
        assert "the registry is in use by another process" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert batch_ids(db) == [1]
