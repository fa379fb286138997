"""Table 1 and the adverse-event table name coded levels by the dictionary's choice labels,
carried in results.json ``choice_labels`` (the report renders from results.json only)."""

from __future__ import annotations

import json
from pathlib import Path

from registry.analysis.plan import default_plan_path, read_plan
from registry.report.clinical_tables import adverse_events_table, baseline_table
from registry.workflow import analyze

ROOT = Path(__file__).resolve().parents[1]
EXPORT = ROOT / "sample_data" / "sample_export.csv"


def test_results_carry_the_dictionary_labels_and_the_report_shows_them(cli, db, tmp_path):
    assert cli("ingest", EXPORT, "--db", db).exit_code == 0
    analyze(db, None, tmp_path / "out", override_reason="test")
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    labels = results["choice_labels"]
    # schemas/registry_project/dictionary.csv: dem_sex "1, Female | 2, Male | 3, Other | 99, Unknown"
    assert labels["demographics.dem_sex"] == {"1": "Female", "2": "Male", "3": "Other", "99": "Unknown"}
    assert labels["adverse_event.ae_severity"] == {"1": "Mild", "2": "Moderate", "3": "Severe"}
    md = (tmp_path / "out" / "report.md").read_text()
    assert "|   Female (1) |" in md and "code 1" not in md.split("## Table 1")[1].split("## Adverse")[0]


def test_adverse_event_levels_follow_their_codes_and_use_the_project_labels():
    plan = read_plan(default_plan_path())
    rows = [
        {"cohort": 1, "category": c, "level": lv, "subjects": 1, "events": 1, "percent": 2.0}
        for c, lv in [("any", None), ("term", "nausea"), ("severity", "3"), ("severity", "1"),
                      ("related", "2"), ("serious", None), ("term", "headache")]
    ]
    results = {"adverse_events": rows,
               "choice_labels": {"adverse_event.ae_severity": {"1": "Light", "3": "Grave"},
                                 "adverse_event.ae_related": {"2": "Maybe"}}}
    names = [r["label"] for r in adverse_events_table(results, plan)]
    assert names == ["Any adverse event", "Any serious adverse event", "Worst severity: Light",
                     "Worst severity: Grave", "Strongest relatedness: Maybe", "Term: nausea", "Term: headache"]


def test_a_level_without_a_label_is_shown_by_its_code():
    plan = read_plan(default_plan_path())
    row = {"variable": "demographics.dem_sex", "label": "Sex", "level": "7", "cohort": None, "n": 1,
           "mean": None, "sd": None, "median": None, "q1": None, "q3": None, "count": 1, "percent": 100.0,
           "missing": 0}
    table = baseline_table({"baseline_characteristics": [row], "choice_labels": {}}, plan)
    assert [r["label"] for r in table["rows"]] == ["Sex: n (%)", "code 7", "missing"]
