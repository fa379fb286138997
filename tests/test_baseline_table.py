"""Table 1 rows (baseline characteristics), pinned to R (tests/data/r_reference/baseline_table.R)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from registry.analysis.baseline_table import BaselineVariable, baseline_rows, quantile7

AGE1 = [34, 51, 47, 62, 29, 55, 41]
AGE2 = [38, 45, 70, 52]


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("attach ':memory:' as reg")
    ids = [f"A{i}" for i in range(8)] + [f"B{i}" for i in range(5)]
    ages = [*AGE1, None, *AGE2, None]
    sex = [1, 2, 99, 1, 1, 2, None, 1, 2, 2, 99, 1, None]
    race1 = [True, False, False, False, True, False, False, False, True, False, False, False, False]
    race99 = [False, True, False, False, True, False, False, False, False, False, True, False, False]
    con.execute(
        "create table reg.main.demographics (record_id varchar, redcap_event_name varchar, dem_age bigint, "
        "dem_sex integer, dem_race___1 boolean, dem_race___99 boolean)"
    )
    for row in zip(ids, ["baseline_arm_1"] * 13, ages, sex, race1, race99, strict=True):
        con.execute("insert into reg.main.demographics values (?, ?, ?, ?, ?, ?)", list(row))
    subjects = pd.DataFrame({"record_id": ids, "cohort": [1] * 8 + [2] * 5})
    return con, subjects


def rows_of(con, var):
    db, subjects = con
    return baseline_rows(db, [var], subjects, [1, 2])


def test_continuous_rows_match_r_mean_sd_and_type_7_quantiles(con):
    rows = rows_of(con, BaselineVariable("demographics", "dem_age", "continuous", "Age, years"))
    # mean(x); sd(x); quantile(x, c(0.5, 0.25, 0.75), type = 7)
    expected = {
        1: (7, 45.5714285714286, 11.6884151029576, 47, 37.5, 53, 1),
        2: (4, 51.25, 13.7446959466795, 48.5, 43.25, 56.5, 1),
        None: (11, 47.6363636363636, 12.1183557240471, 47, 39.5, 53.5, 2),
    }
    for r in rows:
        n, mean, sd, med, q1, q3, missing = expected[r["cohort"]]
        assert (r["n"], r["missing"], r["level"], r["variable"]) == (n, missing, None, "demographics.dem_age")
        assert r["mean"] == pytest.approx(mean, abs=1e-12) and r["sd"] == pytest.approx(sd, abs=1e-12)
        assert (r["median"], r["q1"], r["q3"]) == pytest.approx((med, q1, q3), abs=1e-12)
    assert quantile7([1, 2, 3, 4], 0.25) == 1.75  # quantile(1:4, 0.25, type = 7)


def test_categorical_levels_include_unknown_codes_and_percent_is_over_subjects_with_a_value(con):
    rows = rows_of(con, BaselineVariable("demographics", "dem_sex", "categorical", "Sex"))
    one = {r["level"]: (r["count"], r["n"], r["percent"], r["missing"]) for r in rows if r["cohort"] == 1}
    # cohort 1 sexes: 1, 2, 99, 1, 1, 2, NA, 1 -> n = 7
    assert one == {"1": (4, 7, 100 * 4 / 7, 1), "2": (2, 7, 100 * 2 / 7, 1), "99": (1, 7, 100 / 7, 1)}
    assert all(r["mean"] is None for r in rows)


def test_a_checkbox_with_no_box_ticked_is_missing(con):
    rows = rows_of(con, BaselineVariable("demographics", "dem_race", "checkbox", "Race"))
    two = {r["level"]: (r["count"], r["n"], r["missing"]) for r in rows if r["cohort"] == 2}
    # cohort 2: B0 box 1, B2 box 99, others none -> n = 2, missing = 3
    assert two == {"1": (1, 2, 3), "99": (1, 2, 3)}
    both = {r["level"]: (r["count"], r["n"]) for r in rows if r["cohort"] is None}
    # A0 (1), A1 (99), A4 (1 and 99), B0 (1), B2 (99): 5 subjects with a box ticked
    assert both == {"1": (3, 5), "99": (3, 5)}


def test_analyze_writes_table_1_and_adverse_event_rows_with_the_contract_keys(tmp_path):
    from analysis_registry import build_registry, reference_subjects

    from registry.workflow import analyze

    db = build_registry(tmp_path / "r.duckdb", reference_subjects())
    res = analyze(db, None, tmp_path / "out")
    rows = res.results["baseline_characteristics"]
    keys = {
        "variable",
        "label",
        "level",
        "cohort",
        "n",
        "mean",
        "sd",
        "median",
        "q1",
        "q3",
        "count",
        "percent",
        "missing",
    }
    assert rows and all(set(r) == keys for r in rows)
    madrs = {r["cohort"]: r for r in rows if r["variable"] == "madrs.madrs_total"}
    # the analysed subjects' baseline MADRS totals (reference.R's base1 plus two baseline-only 30s)
    assert madrs[1]["n"] == 12 and madrs[1]["mean"] == pytest.approx((sum(AGE_FREE_BASE1) + 60) / 12)
    assert madrs[None]["n"] == madrs[1]["n"] + madrs[2]["n"]
    sex = [r for r in rows if r["variable"] == "demographics.dem_sex"]
    assert sex == []  # the fixture records no sex: a categorical variable without values has no level rows
    assert res.results["adverse_events"][0] == {
        "cohort": 1,
        "category": "any",
        "level": None,
        "subjects": 0,
        "events": 0,
        "percent": 0.0,
    }
    md = (tmp_path / "out" / "report.md").read_text()
    assert "## Table 1: baseline characteristics" in md and "## Adverse events" in md


AGE_FREE_BASE1 = [32, 28, 35, 30, 26, 33, 29, 31, 27, 34]
