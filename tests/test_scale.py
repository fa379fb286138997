"""What lets the toolkit run a 200,000-patient registry on a small machine (issue 13), checked
at small scale (the timings and peak memory themselves are in ``bench/bench_scale.py``):

- a clean export is generated record by record, byte for byte the export built in memory;
- registry connections carry a DuckDB memory limit and a spill folder beside the registry;
- validate and analyze report their steps to a progress callback, and print nothing extra
  when stderr is not a terminal (``--json`` output stays one JSON object);
- results.json is written by the C encoder, indented on its first two levels, and reads back
  exactly.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from registry import store
from registry.analysis.run import STEPS
from registry.checks.gate import run_gate
from registry.outputs import write_json
from registry.workflow import analyze
from sample_data.generate import generate_export

ROOT = Path(__file__).resolve().parents[1]
EXPORT = ROOT / "sample_data" / "sample_export.csv"


def test_streamed_export_is_the_export_built_in_memory(tmp_path):
    out = tmp_path / "export.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "sample_data.generate", "--patients", "40", "--seed", "3", "--out", out],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )
    assert out.read_text(encoding="utf-8") == generate_export(patients=40, seed=3)
    rows = len(out.read_text(encoding="utf-8").splitlines()) - 1
    assert f"40 records, {rows} rows" in proc.stderr


def test_connections_have_a_memory_limit_and_a_spill_folder(tmp_path):
    con = store.connect(tmp_path / "registry.duckdb")
    try:
        limit, temp = con.execute(
            "select current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchone()
    finally:
        con.close()
    assert limit.endswith(("GiB", "MiB", "GB", "MB")) and float(limit.split()[0]) < 2
    assert temp == str(tmp_path / "registry.duckdb.tmp")


def test_tables_are_written_in_row_groups_of_the_registry_s_size(tmp_path):
    """A table of 40,000 rows is stored as 3 row groups (16,384 rows each at most), not DuckDB's one of
    122,880: instrument tables are then written to the file while they are made, not all at the commit."""
    con = store.connect(tmp_path / "registry.duckdb")
    try:
        con.execute("create table t as select range as i, range::varchar as s from range(40000)")
        groups = con.execute("select count(distinct row_group_id) from pragma_storage_info('t')").fetchone()[0]
    finally:
        con.close()
    assert store.ROW_GROUP_SIZE == 16_384
    assert groups == 3


def test_validate_and_analyze_report_progress(cli, db, tmp_path):
    assert cli("ingest", EXPORT, "--db", db).exit_code == 0
    steps: list[str] = []
    con = store.connect(db)
    try:
        run_gate(con, ROOT / "checks", progress=steps.append)
    finally:
        con.close()
    assert steps == ["checks run", "findings", "stored"]
    steps.clear()
    analyze(db, None, tmp_path / "out", override_reason="test", progress=steps.append)
    assert len(steps) == STEPS + 1 and steps[-2:] == ["results.json written", "report written"]


def test_json_output_has_no_progress_noise(cli, db):
    assert cli("ingest", EXPORT, "--db", db).exit_code == 0
    result = cli("validate", "--db", db, "--json")
    assert json.loads(result.stdout)["passed"] in (True, False)
    assert "━" not in result.stderr and "validating" not in result.stderr


def test_results_json_layout(tmp_path):
    obj = {"a": 1, "b": {"rows": [{"x": 1.5, "y": None}, {"x": 2, "y": "z"}], "c": {"d": [1, 2]}}, "e": []}
    path = write_json(tmp_path / "r.json", obj, allow_nan=False)
    text = path.read_text()
    assert json.loads(text) == obj
    assert text.splitlines()[:4] == ['{', '  "a": 1,', '  "b": {', '    "rows": [']
    assert '      {"x": 1.5, "y": null},' in text.splitlines()
