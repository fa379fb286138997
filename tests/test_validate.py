"""`registry validate`: the gate on the sample exports, findings across batches, bad suites, PHI."""

from __future__ import annotations

import json
import shutil

import pytest
from gate_registry import CHECKS, SAMPLE, cell, edit_export, registry_copy

from registry import store
from registry.checks.gate import run_gate
from registry.errors import ChecksError

FINDING_KEYS = {"record_id", "event", "instance", "field", "rule", "severity", "status", "query_id", "site", "value",
                "query"}


def validate_json(cli, db, *extra):
    result = cli("validate", "--db", db, "--json", *extra)
    assert result.exit_code in {0, 1}, result.stderr
    return result, json.loads(result.stdout)


def test_every_planted_problem_of_the_dirty_export_is_reported_with_its_record_and_field(cli, tmp_path):
    db = registry_copy(tmp_path, "dirty_export.csv")
    result, out = validate_json(cli, db)
    assert result.exit_code == 1 and out["passed"] is False
    errors = {(f["record_id"], f["event"], f["instance"], f["field"]) for f in out["findings"]
              if f["severity"] == "error"}
    manifest = json.loads((SAMPLE / "dirty_export_manifest.json").read_text())
    missed = [m for m in manifest if (m["record_id"], m["event"], m["instance"], m["field"]) not in errors]
    assert missed == []


def test_the_label_export_of_the_clean_sample_passes_too(cli, tmp_path):
    db = registry_copy(tmp_path, "sample_export_labels.csv")
    result, out = validate_json(cli, db)
    assert result.exit_code == 0 and out["passed"] is True


def test_missing_data_codes_are_reported_as_warnings_and_failed_casts_as_errors(cli, tmp_path):
    export = edit_export("sample_export.csv", tmp_path / "codes.csv", {
        ("SIR-0001", "baseline_arm_1"): {"dem_tx_failures": "UNK"},
        ("SIR-0002", "baseline_arm_1"): {"dem_tx_failures": "three"},
    })
    db = registry_copy(tmp_path, export)
    result, out = validate_json(cli, db)
    found = {(f["record_id"], f["field"], f["rule"], f["severity"]) for f in out["findings"]
             if f["rule"] in {"C", "I"}}
    assert found == {("SIR-0001", "dem_tx_failures", "I", "warning"),
                     ("SIR-0002", "dem_tx_failures", "C", "error")}
    assert result.exit_code == 1 and "three" not in result.stdout


def test_the_clean_sample_passes_with_warnings_only(cli, tmp_path):
    db = registry_copy(tmp_path, "sample_export.csv")
    result, out = validate_json(cli, db)
    assert result.exit_code == 0 and out["passed"] is True
    assert {f["severity"] for f in out["findings"]} == {"warning"}
    assert {f["rule"] for f in out["findings"]} <= {"E", "I", "P4", "P7", "LOGIC"}


def test_validate_json_is_one_object_with_one_finding_per_record_field_and_rule(cli, tmp_path):
    db = registry_copy(tmp_path, "dirty_export.csv")
    _, out = validate_json(cli, db)
    assert set(out) == {"passed", "findings", "resolved"}
    assert all(set(f) == FINDING_KEYS for f in out["findings"])
    keys = [(f["record_id"], f["event"], f["instance"], f["field"], f["rule"]) for f in out["findings"]]
    assert len(keys) == len(set(keys))
    first_warning = next(i for i, f in enumerate(out["findings"]) if f["severity"] == "warning")
    assert all(f["severity"] == "error" for f in out["findings"][:first_warning])
    hidden = [f for f in out["findings"] if f["record_id"] == "SIR-0002" and f["field"] == "relapse_date"]
    assert [{k: f[k] for k in FINDING_KEYS - {"query_id", "query"}} for f in hidden] == [
        {"record_id": "SIR-0002", "event": "study_end_arm_1", "instance": None, "field": "relapse_date", "rule": "F",
         "severity": "error", "status": "new", "site": "valley_clinic", "value": "52"}]


def test_findings_and_the_run_are_stored_for_the_batch(cli, tmp_path):
    db = registry_copy(tmp_path, "dirty_export.csv")
    _, out = validate_json(cli, db)
    con = store.connect(db, read_only=True)
    stored = con.execute("select count(*), count(distinct batch_id) from registry.findings").fetchone()
    run = con.execute("select batch_id, passed, n_errors, n_warnings from registry.validation_runs")
    run = run.fetchall()
    con.close()
    n_errors = sum(f["severity"] == "error" for f in out["findings"])
    assert stored == (len(out["findings"]), 1)
    assert run == [(1, False, n_errors, len(out["findings"]) - n_errors)]


