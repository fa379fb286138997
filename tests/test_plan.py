"""The analysis plan: the default file, validation errors, hashing and locking."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import pytest
from analysis_registry import build_registry, plan_variant, reference_subjects, run_steps

from registry.analysis.lock import lock_plan
from registry.analysis.plan import default_plan_path, read_plan
from registry.errors import PlanError
from registry.workflow import analyze


def test_the_default_plan_states_the_registrys_prespecified_analyses():
    plan = read_plan(default_plan_path())
    assert (plan.include.form, plan.include.field, plan.include.value) == ("eligibility", "elig_included", 1)
    assert (plan.cohort.form, plan.cohort.field) == ("demographics", "dem_cohort")
    assert dict(plan.cohorts) == {1: "Sirolimus-augmented esketamine", 2: "Esketamine alone"}
    assert plan.baseline_visit == "baseline_arm_1"
    assert plan.followup_visits == ("week_8_arm_1", "week_16_arm_1")
    assert [o.scale for o in plan.outcomes] == ["madrs", "phq9", "hamd"]
    assert all(o.sided == "two-sided" and o.direction is None for o in plan.outcomes)
    assert (plan.alpha, plan.multiplicity, plan.family) == (0.05, "holm", "all")
    assert plan.response_min_reduction_percent == 50
    assert [(o.remission_comparison, o.remission_threshold) for o in plan.outcomes] == [
        ("<", 10),
        ("<", 5),
        ("<=", 7),
    ]
    rule = plan.relapse
    assert (rule.scale, rule.comparison, rule.threshold, rule.consecutive) == ("madrs", ">=", 22, 2)
    assert (rule.min_gap_days, rule.max_gap_days, rule.event_dated_on, rule.origin_day) == (5, 15, "first", 0)
    assert {(s.form, s.score, s.day) for s in rule.ratings} == {
        ("esketamine_session", "esk_madrs_total", "esk_date"),
        ("madrs", "madrs_total", "madrs_date"),
    }
    assert (rule.clinician.field, rule.clinician.value, rule.clinician_day) == (
        "relapse_event",
        1,
        "relapse_date",
    )
    assert (rule.last_contact_form, rule.last_contact_day) == ("disposition", "disp_last_date")
    assert (plan.cox_compare, plan.cox_reference, plan.cox_ties, plan.cox_covariates) == (1, 2, "efron", ())
    assert plan.power_target == 0.8
    assert [(c.scale, c.kind, c.visit_a, c.visit_b) for c in plan.mcnemar] == [
        (scale, kind, "week_8_arm_1", "week_16_arm_1")
        for scale in ("madrs", "phq9", "hamd")
        for kind in ("response", "remission")
    ]


def test_the_plan_is_frozen():
    plan = read_plan(default_plan_path())
    with pytest.raises(AttributeError):
        plan.alpha = 0.1


def test_the_plan_hash_is_the_sha256_of_the_files_bytes_and_any_edit_changes_it(tmp_path):
    plan = read_plan(default_plan_path())
    assert plan.sha256 == hashlib.sha256(default_plan_path().read_bytes()).hexdigest()
    edited = plan_variant(tmp_path, ("# Statistical analysis plan", "# Statistical analysis plan (edited)"))
    assert read_plan(edited).sha256 != plan.sha256


MALFORMED = [
    # (replacement, key named in `where`, words in `what`)
    (("threshold = 22", "thresold = 22"), "relapse.threshold", "misspelling"),
    (("alpha = 0.05", "alpha = 5"), "tests.alpha", "between 0 and 1"),
    (("alpha = 0.05", 'alpha = "0.05"'), "tests.alpha", "must be int or float"),
    (('multiplicity = "holm"', 'multiplicity = "hochberg"'), "tests.multiplicity", "not one of"),
    (
        ('comparison = "<", threshold = 10', 'comparison = "=<", threshold = 10'),
        "outcomes[0].remission.comparison",
        "not one of",
    ),
    (
        ('field = "madrs_total"\nsided = "two-sided"', 'field = "madrs_total"\nsided = "one-sided"'),
        "outcomes[0].sided",
        "declared `direction`",
    ),
    (
        (
            'field = "madrs_total"\nsided = "two-sided"',
            'field = "madrs_total"\nsided = "two-sided"\ndirection = "decrease"',
        ),
        "outcomes[0].direction",
        "two-sided",
    ),
    (("min_gap_days = 5", "min_gap_days = 20"), "relapse.min_gap_days", "empty"),
    (('event_dated_on = "first"', 'event_dated_on = "middle"'), "relapse.event_dated_on", "not one of"),
    (
        ('scale = "madrs"\ncomparison', 'scale = "qids"\ncomparison'),
        "relapse.scale",
        "not one of the outcomes",
    ),
    (('field = "dem_cohort" }', 'field = "Dem Cohort" }'), "population.cohort.field", "not a REDCap name"),
    (
        ('1 = "Sirolimus-augmented esketamine"', 'one = "Sirolimus-augmented esketamine"'),
        "population.cohorts.one",
        "not an integer",
    ),
    (("compare = 1", "compare = 3"), "cox.compare", "not one of"),
    (("covariates = []", 'covariates = ["dem_age"]'), "cox.covariates", "form.field"),
    (("[power]\ntarget = 0.80", "[power]\ntarget = 0.80\nobserved = true"), "power.observed", "unknown key"),
    (('visit_a = "week_8_arm_1"', 'visit_a = "week_4_arm_1"'), "mcnemar[0].visit_a", "not one of the plan's follow-up"),
    (('visit_a = "week_8_arm_1"', 'visit_a = "baseline_arm_1"'), "mcnemar[0].visit_a", "follow-up visits"),
    (('visit_b = "week_16_arm_1"', 'visit_b = "week_8_arm_1"'), "mcnemar[0].visit_b", "same visit"),
    (('kinds = ["response", "remission"]', 'kinds = ["response", "relapse"]'), "mcnemar[0].kinds", "not one of"),
    (('kinds = ["response", "remission"]', "kinds = []"), "mcnemar[0].kinds", "is empty"),
    (('kinds = ["response", "remission"]', 'kinds = ["response", "response"]'), "mcnemar[0].kinds", "twice"),
    (
        ('kinds = ["response", "remission"]', 'kinds = ["response"]\nscales = ["qids"]'),
        "mcnemar[0].scales",
        "not one of madrs, phq9, hamd",
    ),
    (
        ('kinds = ["response", "remission"]', 'kinds = ["response"]\ntest = "exact"'),
        "mcnemar[0].test",
        "unknown key",
    ),
    (
        (
            'kinds = ["response", "remission"]\n',
            'kinds = ["response", "remission"]\n\n[[mcnemar]]\nvisit_a = "week_16_arm_1"\n'
            'visit_b = "week_8_arm_1"\nkinds = ["remission"]\nscales = ["madrs"]\n',
        ),
        "mcnemar[1].visit_a",
        "already compared",
    ),
]


@pytest.mark.parametrize(("replacement", "key", "words"), MALFORMED, ids=[m[1] for m in MALFORMED])
def test_a_malformed_plan_is_refused_naming_the_file_the_key_and_the_fix(tmp_path, replacement, key, words):
    path = plan_variant(tmp_path, replacement)
    with pytest.raises(PlanError) as err:
        read_plan(path)
    assert str(path) in err.value.where
    assert f"`{key}`" in err.value.where
    assert words in err.value.what
    assert err.value.fix


def test_a_plan_that_is_not_toml_is_refused(tmp_path):
    path = tmp_path / "plan.toml"
    path.write_text("[tests\nalpha = 0.05\n")
    with pytest.raises(PlanError) as err:
        read_plan(path)
    assert "not valid TOML" in err.value.what and str(path) in err.value.where


def test_a_missing_plan_file_is_refused_with_the_option_to_pass_one(tmp_path):
    with pytest.raises(PlanError) as err:
        read_plan(tmp_path / "nope.toml")
    assert "--plan" in err.value.fix


def test_a_plan_naming_a_field_the_registry_lacks_is_refused_at_analysis(tmp_path):
    db = build_registry(tmp_path / "r.duckdb", reference_subjects())
    path = plan_variant(tmp_path, ('field = "hamd_total"', 'field = "hamd17_total"'))
    with pytest.raises(PlanError) as err:
        run_steps(db, path)
    assert "hamd17_total" in err.value.what and "`outcomes[2].field`" in err.value.where


def test_a_plan_naming_a_form_the_registry_lacks_is_refused_at_analysis(tmp_path):
    db = build_registry(tmp_path / "r.duckdb", reference_subjects())
    path = plan_variant(tmp_path, ('form = "esketamine_session"', 'form = "ketamine_session"'))
    with pytest.raises(PlanError) as err:
        run_steps(db, path)
    assert "ketamine_session" in err.value.what and "relapse.ratings[1].form" in err.value.where


# ---- locking -----------------------------------------------------------------------------------


def lock_rows(db):
    from analysis_registry import connect

    con = connect(db)
    rows = con.execute(
        "select lock_id, plan_sha256, plan_file, locked_at from registry.plan_locks order by lock_id"
    ).fetchall()
    con.close()
    return rows


def test_locking_records_the_plans_hash_and_time_once(tmp_path):
    db = build_registry(tmp_path / "registry.duckdb", reference_subjects())
    plan = read_plan(default_plan_path())
    first = lock_plan(db, plan)
    again = lock_plan(db, plan)
    assert first["created"] and not again["created"]
    rows = lock_rows(db)
    assert len(rows) == 1 and rows[0][1] == plan.sha256 and isinstance(rows[0][3], datetime)
    assert first["before_data"] is False  # the fixture's batch was ingested before


def test_locking_a_changed_plan_adds_a_lock_and_names_the_one_it_replaces(tmp_path):
    db = build_registry(tmp_path / "r.duckdb", reference_subjects())
    old = read_plan(default_plan_path())
    new = read_plan(plan_variant(tmp_path, ("alpha = 0.05", "alpha = 0.01")))
    lock_plan(db, old)
    info = lock_plan(db, new)
    assert info["created"] and info["previous_sha256"] == old.sha256
    assert [r[1] for r in lock_rows(db)] == [old.sha256, new.sha256]


def test_a_plan_locked_before_the_first_ingest_is_reported_as_locked_before_data(tmp_path):
    db = tmp_path / "registry.duckdb"
    info = lock_plan(db, read_plan(default_plan_path()))  # creates the registry file
    assert info["before_data"]
    build_registry(db, reference_subjects(), ingested_at=datetime(2099, 1, 1))
    res = analyze(db, None, tmp_path / "out")
    assert res.results["plan"]["locked"] is True
    assert res.results["plan"]["locked_before_data"] is True
    assert res.results["plan"]["status"] == "locked before data"


def test_a_plan_locked_after_the_first_ingest_is_not_locked_before_data(tmp_path):
    db = build_registry(tmp_path / "r.duckdb", reference_subjects())
    lock_plan(db, read_plan(default_plan_path()))
    res = analyze(db, None, tmp_path / "out")
    assert (res.results["plan"]["locked"], res.results["plan"]["locked_before_data"]) == (True, False)


def test_analysis_refuses_a_plan_changed_since_it_was_locked_and_writes_nothing(tmp_path):
    db = build_registry(tmp_path / "r.duckdb", reference_subjects())
    lock_plan(db, read_plan(default_plan_path()))
    changed = plan_variant(tmp_path, ("threshold = 22", "threshold = 20"))
    with pytest.raises(PlanError) as err:
        analyze(db, changed, tmp_path / "out")
    assert "changed since it was locked" in err.value.what and "--exploratory" in err.value.fix
    assert not (tmp_path / "out").exists()


def test_an_exploratory_run_of_a_changed_plan_is_labelled_exploratory(tmp_path):
    db = build_registry(tmp_path / "r.duckdb", reference_subjects())
    locked = read_plan(default_plan_path())
    lock_plan(db, locked)
    changed = plan_variant(tmp_path, ("threshold = 22", "threshold = 20"))
    res = analyze(db, changed, tmp_path / "out", exploratory=True)
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["exploratory"] is True
    assert data["plan"]["locked"] is False and data["plan"]["locked_sha256"] == locked.sha256
    assert data["plan"]["status"] == "changed since locked"
    assert "EXPLORATORY" in (tmp_path / "out" / "report.html").read_text()
    assert "EXPLORATORY" in (tmp_path / "out" / "report.md").read_text()
    assert res.results == data
