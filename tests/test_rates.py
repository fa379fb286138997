"""Response and remission: exact (Clopper–Pearson) intervals pinned to R's binom.test
(tests/data/r_reference/reference.R, R 4.2.2), and the plan's definitions at their edges."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from analysis_registry import Subject, build_registry, plan_variant, run_steps

from registry.analysis.paired import derive_pairs
from registry.analysis.rates import compute_clopper_pearson, compute_rates, count_rates

TOL = 1e-6
# binom.test(k, n)$conf.int
R_BINOM = {
    (3, 10): (0.0667395111777345, 0.652452850059997),
    (0, 8): (0.0, 0.369416647552819),
    (8, 8): (0.630583352447181, 1.0),
    (5, 18): (0.0969492125255593, 0.534801965583056),
}


@pytest.mark.parametrize(("k", "n"), list(R_BINOM))
def test_the_exact_interval_matches_r_binom_test(k, n):
    assert compute_clopper_pearson(k, n) == pytest.approx(R_BINOM[(k, n)], abs=TOL)


def test_no_subjects_gives_no_rate_and_no_interval():
    out = compute_rates(pd.DataFrame({"count": [0], "n": [0]}))
    assert math.isnan(out["rate"][0]) and math.isnan(out["ci_low"][0]) and math.isnan(out["ci_high"][0])


def test_compute_rates_adds_rate_and_interval_and_keeps_other_columns():
    out = compute_rates(pd.DataFrame({"scale": ["madrs"], "count": [5], "n": [18]}))
    assert list(out.columns) == ["scale", "count", "n", "rate", "ci_low", "ci_high"]
    assert out["rate"][0] == pytest.approx(5 / 18)
    assert (out["ci_low"][0], out["ci_high"][0]) == pytest.approx(R_BINOM[(5, 18)], abs=TOL)


def rates_of(tmp_path, subjects, plan_path=None):
    db = build_registry(tmp_path / "r.duckdb", subjects)
    plan, con = run_steps(db, plan_path)
    derive_pairs(con, plan)
    counts = count_rates(con, plan)
    con.close()
    return {(r.cohort, r.scale, r.visit, r.kind): (r.count, r.n) for r in counts.itertuples()}


def scored(rid, visit_scores, cohort=1):
    return Subject(rid, cohort, scores=visit_scores)


def test_a_reduction_of_exactly_50_percent_is_a_response_and_49_is_not(tmp_path):
    subjects = [
        scored("A", {"baseline_arm_1": {"madrs": 30}, "week_8_arm_1": {"madrs": 15}}),  # 50%
        scored("B", {"baseline_arm_1": {"madrs": 30}, "week_8_arm_1": {"madrs": 16}}),  # 46.7%
        scored("C", {"baseline_arm_1": {"madrs": 22}, "week_8_arm_1": {"madrs": 11}}),  # 50%
        scored("D", {"baseline_arm_1": {"madrs": 33}, "week_8_arm_1": {"madrs": 17}}),  # 48.5%
    ]
    rates = rates_of(tmp_path, subjects)
    assert rates[(1, "madrs", "week_8_arm_1", "response")] == (2, 4)


def test_a_baseline_of_zero_cannot_respond_and_is_left_out_of_the_response_denominator(tmp_path):
    subjects = [
        scored("A", {"baseline_arm_1": {"phq9": 0}, "week_8_arm_1": {"phq9": 0}}),
        scored("B", {"baseline_arm_1": {"phq9": 10}, "week_8_arm_1": {"phq9": 2}}),
    ]
    assert rates_of(tmp_path, subjects)[(1, "phq9", "week_8_arm_1", "response")] == (1, 1)


def test_remission_uses_each_scales_threshold_and_operator(tmp_path):
    subjects = [
        # MADRS < 10: 10 is not remission, 9 is. PHQ-9 < 5: 5 is not, 4 is. HAM-D <= 7: 7 is.
        scored(
            "A",
            {
                "baseline_arm_1": {"madrs": 30, "phq9": 20, "hamd": 25},
                "week_8_arm_1": {"madrs": 10, "phq9": 5, "hamd": 7},
            },
        ),
        scored(
            "B",
            {
                "baseline_arm_1": {"madrs": 30, "phq9": 20, "hamd": 25},
                "week_8_arm_1": {"madrs": 9, "phq9": 4, "hamd": 8},
            },
        ),
    ]
    rates = rates_of(tmp_path, subjects)
    assert rates[(1, "madrs", "week_8_arm_1", "remission")] == (1, 2)
    assert rates[(1, "phq9", "week_8_arm_1", "remission")] == (1, 2)
    assert rates[(1, "hamd", "week_8_arm_1", "remission")] == (1, 2)


def test_a_plan_with_madrs_at_most_10_counts_a_score_of_10_as_remission(tmp_path):
    plan = plan_variant(
        tmp_path,
        (
            'remission = { comparison = "<", threshold = 10 }',
            'remission = { comparison = "<=", threshold = 10 }',
        ),
    )
    subjects = [scored("A", {"baseline_arm_1": {"madrs": 30}, "week_8_arm_1": {"madrs": 10}})]
    assert rates_of(tmp_path, subjects, plan)[(1, "madrs", "week_8_arm_1", "remission")] == (1, 1)


def test_remission_counts_subjects_with_a_follow_up_total_even_without_baseline(tmp_path):
    subjects = [
        scored("A", {"week_8_arm_1": {"madrs": 4}}),
        scored("B", {"baseline_arm_1": {"madrs": 30}, "week_8_arm_1": {"madrs": 25}}),
    ]
    rates = rates_of(tmp_path, subjects)
    assert rates[(1, "madrs", "week_8_arm_1", "remission")] == (1, 2)
    assert rates[(1, "madrs", "week_8_arm_1", "response")] == (0, 1)


def test_every_cohort_scale_visit_and_kind_has_a_row_even_without_subjects(tmp_path):
    rates = rates_of(tmp_path, [scored("A", {"baseline_arm_1": {"madrs": 30}, "week_8_arm_1": {"madrs": 4}})])
    assert len(rates) == 2 * 3 * 2 * 2
    assert rates[(2, "hamd", "week_16_arm_1", "remission")] == (0, 0)


def test_subjects_outside_the_population_are_not_counted(tmp_path):
    subjects = [
        Subject("A", included=0, scores={"baseline_arm_1": {"madrs": 30}, "week_8_arm_1": {"madrs": 4}})
    ]
    assert rates_of(tmp_path, subjects)[(1, "madrs", "week_8_arm_1", "remission")] == (0, 0)
