"""Data queries from the user's side: validate --json, queries export / import / list, across batches."""

from __future__ import annotations

import csv
import json

import pytest
from gate_registry import SAMPLE, edit_export, registry_copy
from openpyxl import load_workbook

from registry import store
from registry.queries.state import COLUMNS


def validate(cli, db):
    result = cli("validate", "--db", db, "--json")
    assert result.exit_code in {0, 1}, result.stderr
    return result.exit_code, json.loads(result.stdout)


def find(findings, record, field, rule):
    hits = [f for f in findings if (f["record_id"], f["field"], f["rule"]) == (record, field, rule)]
    assert len(hits) == 1, (record, field, rule, hits)
    return hits[0]


def queries(cli, db, *extra):
    return {q["query_id"]: q for q in cli.json("queries", "list", "--db", db, "--json", *extra)}


def fill_sheet(path, answers: dict[str, tuple[str, str]]):
    """Fill a queries sheet as a site coordinator would: query_id -> (response, note)."""
    book = load_workbook(path)
    sheet = book.active
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        qid = row[header.index("query_id")].value
        if qid in answers:
            row[header.index("response")].value, row[header.index("response_note")].value = answers[qid]
    book.save(path)


def responses(db):
    con = store.connect(db, read_only=True)
    try:
        return con.execute("select count(*) from registry.query_responses").fetchone()[0]
    finally:
        con.close()


def test_every_finding_carries_a_query_id_site_value_and_a_sentence_for_the_site(cli, tmp_path):
    db = registry_copy(tmp_path, "dirty_export.csv")
    _, out = validate(cli, db)
    sex = find(out["findings"], "SIR-0003", "dem_sex", "G")
    assert sex["site"] == "north_clinic" and sex["value"] == "7" and sex["status"] == "new"
    assert sex["query"] == ("Sex 7 at Baseline is not one of the field's codes (1, 2, 3, 99): check the source "
                            "document, then correct it in REDCap or confirm it")
    age = find(out["findings"], "SIR-0019", "dem_age", "D")
    assert age["query"].startswith("Age at index (years) 17 at Baseline is below the minimum 18:")
    assert all(f["query_id"].startswith("Q") and f["query"] for f in out["findings"])
    assert len({f["query_id"] for f in out["findings"]}) == len(out["findings"])


def test_free_text_values_are_never_in_a_finding(cli, tmp_path):
    from registry.redcap.project import load_default_project

    free_text = {f.name for f in load_default_project().dictionary.fields if f.is_free_text}
    db = registry_copy(tmp_path, "dirty_export.csv")
    _, out = validate(cli, db)
    on_text = [f for f in out["findings"] if f["field"] in free_text]
    assert all(f["value"] is None for f in on_text)


def test_the_query_id_is_the_same_for_the_same_finding_in_the_next_batch(cli, tmp_path):
    db = registry_copy(tmp_path, "dirty_export.csv")
    _, first = validate(cli, db)
    changed = edit_export("dirty_export.csv", tmp_path / "month2.csv",
                          {("SIR-0001", "baseline_arm_1"): {"dem_age": "44"}})
    assert cli("ingest", changed, "--db", db).exit_code == 0
    _, second = validate(cli, db)
    before = {(f["record_id"], f["field"], f["rule"]): f["query_id"] for f in first["findings"]}
    after = {(f["record_id"], f["field"], f["rule"]): f["query_id"] for f in second["findings"]}
    common = before.keys() & after.keys()
    assert len(common) > 30 and all(before[k] == after[k] for k in common)
    assert {f["status"] for f in second["findings"] if (f["record_id"], f["field"], f["rule"]) in common} == {"open"}