def test_running_validate_again_replaces_the_batch_findings_and_adds_a_run(cli, tmp_path):
    db = registry_copy(tmp_path, "dirty_export.csv")
    _, first = validate_json(cli, db)
    _, second = validate_json(cli, db)
    assert first == second
    con = store.connect(db, read_only=True)
    assert con.execute("select count(*) from registry.findings").fetchone()[0] == len(first["findings"])
    assert con.execute("select count(*) from registry.validation_runs").fetchone()[0] == 2


def test_findings_of_the_next_batch_are_open_when_still_there_and_resolved_when_fixed(cli, tmp_path):
    fixed = edit_export("dirty_export.csv", tmp_path / "fixed.csv", {
        ("SIR-0019", "baseline_arm_1"): {"dem_age": "40"},   # age 17 fixed
        ("SIR-0003", "baseline_arm_1"): {"dem_sex": "2"},    # invalid code fixed
        ("SIR-0001", "baseline_arm_1"): {"dem_age": "16"},   # a new problem
    })
    db = registry_copy(tmp_path, "dirty_export.csv")
    _, before = validate_json(cli, db)
    con = store.connect(db)
    from registry.ingest import ingest
    from registry.redcap.project import load_default_project

    con.close()
    ingest(fixed, load_default_project(), db)
    _, after = validate_json(cli, db)
    status = {(f["record_id"], f["field"], f["rule"]): f["status"] for f in after["findings"]}
    assert status[("SIR-0001", "dem_age", "P6")] == "new"
    assert status[("SIR-0007", "madrs_1", "G")] == "open"
    resolved = {(f["record_id"], f["field"], f["rule"]) for f in after["resolved"]}
    fixed_ones = {("SIR-0019", "dem_age", "D"), ("SIR-0019", "dem_age", "P6"), ("SIR-0003", "dem_sex", "G")}
    assert fixed_ones <= resolved
    assert all(f["status"] == "resolved" and set(f) == FINDING_KEYS for f in after["resolved"])
    assert len(after["findings"]) == len(before["findings"]) - len(after["resolved"]) + sum(
        f["status"] == "new" for f in after["findings"])


def test_the_summary_table_and_the_html_report_name_fields_but_show_no_values(cli, tmp_path):
    db = registry_copy(tmp_path, "dirty_export.csv")
    result = cli("validate", "--db", db)
    assert result.exit_code == 1
    assert "not passed" in result.stdout and "P3" in result.stdout
    report = (tmp_path / "reports" / "registry" / "batch_1" / "data_quality.html").read_text()
    assert "SIR-0059" in report and "dem_esk_start_date" in report
    assert "not a date" not in report and "not a date" not in result.stdout  # the cast failure's raw value
    custom = tmp_path / "dq.html"
    assert cli("validate", "--db", db, "--html", custom).exit_code == 1 and custom.exists()


def checks_copy(tmp_path):
    target = tmp_path / "checks"
    shutil.copytree(CHECKS, target)
    return target


def edit_suite(path, change):
    suite = json.loads(path.read_text())
    change(suite)
    path.write_text(json.dumps(suite))


BAD_SUITES = {
    "malformed JSON": lambda d: (d / "madrs.json").write_text("{ not json"),
    "not a suite": lambda d: (d / "notes.json").write_text('{"hello": 1}'),
    "unknown expectation type": lambda d: edit_suite(
        d / "madrs.json", lambda s: s["expectations"][1].update(type="expect_column_to_be_magic")),
    "expectation naming a missing column": lambda d: edit_suite(
        d / "protocol" / "madrs.json", lambda s: s["expectations"][0]["kwargs"].update(column="madrs_11")),
    "stale dictionary": lambda d: edit_suite(
        d / "phq9.json", lambda s: s["meta"].update(dictionary_sha256="0" * 64)),
    "missing SQL file": lambda d: (d / "sql" / "madrs_total.sql").unlink(),
    "meta without severity": lambda d: edit_suite(
        d / "hamd.json", lambda s: s["expectations"][2]["meta"].pop("severity")),
    "unknown table": lambda d: edit_suite(
        d / "protocol" / "hamd.json", lambda s: s["meta"].update(table="hamd_x")),
    "a brace in the SQL": lambda d: (d / "sql" / "relapse_dates.sql").write_text(
        "select record_id, redcap_event_name, redcap_repeat_instance, '{x}' as field from {batch}"),
    "a value of the wrong type": lambda d: edit_suite(
        d / "protocol" / "demographics.json",
        lambda s: s["expectations"][0]["kwargs"].update(min_value="old")),
    "SQL naming {field} with no field in the meta": lambda d: edit_suite(
        d / "protocol" / "madrs.json",
        lambda s: next(e for e in s["expectations"]
                       if e["kwargs"].get("unexpected_rows_query") == "@sql/visit_dates.sql")["meta"].pop("field")),
    "SQL that does not bind": lambda d: (d / "sql" / "relapse_dates.sql").write_text(
        "select record_id, redcap_event_name, redcap_repeat_instance, 'x' as field "
        "from {batch} where nope > 1"),
}


