"""The periodic report says what is new since the previous one (results.json `since_previous`)."""

from __future__ import annotations

import csv
import json

from gate_registry import SAMPLE

EXPORT = SAMPLE / "sample_export.csv"


def month2(tmp_path):
    """Next month's export: 3 records gone, 2 new patients, one age corrected."""
    with EXPORT.open(newline="") as f:
        rows = list(csv.reader(f))
    header, data = rows[0], rows[1:]
    gone = {"SIR-0001", "SIR-0002", "SIR-0003"}
    first = [r for r in data if r[0] == "SIR-0004"]
    new = [[f"SIR-90{i}", *r[1:]] for i in (1, 2) for r in first]
    age = header.index("dem_age")
    kept = [list(r) for r in data if r[0] not in gone]
    changed = next(r for r in kept if r[age])
    changed[age] = str(int(changed[age]) + 1)
    path = tmp_path / "month2.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([header, *kept, *new])
    return path


def run_month(cli, db, export, out):
    assert cli("ingest", export, "--db", db).exit_code == 0
    assert cli("validate", "--db", db).exit_code in {0, 1}
    result = cli("analyze", "--db", db, "--out", out, "--override-gate", "test months")
    assert result.exit_code == 0, result.stderr
    return json.loads((out / "results.json").read_text())


def test_the_first_report_has_nothing_to_compare_with(cli, db, tmp_path):
    results = run_month(cli, db, EXPORT, tmp_path / "m1")
    assert results["since_previous"] is None
    assert "This is the first report of this registry" in (tmp_path / "m1" / "report.md").read_text()


def test_the_next_report_counts_what_changed_and_shows_it_first(cli, db, tmp_path):
    first = run_month(cli, db, EXPORT, tmp_path / "m1")
    second = run_month(cli, db, month2(tmp_path), tmp_path / "m2")
    since = second["since_previous"]
    diff = cli.json("diff", "1", "2", "--db", db, "--json")["counts"]
    assert {k: since[k] for k in ("previous_batch", "records_added", "records_removed", "values_changed")} == {
        "previous_batch": 1, "records_added": 2, "records_removed": 3, "values_changed": 1}
    assert diff == {k: since[k] for k in ("records_added", "records_removed", "values_changed")}
    for key in ("queries_opened", "queries_resolved", "queries_confirmed"):
        assert isinstance(since[key], int)
    before = {(r["scale"], r["visit"], r["cohort"]): r["n"] for r in first["paired"]}
    rows = {r["result"]: r for r in since["results"]}
    for r in second["paired"]:
        row = rows[f"paired/{r['scale']}/{r['visit']}/{r['cohort']}"]
        assert row["n_previous"] == before[(r["scale"], r["visit"], r["cohort"])] and row["n"] == r["n"]
        assert row["estimate"] == r["mean_change"]
    accrual = {(a["batch_id"], a["cohort"]): a["records"] for a in since["accrual"]}
    assert sum(n for (b, _), n in accrual.items() if b == 1) == 120
    assert sum(n for (b, _), n in accrual.items() if b == 2) == 119
    report = (tmp_path / "m2" / "report.md").read_text()
    assert report.index("## Since the previous report") < report.index("## Provenance")
    assert "| Records removed | 3 |" in report
    html = (tmp_path / "m2" / "report.html").read_text()
    assert "Accrual: records per cohort in every batch" in html


def test_queries_opened_resolved_and_confirmed_between_reports(cli, db, tmp_path):
    run_month(cli, db, SAMPLE / "dirty_export.csv", tmp_path / "m1")
    listed = cli.json("queries", "list", "--db", db, "--json")
    to_confirm = [q for q in listed if q["severity"] == "error"][:2]
    sheet = tmp_path / "answers.csv"
    with sheet.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(listed[0]))
        writer.writeheader()
        writer.writerows({**q, "response": "confirmed", "instance": q["instance"] or ""} for q in to_confirm)
    assert cli("queries", "import", "--db", db, sheet).exit_code == 0
    second = run_month(cli, db, EXPORT, tmp_path / "m2")
    since = second["since_previous"]
    first_ids = {q["query_id"] for q in listed}
    now_ids = {q["query_id"] for q in cli.json("queries", "list", "--db", db, "--json")
               if q["last_batch"] == 2}
    assert since["queries_resolved"] == len(first_ids - now_ids)
    assert since["queries_opened"] == len(now_ids - first_ids)
    assert since["queries_confirmed"] == 2