def test_queries_export_writes_one_xlsx_per_site_with_filters_frozen_header_and_a_response_list(cli, tmp_path):
    db = registry_copy(tmp_path, "dirty_export.csv")
    _, out = validate(cli, db)
    result = cli("queries", "export", "--db", db, "--format", "xlsx", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    sites = sorted({f["site"] for f in out["findings"] if f["severity"] == "error"})
    assert files == [f"queries_{s}.xlsx" for s in sites]
    sheet = load_workbook(tmp_path / "out" / "queries_north_clinic.xlsx").active
    assert tuple(c.value for c in sheet[1]) == COLUMNS
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:O")
    [validation] = sheet.data_validations.dataValidation
    assert validation.formula1 == '"corrected,confirmed,cannot_fix"' and "N2" in str(validation.sqref)
    rows = [dict(zip(COLUMNS, (c.value for c in r), strict=True)) for r in sheet.iter_rows(min_row=2)]
    expected = [f for f in out["findings"] if f["site"] == "north_clinic" and f["severity"] == "error"]
    assert {r["query_id"] for r in rows} == {f["query_id"] for f in expected}
    assert all(r["severity"] == "error" and r["response"] is None for r in rows)


def test_warnings_only_on_request_and_one_site_only_with_site(cli, tmp_path):
    db = registry_copy(tmp_path, "dirty_export.csv")
    _, out = validate(cli, db)
    assert cli("queries", "export", "--db", db, "--format", "csv", "--out", tmp_path / "w", "--site", "north_clinic",
               "--include-warnings").exit_code == 0
    assert [p.name for p in (tmp_path / "w").iterdir()] == ["queries_north_clinic.csv"]
    with open(tmp_path / "w" / "queries_north_clinic.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == sum(f["site"] == "north_clinic" for f in out["findings"])
    assert {r["severity"] for r in rows} == {"error", "warning"}


def test_a_project_without_sites_gets_queries_all(cli, tmp_path):
    rows = list(csv.reader((SAMPLE / "dirty_export.csv").open(newline="")))
    drop = rows[0].index("redcap_data_access_group")
    no_dag = tmp_path / "no_dag.csv"
    with no_dag.open("w", newline="") as f:
        csv.writer(f).writerows([r[:drop] + r[drop + 1:] for r in rows])
    db = tmp_path / "r.duckdb"
    assert cli("ingest", no_dag, "--db", db).exit_code == 0
    validate(cli, db)
    assert cli("queries", "export", "--db", db, "--format", "csv", "--out", tmp_path / "q").exit_code == 0
    assert [p.name for p in (tmp_path / "q").iterdir()] == ["queries_all.csv"]


def test_answers_come_back_confirmed_close_corrected_resolve_and_a_changed_value_reopens(cli, tmp_path):
    db = registry_copy(tmp_path, "dirty_export.csv")
    _, out = validate(cli, db)
    sex = find(out["findings"], "SIR-0003", "dem_sex", "G")["query_id"]
    age = find(out["findings"], "SIR-0019", "dem_age", "D")["query_id"]
    sadness = find(out["findings"], "SIR-0007", "madrs_1", "G")["query_id"]
    assert cli("queries", "export", "--db", db, "--out", tmp_path / "out").exit_code == 0
    fill_sheet(tmp_path / "out" / "queries_north_clinic.xlsx",
               {sex: ("confirmed", "source says 7"), age: ("corrected", "age is 30")})
    fill_sheet(tmp_path / "out" / "queries_riverside_clinic.xlsx", {sadness: ("cannot_fix", "chart lost")})
    result = cli("queries", "import", "--db", db, *sorted((tmp_path / "out").glob("*.xlsx")))
    assert result.exit_code == 0, result.stderr
    assert "recorded 3 answer(s)" in result.stdout

    code, again = validate(cli, db)
    assert find(again["findings"], "SIR-0003", "dem_sex", "G")["status"] == "confirmed"
    listed = queries(cli, db)
    assert listed[sex]["status"] == "confirmed" and listed[sex]["response"] == "confirmed"
    assert listed[age]["status"] == "new" and listed[sadness]["response_note"] == "chart lost"

    month2 = edit_export("dirty_export.csv", tmp_path / "month2.csv", {
        ("SIR-0003", "baseline_arm_1"): {"dem_sex": "8"},   # the confirmed value changed
        ("SIR-0019", "baseline_arm_1"): {"dem_age": "30"},  # corrected in REDCap
    })
    assert cli("ingest", month2, "--db", db).exit_code == 0
    _, month2_findings = validate(cli, db)
    assert find(month2_findings["findings"], "SIR-0003", "dem_sex", "G")["status"] == "open"
    listed = queries(cli, db)
    assert listed[sex]["status"] == "open" and listed[age]["status"] == "resolved"
    assert listed[sadness]["status"] == "open" and listed[sadness]["first_batch"] == 1
    assert listed[sadness]["last_batch"] == 2
    assert set(queries(cli, db, "--status", "resolved")) >= {age}


def test_confirming_every_error_lets_the_gate_pass(cli, tmp_path):
    db = registry_copy(tmp_path, "dirty_export.csv")
    code, out = validate(cli, db)
    assert code == 1
    assert cli("queries", "export", "--db", db, "--format", "csv", "--out", tmp_path / "out").exit_code == 0
    for path in (tmp_path / "out").glob("*.csv"):
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        for row in rows:
            row["response"] = "confirmed"
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    assert cli("queries", "import", "--db", db, *(tmp_path / "out").glob("*.csv")).exit_code == 0
    code, out = validate(cli, db)
    assert code == 0 and out["passed"] is True
    assert {f["status"] for f in out["findings"] if f["severity"] == "error"} == {"confirmed"}


@pytest.mark.parametrize(("column", "value", "message"), [
    ("query_id", "QNOTAQUERY", "unknown query_id 'QNOTAQUERY'"),
    ("response", "fixed it", "response 'fixed it' is not one of corrected, confirmed, cannot_fix"),
    ("record_id", "SIR-9999", "record_id of query"),
    ("field", "dem_age", "field of query"),
])
def test_a_bad_row_is_refused_with_file_and_row_and_nothing_is_recorded(cli, tmp_path, column, value, message):
    db = registry_copy(tmp_path, "dirty_export.csv")
    validate(cli, db)
    assert cli("queries", "export", "--db", db, "--out", tmp_path / "out").exit_code == 0
    path = tmp_path / "out" / "queries_north_clinic.xlsx"
    book = load_workbook(path)
    sheet = book.active
    sheet.cell(row=2, column=COLUMNS.index("response") + 1).value = "confirmed"
    sheet.cell(row=3, column=COLUMNS.index("response") + 1).value = "corrected"
    sheet.cell(row=3, column=COLUMNS.index(column) + 1).value = value
    book.save(path)
    result = cli("queries", "import", "--db", db, path)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert f"{path}, row 3: " in result.stderr and message in result.stderr
    assert "nothing was recorded" in result.stderr
    assert responses(db) == 0


def test_blank_rows_are_no_answer(cli, tmp_path):
    db = registry_copy(tmp_path, "dirty_export.csv")
    validate(cli, db)
    assert cli("queries", "export", "--db", db, "--out", tmp_path / "out").exit_code == 0
    result = cli("queries", "import", "--db", db, tmp_path / "out" / "queries_north_clinic.xlsx")
    assert result.exit_code == 0 and "recorded 0 answer(s)" in result.stdout
    assert responses(db) == 0


def test_queries_list_counts_by_site_and_status(cli, tmp_path):
    db = registry_copy(tmp_path, "dirty_export.csv")
    _, out = validate(cli, db)
    result = cli("queries", "list", "--db", db)
    assert result.exit_code == 0
    assert f"{len(out['findings'])} queries" in result.stdout
    north = sum(f["site"] == "north_clinic" for f in out["findings"])
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("north_clinic") and ln.split()[-1].isdigit())
    assert int(line.split()[1]) == north and int(line.split()[-1]) == north
    listed = cli.json("queries", "list", "--db", db, "--json", "--site", "north_clinic")
    assert all(tuple(q) == COLUMNS for q in listed) and len(listed) == north