@pytest.mark.parametrize("problem", sorted(BAD_SUITES))
def test_a_bad_suite_is_refused_naming_the_file_and_the_fix(cli, tmp_path, problem):
    checks = checks_copy(tmp_path)
    BAD_SUITES[problem](checks)
    db = registry_copy(tmp_path, "sample_export.csv")
    con = store.connect(db)
    try:
        with pytest.raises(ChecksError) as err:
            run_gate(con, checks)
    finally:
        con.close()
    assert str(checks) in err.value.where and err.value.fix
    result = cli("validate", "--db", db, "--checks", checks)
    assert result.exit_code == 2 and "error:" in result.stderr and "fix:" in result.stderr
    if problem == "stale dictionary":
        assert "registry checks build" in result.stderr


def test_a_free_text_email_or_phone_refuses_the_ingest_without_printing_it(cli, tmp_path):
    db = tmp_path / "registry.duckdb"
    result = cli("ingest", SAMPLE / "phi_export.csv", "--db", db)
    assert result.exit_code != 0
    manifest = json.loads((SAMPLE / "phi_export_manifest.json").read_text())
    for m in manifest:
        value = cell("phi_export.csv", m["record_id"], m["event"], m["instance"], m["field"])
        assert value not in result.stdout + result.stderr
        assert f"record {m['record_id']}" in result.stderr and m["kind"] in result.stderr
    if db.exists():
        con = store.connect(db, read_only=True)
        tables = {r[0] for r in con.execute("select schema_name from duckdb_schemas()").fetchall()}
        assert not any(t.startswith("batch_") for t in tables)
        con.close()


def test_redact_stores_none_of_the_identifiers(cli, tmp_path):
    db = tmp_path / "registry.duckdb"
    result = cli("ingest", SAMPLE / "phi_export.csv", "--db", db, "--redact")
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((SAMPLE / "phi_export_manifest.json").read_text())
    values = [cell("phi_export.csv", m["record_id"], m["event"], m["instance"], m["field"]) for m in manifest]
    assert not (tmp_path / "registry.duckdb.wal").exists()
    data = db.read_bytes()
    for value in values:
        assert value.encode() not in data
        assert value not in result.stdout + result.stderr
    con = store.connect(db, read_only=True)
    stored = con.execute("select disp_reason from main.disposition where disp_reason like '[REDACTED:%'")
    stored = stored.fetchall()
    redacted = json.loads(con.execute("select redacted from registry.batches").fetchone()[0])
    con.close()
    assert sorted(r[0] for r in stored) == ["[REDACTED:email]", "[REDACTED:phone]", "[REDACTED:ssn]"]
    assert sorted((r["record_id"], r["kind"]) for r in redacted) == sorted(
        (m["record_id"], m["kind"]) for m in manifest)


def test_a_gate_run_reads_its_findings_from_the_connection_and_only_its_own(tmp_path):
    db = registry_copy(tmp_path, "dirty_export.csv")
    con = store.connect(db)
    try:
        first = run_gate(con, CHECKS)
        stored = con.execute("select count(*) from registry.findings where batch_id = $b",
                             {"b": first.batch_id}).fetchone()[0]
        assert len(first.findings) == first.n_findings == stored > 0
        assert first.n_errors == sum(f["severity"] == "error" and f["status"] != "confirmed" for f in first.findings)
        unread = run_gate(con, CHECKS, store=False)
        run_gate(con, CHECKS, store=False)
        assert len(first.findings) == stored  # read before the later runs: kept
        with pytest.raises(RuntimeError, match="read them before"):
            unread.findings  # noqa: B018 - a later run on the connection replaced them
    finally:
        con.close()
