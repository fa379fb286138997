"""`registry checks build`: suites generated from a data dictionary, and the suites in checks/."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest

from registry.checks.build import build_suites, write_suites
from registry.checks.calc import CalcError, translate_calc
from registry.checks.suites import KWARGS, load_suites
from registry.redcap.dictionary import parse_dictionary
from registry.redcap.project import load_default_project

ROOT = Path(__file__).resolve().parents[1]
CHECKS = ROOT / "checks"
HEADER = ("field_name,form_name,field_type,select_choices_or_calculations,"
          "text_validation_type_or_show_slider_number,text_validation_min,text_validation_max,branching_logic,required_field")
OTHER_PROJECT = "\n".join([
    HEADER,
    "study_id,enrol,text,,,,,,",
    'site,enrol,dropdown,"A, North | B, South",,,,,y',
    "weight,enrol,text,,number_1dp,30,250,,y",
    "pain,enrol,slider,,,,,,",
    'symptoms,enrol,checkbox,"1, Cough | 2, Fever",,,,,y',
    "fever_days,enrol,text,,integer,0,,[symptoms(2)] = '1',y",
    "bmi_a,enrol,text,,number,,,,",
    "bmi_b,enrol,text,,number,,,,",
    'bmi_mean,enrol,calc,"mean([bmi_a], [bmi_b])",,,,,',
    'odd_calc,enrol,calc,"if([bmi_a] > 30, 1, 0)",,,,,',
    "seen,enrol,text,,date_ymd,2020-01-01,2030-12-31,,",
])


def other_project():
    return parse_dictionary(OTHER_PROJECT.encode(), source="other.csv")


def by_check(suite: dict) -> dict[str, dict]:
    return {e["meta"]["check"]: e for e in suite["expectations"]}


def test_the_committed_suites_are_what_checks_build_makes_from_the_project_dictionary():
    project = load_default_project()
    built = build_suites(project.dictionary, project.study_day_anchor)
    for stem, suite in built.items():
        committed = json.loads((CHECKS / f"{stem}.json").read_text())
        assert committed == suite, f"checks/{stem}.json is stale: run `registry checks build` and commit"


def test_every_suite_in_checks_loads_as_a_great_expectations_suite():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        import great_expectations as gx

        gx.get_context(mode="ephemeral")
    suites = load_suites(CHECKS)
    assert len(suites) >= 11
    for suite in suites:
        gx_suite = gx.ExpectationSuite(**suite.to_gx_json())
        assert len(gx_suite.expectations) == len(suite.checks)
        for exp, check in zip(gx_suite.expectations, suite.checks, strict=True):
            assert exp.expectation_type == check.type
            assert exp.meta["why"] == check.why


def test_every_expectation_says_why_with_a_severity_and_a_rule():
    for suite in load_suites(CHECKS):
        assert suite.table
        for check in suite.checks:
            assert check.severity in {"error", "warning"} and check.rule and len(check.why) > 10
            assert check.type in KWARGS


def test_every_protocol_sql_file_is_used_by_a_suite():
    used = set()
    for path in (CHECKS / "protocol").glob("*.json"):
        for e in json.loads(path.read_text())["expectations"]:
            query = e["kwargs"].get("unexpected_rows_query", "")
            if query.startswith("@"):
                used.add(query[1:])
    assert used == {f"sql/{p.name}" for p in (CHECKS / "sql").glob("*.sql")}


def test_generated_suites_record_the_dictionary_they_were_built_from():
    project = load_default_project()
    for suite in build_suites(project.dictionary).values():
        assert suite["meta"]["dictionary_sha256"] == project.dictionary.sha256
        assert suite["meta"]["generated_by"] == "registry checks build"


def test_the_project_suites_check_choices_ranges_required_fields_keys_types_calcs_and_outliers():
    project = load_default_project()
    suites = build_suites(project.dictionary, project.study_day_anchor)
    demographics, disposition, madrs = (by_check(suites[t]) for t in ("demographics", "disposition", "madrs"))
    assert demographics["G:dem_sex"]["kwargs"]["value_set"] == [1, 2, 3, 99]
    assert demographics["D:dem_age"]["kwargs"] | {} == {"column": "dem_age", "min_value": 18, "max_value": 90}
    assert demographics["B:dem_sex"]["type"] == "expect_column_values_to_not_be_null"
    assert demographics["KEY:record_event_instance"]["kwargs"]["column_list"] == [
        "record_id", "redcap_event_name", "redcap_repeat_instance"]
    assert demographics["TYPE:dem_index_date"]["kwargs"]["type_list"][0] == "INTEGER"  # study days
    assert demographics["TYPE:dem_race___99"]["kwargs"]["type_list"][0] == "BOOLEAN"
    assert demographics["E:dem_age"]["meta"]["severity"] == "warning"
    assert disposition["B:relapse_date"]["kwargs"]["row_condition"]["parameter"] == 1
    assert disposition["F:relapse_type___1"]["kwargs"]["value_set"] == [False]
    assert "madrs_10" in madrs["H:madrs_total"]["kwargs"]["unexpected_rows_query"]
    assert "B:disp_reason" not in disposition  # not required


def test_a_dictionary_of_another_project_builds_suites_too():
    suite = by_check(build_suites(other_project())["enrol"])
    assert suite["G:site"]["kwargs"]["value_set"] == ["A", "B"]
    assert suite["D:weight"]["kwargs"] | {} == {"column": "weight", "min_value": 30, "max_value": 250}
    assert suite["D:pain"]["kwargs"]["max_value"] == 100
    assert suite["D:fever_days"]["kwargs"] == {"column": "fever_days", "min_value": 0, "max_value": None}
    assert "coalesce" in suite["B:symptoms"]["kwargs"]["unexpected_rows_query"]  # required checkbox
    assert suite["B:fever_days"]["kwargs"]["row_condition"]["column"]["name"] == "symptoms___2"
    assert "/ 2" in suite["H:bmi_mean"]["kwargs"]["unexpected_rows_query"]
    assert suite["LOGIC:odd_calc:calc"]["meta"]["severity"] == "warning"
    assert "D:seen" not in suite  # dates are shifted per record: no date min/max
    assert suite["TYPE:seen"]["kwargs"]["type_list"][0] == "DATE"  # no study-day anchor


@pytest.mark.parametrize(("formula", "sql"), [
    ("[bmi_a] + [bmi_b]", '(t."bmi_a" + t."bmi_b")'),
    ("sum([bmi_a], [bmi_b]) / 2", '((t."bmi_a" + t."bmi_b") / nullif(2, 0))'),
    ("round(mean([bmi_a],[bmi_b]), 1)", 'round(((t."bmi_a" + t."bmi_b") / 2), 1)'),
    ("-[bmi_a] * 2.5", '((-t."bmi_a") * 2.5)'),
    ("max([bmi_a], [symptoms(1)])", 'greatest(t."bmi_a", cast(t."symptoms___1" as integer))'),
])
def test_calculations_are_recomputed_in_sql(formula, sql):
    assert translate_calc(formula, other_project(), "enrol")[0] == sql


@pytest.mark.parametrize("formula", [
    "if([bmi_a] > 30, 1, 0)", "datediff([seen], 'today', 'y')", "[site] + 1", "[nosuch] + 1",
    "[bmi_a] +", "([bmi_a]", "[bmi_a] ^ 2", "",
])
def test_calculations_the_gate_cannot_recompute_raise_a_calc_error(formula):
    with pytest.raises(CalcError):
        translate_calc(formula, other_project(), "enrol")


def test_checks_build_writes_one_suite_per_instrument_and_side_table(cli, tmp_path):
    (tmp_path / "dictionary.csv").write_text(OTHER_PROJECT)
    result = cli("checks", "build", "--dictionary", tmp_path / "dictionary.csv", "--out", tmp_path / "checks")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "checks").glob("*.json")) == [
        "_cast_failures.json", "_missing_values.json", "enrol.json"]
    assert re.search(r"wrote 3 suites", result.stdout)


def test_rebuilding_removes_generated_suites_of_dropped_forms_but_keeps_hand_written_ones(tmp_path):
    out = tmp_path / "checks"
    write_suites({"old_form": build_suites(other_project())["enrol"]}, out)
    hand_written = {"name": "mine", "expectations": [], "meta": {"table": "enrol"}}
    (out / "mine.json").write_text(json.dumps(hand_written))
    write_suites(build_suites(other_project()), out)
    assert sorted(p.stem for p in out.glob("*.json")) == ["_cast_failures", "_missing_values", "enrol",
                                                          "mine"]
