"""`registry analyze` and `registry plan lock` from the command line: the results.json
contract, the gate, the plan lock, --exploratory, --override-gate and the default folder."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import pytest
from analysis_registry import add_validation_run, build_registry, plan_variant, reference_subjects
from typer.testing import CliRunner

from registry.analysis.plan import default_plan_path, read_plan
from registry.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def db(tmp_path):
    return build_registry(tmp_path / "registry.duckdb", reference_subjects())


def read_results(out):
    def no_nan(name):
        raise AssertionError(f"{name} in results.json")

    return json.loads((out / "results.json").read_text(), parse_constant=no_nan)


def test_analyze_writes_results_json_and_both_reports(db, tmp_path):
    out = tmp_path / "out"
    res = run("analyze", "--db", db, "--out", out)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.md", "results.json"]
    assert f"report: {out / 'report.html'}" in res.output


def test_results_json_has_the_contract_keys(db, tmp_path):
    run("analyze", "--db", db, "--out", tmp_path / "out")
    data = read_results(tmp_path / "out")
    assert {"plan", "batch", "paired", "rates", "relapse", "exploratory"} <= set(data)
    assert {"sha256", "locked", "locked_before_data"} <= set(data["plan"])
    assert data["batch"]["batch_id"] == 1 and data["batch"]["source_sha256"] == "ab" * 32
    paired_keys = {
        "cohort",
        "scale",
        "visit",
        "n",
        "mean_baseline",
        "mean_followup",
        "mean_change",
        "ci_low",
        "ci_high",
        "t",
        "df",
        "p_two_sided",
        "p_one_sided",
        "cohens_dz",
        "hedges_gz",
        "p_adjusted",
    }
    assert all(paired_keys <= set(r) for r in data["paired"])
    assert {(r["cohort"], r["scale"], r["visit"]) for r in data["paired"]} == {
        (c, s, v)
        for c in (1, 2)
        for s in ("madrs", "phq9", "hamd")
        for v in ("week_8_arm_1", "week_16_arm_1")
    }
    rate_keys = {"cohort", "scale", "visit", "kind", "count", "n", "rate", "ci_low", "ci_high"}
    assert all(set(r) == rate_keys for r in data["rates"])
    assert {r["kind"] for r in data["rates"]} == {"response", "remission"}
    rel = data["relapse"]
    assert {"subjects", "km", "median_days", "logrank", "cox"} <= set(rel)
    assert all({"record_id", "cohort", "days", "event", "criterion"} == set(s) for s in rel["subjects"])
    assert all(
        {"cohort", "day", "at_risk", "events", "survival", "ci_low", "ci_high"} == set(k) for k in rel["km"]
    )
    assert set(rel["median_days"]) == {"1", "2"}
    assert {"chisq", "p"} <= set(rel["logrank"]) and {"hr", "ci_low", "ci_high", "p"} <= set(rel["cox"])


def test_results_json_numbers_are_the_r_reference_values(db, tmp_path):
    run("analyze", "--db", db, "--out", tmp_path / "out")
    data = read_results(tmp_path / "out")
    row = next(
        r for r in data["paired"] if (r["cohort"], r["scale"], r["visit"]) == (1, "madrs", "week_8_arm_1")
    )
    assert isinstance(row["cohort"], int) and row["df"] == 9 and row["p_one_sided"] is None
    assert row["t"] == pytest.approx(-3.97256996505242, abs=1e-6)  # t.test(wk8_1, base1, paired = TRUE)
    assert row["p_two_sided"] == pytest.approx(0.00324201465669681, abs=1e-6)
    empty = next(r for r in data["paired"] if (r["cohort"], r["scale"]) == (1, "phq9"))
    assert empty["n"] == 0 and empty["t"] is None and empty["mean_change"] is None
    assert data["relapse"]["median_days"] == {"1": 90.0, "2": 41.0}  # quantile(survfit(...), 0.5)
    assert data["relapse"]["logrank"]["chisq"] == pytest.approx(0.963032236975455, abs=1e-6)  # survdiff
    assert data["relapse"]["cox"]["hr"] == pytest.approx(0.591736539977989, abs=1e-6)  # coxph(ties = "efron")


def test_a_batch_that_failed_the_gate_is_refused_and_nothing_is_written(tmp_path):
    db = build_registry(tmp_path / "r.duckdb", reference_subjects(), gate=False)
    res = run("analyze", "--db", db, "--out", tmp_path / "out")
    assert res.exit_code == 1
    assert "did not pass the data-quality gate" in res.output and "--override-gate" in res.output
    assert not (tmp_path / "out").exists()


def test_a_batch_never_validated_is_refused(tmp_path):
    db = build_registry(tmp_path / "r.duckdb", reference_subjects(), gate=None)
    res = run("analyze", "--db", db, "--out", tmp_path / "out")
    assert res.exit_code == 1 and "has not been validated" in res.output
    assert not (tmp_path / "out").exists()


def test_the_latest_validation_run_decides(tmp_path):
    db = build_registry(tmp_path / "r.duckdb", reference_subjects(), gate=False)
    add_validation_run(db, True, datetime(2026, 1, 11))
    assert run("analyze", "--db", db, "--out", tmp_path / "a").exit_code == 0
    add_validation_run(db, False, datetime(2026, 1, 12))
    assert run("analyze", "--db", db, "--out", tmp_path / "b").exit_code == 1


def test_overriding_the_gate_records_the_written_reason(tmp_path):
    db = build_registry(tmp_path / "r.duckdb", reference_subjects(), gate=False)
    reason = "DSMB interim look; findings reviewed by the PI on 2026-01-12"
    res = run("analyze", "--db", db, "--out", tmp_path / "out", "--override-gate", reason)
    assert res.exit_code == 0, res.output
    data = read_results(tmp_path / "out")
    assert data["override_gate"] == reason
    assert data["gate"]["overridden"] is True and data["gate"]["passed"] is False
    assert reason in (tmp_path / "out" / "report.html").read_text()


def test_an_empty_override_reason_is_refused(tmp_path):
    db = build_registry(tmp_path / "r.duckdb", reference_subjects(), gate=False)
    res = run("analyze", "--db", db, "--out", tmp_path / "out", "--override-gate", "  ")
    assert res.exit_code == 1 and "needs a written reason" in res.output


def test_plan_lock_then_analyze_reports_the_plan_as_locked(db, tmp_path):
    res = run("plan", "lock", "--db", db)
    assert res.exit_code == 0, res.output
    assert read_plan(default_plan_path()).sha256 in res.output and "after the data" in res.output
    assert "nothing changed" in run("plan", "lock", "--db", db).output
    run("analyze", "--db", db, "--out", tmp_path / "out")
    plan = read_results(tmp_path / "out")["plan"]
    assert plan["locked"] is True and plan["locked_before_data"] is False
    assert plan["sha256"] == read_plan(default_plan_path()).sha256


def test_plan_lock_before_any_ingest_creates_the_registry_and_says_so(tmp_path):
    res = run("plan", "lock", "--db", tmp_path / "new.duckdb")
    assert res.exit_code == 0 and "before any data" in res.output


def test_a_changed_locked_plan_is_refused_unless_exploratory(db, tmp_path):
    run("plan", "lock", "--db", db)
    changed = plan_variant(tmp_path, ("alpha = 0.05", "alpha = 0.01"))
    res = run("analyze", "--db", db, "--plan", changed, "--out", tmp_path / "out")
    assert res.exit_code != 0 and "changed since it was locked" in res.output
    assert not (tmp_path / "out").exists()
    res = run("analyze", "--db", db, "--plan", changed, "--out", tmp_path / "out", "--exploratory")
    assert res.exit_code == 0 and "EXPLORATORY" in res.output
    data = read_results(tmp_path / "out")
    assert data["exploratory"] is True and data["plan"]["locked"] is False
    assert "EXPLORATORY ANALYSIS" in (tmp_path / "out" / "report.html").read_text()


def test_a_normal_run_is_not_exploratory(db, tmp_path):
    run("analyze", "--db", db, "--out", tmp_path / "out")
    assert read_results(tmp_path / "out")["exploratory"] is False


def test_the_default_output_folder_is_one_per_batch_beside_the_registry(db, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert run("analyze", "--db", db).exit_code == 0
    assert read_results(tmp_path / "reports" / "registry" / "batch_1")["batch"]["batch_id"] == 1
    assert list(elsewhere.iterdir()) == []


def test_a_missing_registry_is_a_clear_error(tmp_path):
    res = run("analyze", "--db", tmp_path / "none.duckdb", "--out", tmp_path / "out")
    assert res.exit_code != 0 and "no registry at" in res.output


def test_a_malformed_plan_is_a_clear_error_naming_the_key(db, tmp_path):
    bad = plan_variant(tmp_path, ("alpha = 0.05", "alpha = 1.5"))
    res = run("analyze", "--db", db, "--plan", bad, "--out", tmp_path / "out")
    assert res.exit_code != 0 and "`tests.alpha`" in res.output and "Traceback" not in res.output


def test_the_cli_does_not_import_the_heavy_libraries_to_show_help():
    code = (
        "import sys, registry.cli; "
        "heavy = ('pandas', 'scipy', 'lifelines', 'matplotlib', 'duckdb', 'jinja2'); "
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
