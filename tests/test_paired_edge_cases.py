"""Paired tests where R has no answer: a change with SD 0 and Hedges' g at df = 1."""

from __future__ import annotations

import math

import pytest
from analysis_registry import Subject, build_registry

from registry.analysis.paired import compute_paired_t


def test_a_change_with_sd_0_has_no_ci_t_or_p_as_r_refuses():
    # R: t.test(c(28, 27, 26), c(30, 29, 28), paired = TRUE)
    #    Error in t.test.default(...): data are essentially constant
    res = compute_paired_t(3, -2.0, 0.0)
    assert all(math.isnan(res[k]) for k in ("ci_low", "ci_high", "t", "p_two_sided", "cohens_dz", "hedges_gz"))
    assert res["df"] == 2


def test_hedges_g_at_df_1_is_undefined_while_d_and_t_are_rs():
    # changes -1 and -3: d_z = mean / sd = -1.414213562373095;
    # R: t.test(c(29, 27), c(30, 30), paired = TRUE): t = -2, p = 0.295167235300866,
    #    conf.int = -14.706204736174694, 10.706204736174694
    res = compute_paired_t(2, -2.0, math.sqrt(2.0))
    assert res["cohens_dz"] == pytest.approx(-1.414213562373095, abs=1e-12)
    assert res["t"] == pytest.approx(-2.0, abs=1e-12)
    assert res["p_two_sided"] == pytest.approx(0.295167235300866, abs=1e-12)
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((-14.706204736174694, 10.706204736174694), abs=1e-9)
    assert math.isnan(res["hedges_gz"])


def test_results_json_writes_null_for_the_undefined_numbers(tmp_path):
    from registry.workflow import analyze

    base, w8 = "baseline_arm_1", "week_8_arm_1"
    subjects = [Subject(f"A{i}", 1, scores={base: {"madrs": 30 - i}, w8: {"madrs": 28 - i}}) for i in range(3)]
    subjects += [Subject("B1", 2, scores={base: {"madrs": 30}, w8: {"madrs": 29}})]
    subjects += [Subject("B2", 2, scores={base: {"madrs": 30}, w8: {"madrs": 27}})]
    db = build_registry(tmp_path / "r.duckdb", subjects)
    res = analyze(db, None, tmp_path / "out")
    rows = {(r["cohort"], r["visit"]): r for r in res.results["paired"] if r["scale"] == "madrs"}
    flat = rows[(1, w8)]  # every change -2
    assert flat["n"] == 3 and flat["mean_change"] == -2 and flat["sd_change"] == 0
    assert [flat[k] for k in ("ci_low", "ci_high", "t", "p_two_sided", "cohens_dz", "hedges_gz")] == [None] * 6
    two = rows[(2, w8)]  # changes -1, -3: df = 1
    assert two["df"] == 1 and two["cohens_dz"] == pytest.approx(-1.414213562373095) and two["hedges_gz"] is None
