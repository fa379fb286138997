"""The SQL gate and Great Expectations on pandas, on the same suites, find the same rows."""

from __future__ import annotations

import pytest
from gate_registry import CHECKS, registry_copy

from bench.bench_gate import bench_gate
from registry import store
from registry.checks.gate import collect_hits, run_gate
from registry.checks.gx_pandas import gx_runs_it, run_gx_pandas
from registry.checks.suites import load_suites


def compare(db):
    """(our offending rows, GX's) per expectation GX can run, and the GX run."""
    con = store.connect(db)
    try:
        run_gate(con, CHECKS, store=False)
        ours = collect_hits(con)
        gx = run_gx_pandas(con, load_suites(CHECKS), store.get_batch(con).schema)
    finally:
        con.close()
    differ = {}
    for key, (success, rows) in gx.results.items():
        mine = ours.get(key, set())
        if key[1].startswith("TYPE:"):
            if success == bool(mine):
                differ[key] = (success, mine)
        elif rows != mine:
            differ[key] = (sorted(rows - mine, key=str)[:5], sorted(mine - rows, key=str)[:5])
    return differ, gx, ours


@pytest.mark.parametrize("export", ["dirty_export.csv", "sample_export.csv"])
def test_the_sql_gate_and_gx_on_pandas_report_the_same_offending_rows(tmp_path, export):
    differ, gx, ours = compare(registry_copy(tmp_path, export))
    assert differ == {}
    suites = load_suites(CHECKS)
    assert gx.expectations == sum(gx_runs_it(c) for s in suites for c in s.checks)
    if export == "dirty_export.csv":
        assert sum(1 for key, (ok, _) in gx.results.items() if not ok) >= 20


def test_long_value_sets_compiled_as_in_lists_find_the_same_rows(tmp_path, monkeypatch):
    # Sets up to MAX_OR_VALUES are compiled to "=" joined by "or", longer ones to IN: every
    # set as an IN list must agree with GX as well.
    from registry.checks import compile as compile_module

    db = registry_copy(tmp_path, "dirty_export.csv")
    _, _, as_or = compare(db)
    monkeypatch.setattr(compile_module, "MAX_OR_VALUES", 0)
    differ, _, as_in = compare(db)
    assert differ == {}
    assert as_in == as_or
    assert sum(1 for rows in as_in.values() if rows) >= 10


def test_they_agree_on_duplicates_blanks_in_conditions_and_constant_columns(tmp_path):
    db = registry_copy(tmp_path, "dirty_export.csv")
    con = store.connect(db)
    con.execute("insert into batch_1.demographics "
                "select * from batch_1.demographics where record_id = 'SIR-0005'")
    con.execute("update batch_1.sirolimus_dose set sir_hours_before = 2")  # SD 0: no outliers
    con.execute("update batch_1.disposition set relapse_event = null "
                "where record_id in ('SIR-0008', 'SIR-0017')")
    con.execute("update batch_1.disposition set disp_status = null, disp_reason = 'x' "
                "where record_id = 'SIR-0009'")
    con.execute("update batch_1.adverse_event set ae_date = null where redcap_repeat_instance = 1")
    con.execute("update batch_1.madrs set madrs_total = null where record_id = 'SIR-0010'")
    con.close()
    differ, gx, ours = compare(db)
    assert differ == {}
    duplicates = ours[("dictionary.demographics", "KEY:record_event_instance")]
    assert duplicates == {("SIR-0005", "baseline_arm_1", None)}
    assert ours[("dictionary.sirolimus_dose", "E:sir_hours_before")] == set()
    assert ("SIR-0009", "study_end_arm_1", None) in ours[("dictionary.disposition", "F:disp_reason")]


def test_bench_gate_times_both_on_the_same_checks_and_they_agree(tmp_path):
    result = bench_gate(registry_copy(tmp_path, "dirty_export.csv"), CHECKS, repeat=1)
    assert result["same_offending_rows"] is True
    assert result["checks"] > result["checks_gx"] > 200
    assert result["records"] == 60 and result["errors"] > 0
    timed = ("gate_seconds", "gate_same_checks_seconds", "gx_pandas_seconds", "speedup",
             "speedup_same_checks")
    assert all(result[key] > 0 for key in timed)


def test_integer_sets_compiled_as_ranges_with_gaps_find_the_same_rows(tmp_path, monkeypatch):
    # A set of integers on an integer column is compiled to low..high minus its gaps; with no
    # gap allowed every set is compiled as before (or / in): both must agree with GX.
    from registry.checks import compile as compile_module

    db = registry_copy(tmp_path, "dirty_export.csv")
    differ, _, as_ranges = compare(db)
    assert differ == {}
    monkeypatch.setattr(compile_module, "MAX_GAPS", -1)
    differ, _, as_lists = compare(db)
    assert differ == {}
    assert as_ranges == as_lists


@pytest.mark.parametrize("kind", ["expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"])
def test_a_range_with_gaps_flags_exactly_the_rows_a_value_list_flags(kind):
    import duckdb

    from registry.checks.compile import row_predicate
    from registry.checks.suites import Check

    con = duckdb.connect()
    con.execute("create table t as select i as x from range(-3, 12) r(i) union all select 99 union all select null")
    check = Check(type=kind, kwargs={"column": "x", "value_set": [6, 0, 1, 2, 4, 2]}, rule="G", severity="error",
                  field="x", why="codes", label="G:x", meta={})

    def flagged(column_type):
        condition, params = row_predicate(check, column_type)
        return con.execute(f"select x from t as t where {condition} order by x", params).fetchall()

    assert row_predicate(check, "BIGINT")[1] == [0, 6, 3, 5]  # 0..6 but 3 and 5
    as_range = flagged("BIGINT")
    assert as_range == flagged("")  # the value list, for a column of no integer type
    expected = ([(x,) for x in [-3, -2, -1, 3, 5, 7, 8, 9, 10, 11, 99]] if kind.endswith("to_be_in_set")
                else [(x,) for x in [0, 1, 2, 4, 6]])
    assert as_range == expected
