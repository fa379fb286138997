"""Paired change: reference values from R (tests/data/r_reference/reference.R, R 4.2.2).

t.test(wk8_1, base1, paired = TRUE)                          # cohort 1
t.test(wk8_1, base1, paired = TRUE, alternative = "less")
t.test(wk8_2, base2, paired = TRUE)                          # cohort 2
p.adjust(c(p1, p2, 0.2), method = "holm")
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from analysis_registry import (
    BASE1,
    WK8_1,
    Subject,
    build_registry,
    connect,
    plan_variant,
    reference_subjects,
    run_steps,
)

from registry.analysis.paired import adjust_p, compute_paired, compute_paired_t, derive_pairs, summarise_pairs
from registry.analysis.power import compute_n_for_power, compute_power

TOL = 1e-6
# t.test(wk8_1, base1, paired = TRUE)
R1 = {
    "t": -3.97256996505242,
    "df": 9,
    "p": 0.00324201465669681,
    "ci": (-13.18333178135836, -3.61666821864164),
    "mean": -8.4,
    "p_less": 0.00162100732834841,
    "sd": 6.68663675633058,
}
# t.test(wk8_2, base2, paired = TRUE)
R2 = {
    "t": 1.92573724839171,
    "df": 7,
    "p": 0.0955198052057238,
    "ci": (-0.370347190821271, 3.620347190821271),
    "mean": 1.625,
    "p_less": 0.952240097397138,
}
# p.adjust(c(R1$p, R2$p, 0.2), method = "holm")
R_HOLM = [0.00972604397009044, 0.19103961041144754, 0.2]


@pytest.fixture
def reference_db(tmp_path):
    return build_registry(tmp_path / "registry.duckdb", reference_subjects())


def paired_rows(db, plan_path=None):
    plan, con = run_steps(db, plan_path)
    derive_pairs(con, plan)
    frame = compute_paired(summarise_pairs(con, plan), plan)
    con.close()
    return {(r.cohort, r.scale, r.visit): r for r in frame.itertuples()}


def test_the_paired_t_test_from_the_registry_matches_r_t_test(reference_db):
    rows = paired_rows(reference_db)
    for cohort, ref in ((1, R1), (2, R2)):
        r = rows[(cohort, "madrs", "week_8_arm_1")]
        assert r.t == pytest.approx(ref["t"], abs=TOL)
        assert r.df == ref["df"]
        assert r.p_two_sided == pytest.approx(ref["p"], abs=TOL)
        assert (r.ci_low, r.ci_high) == pytest.approx(ref["ci"], abs=TOL)
        assert r.mean_change == pytest.approx(ref["mean"], abs=TOL)


def test_cohens_dz_is_the_signed_mean_change_over_the_sd_of_change_and_hedges_applies_j(reference_db):
    r = paired_rows(reference_db)[(1, "madrs", "week_8_arm_1")]
    assert r.sd_change == pytest.approx(R1["sd"], abs=TOL)
    assert r.cohens_dz == pytest.approx(R1["mean"] / R1["sd"], abs=TOL)
    assert r.cohens_dz < 0
    assert r.hedges_gz == pytest.approx((1 - 3 / (4 * 9 - 1)) * R1["mean"] / R1["sd"], abs=TOL)
    assert r.cohens_dz == pytest.approx(R1["t"] / math.sqrt(10), abs=TOL)


def test_baseline_and_follow_up_means_and_sds_are_over_complete_pairs(reference_db):
    r = paired_rows(reference_db)[(1, "madrs", "week_8_arm_1")]
    assert r.mean_baseline == pytest.approx(np.mean(BASE1), abs=TOL)
    assert r.sd_baseline == pytest.approx(np.std(BASE1, ddof=1), abs=TOL)
    assert r.mean_followup == pytest.approx(np.mean(WK8_1), abs=TOL)
    assert r.sd_followup == pytest.approx(np.std(WK8_1, ddof=1), abs=TOL)


def test_pairs_left_out_are_counted_with_their_reason(reference_db):
    rows = paired_rows(reference_db)
    c1, c2 = rows[(1, "madrs", "week_8_arm_1")], rows[(2, "madrs", "week_8_arm_1")]
    assert (c1.n_population, c1.n, c1.n_missing_baseline, c1.n_missing_followup, c1.n_missing_both) == (
        12,
        10,
        0,
        2,
        0,
    )
    assert (c2.n_population, c2.n, c2.n_missing_baseline, c2.n_missing_followup, c2.n_missing_both) == (
        12,
        8,
        1,
        3,
        0,
    )
    empty = rows[(1, "phq9", "week_16_arm_1")]
    assert (empty.n, empty.n_missing_both) == (0, 12)
    assert math.isnan(empty.t) and math.isnan(empty.p_adjusted)


def test_subjects_outside_the_per_protocol_population_are_not_paired(reference_db):
    plan, con = run_steps(reference_db)
    pairs = derive_pairs(con, plan)
    con.close()
    assert not pairs["record_id"].str.endswith("-X").any()


def test_two_sided_outcomes_have_no_one_sided_p(reference_db):
    rows = paired_rows(reference_db)
    assert math.isnan(rows[(1, "madrs", "week_8_arm_1")].p_one_sided)
    assert rows[(1, "madrs", "week_8_arm_1")].sided == "two-sided"


def test_a_declared_decrease_gives_the_one_sided_p_of_r_alternative_less(reference_db, tmp_path):
    plan = plan_variant(
        tmp_path,
        (
            'field = "madrs_total"\nsided = "two-sided"',
            'field = "madrs_total"\nsided = "one-sided"\ndirection = "decrease"\none_sided_alpha = 0.025',
        ),
    )
    rows = paired_rows(reference_db, plan)
    c1, c2 = rows[(1, "madrs", "week_8_arm_1")], rows[(2, "madrs", "week_8_arm_1")]
    assert c1.p_one_sided == pytest.approx(R1["p_less"], abs=TOL)
    assert c2.p_one_sided == pytest.approx(R2["p_less"], abs=TOL)  # wrong direction: near 1, not p/2
    assert c1.p_two_sided == pytest.approx(R1["p"], abs=TOL)
    assert c1.alpha == 0.025
    assert math.isnan(rows[(1, "phq9", "week_8_arm_1")].p_one_sided)


def test_holm_matches_r_p_adjust():
    assert adjust_p([R1["p"], R2["p"], 0.2]) == pytest.approx(R_HOLM, abs=TOL)


def test_holm_leaves_undefined_p_values_out_of_the_family():
    out = adjust_p([0.01, float("nan"), 0.04])
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.04)


def test_the_holm_family_is_every_paired_test_of_the_plan(reference_db):
    rows = paired_rows(reference_db)
    c1, c2 = rows[(1, "madrs", "week_8_arm_1")], rows[(2, "madrs", "week_8_arm_1")]
    # Only these two of the 12 tests have a p: Holm over m = 2.
    assert c1.p_adjusted == pytest.approx(2 * R1["p"], abs=TOL)
    assert c2.p_adjusted == pytest.approx(R2["p"], abs=TOL)


def test_a_per_cohort_family_adjusts_within_each_cohort(reference_db, tmp_path):
    plan = plan_variant(tmp_path, ('family = "all"', 'family = "per_cohort"'))
    rows = paired_rows(reference_db, plan)
    assert rows[(1, "madrs", "week_8_arm_1")].p_adjusted == pytest.approx(R1["p"], abs=TOL)


def test_the_pilot_is_reproduced_from_its_published_confidence_interval():
    # domain.md §0: CI [-12.87, 0.09], n = 18 -> t -2.08, p 0.053, d_z 0.49, g_z 0.468
    se = (0.09 - -12.87) / 2 / 2.109815577833181
    res = compute_paired_t(18, (-12.87 + 0.09) / 2, se * math.sqrt(18))
    assert res["t"] == pytest.approx(-2.0805, abs=1e-3)
    assert res["p_two_sided"] == pytest.approx(0.0529, abs=1e-3)
    assert abs(res["cohens_dz"]) == pytest.approx(0.4904, abs=1e-3)
    assert abs(res["hedges_gz"]) == pytest.approx(0.468, abs=1e-3)


def test_a_constant_change_has_no_t_p_or_effect_size():
    res = compute_paired_t(5, -3.0, 0.0)
    assert math.isnan(res["t"]) and math.isnan(res["p_two_sided"]) and math.isnan(res["cohens_dz"])
    # R's t.test refuses ("data are essentially constant"): no zero-width CI either
    assert math.isnan(res["ci_low"]) and math.isnan(res["ci_high"])


def test_one_pair_has_no_test():
    res = compute_paired_t(1, -3.0, float("nan"))
    assert math.isnan(res["t"]) and math.isnan(res["df"])


def test_power_of_the_pilot_design_is_one_half_not_0_13():
    # domain.md §0: d = 0.49, n = 18, alpha 0.05 two-sided -> 0.500 (statsmodels 0.50045); one-sided 0.637
    assert compute_power(0.49, 18, 0.05) == pytest.approx(0.50045, abs=1e-4)
    assert compute_power(-0.49, 18, 0.05, "decrease") == pytest.approx(0.637, abs=1e-3)


def test_the_planning_n_for_80_percent_power_at_the_pilot_effect_is_35():
    assert compute_n_for_power(0.49, 0.05) == 35
    assert compute_n_for_power(-0.49, 0.05) == 35
    assert compute_power(0.49, 35, 0.05) >= 0.8 > compute_power(0.49, 34, 0.05)


def test_no_planning_n_when_the_effect_is_opposite_to_the_declared_direction():
    assert compute_n_for_power(0.49, 0.025, direction="decrease") is None
    assert compute_n_for_power(0.0, 0.05) is None


def test_the_paired_row_carries_the_planning_n(reference_db):
    r = paired_rows(reference_db)[(1, "madrs", "week_8_arm_1")]
    assert r.n_for_power == compute_n_for_power(R1["mean"] / R1["sd"], 0.05)


def test_a_repeated_total_at_one_visit_uses_the_last_instance(tmp_path):
    db = build_registry(
        tmp_path / "r.duckdb",
        [Subject("A", scores={"baseline_arm_1": {"madrs": 30}, "week_8_arm_1": {"madrs": 20}})],
    )
    con = connect(db)
    con.execute(
        "insert into batch_1.madrs (record_id, redcap_event_name, redcap_repeat_instance, madrs_date, "
        "madrs_total) values ('A', 'week_8_arm_1', 2, 58, 10)"
    )
    con.close()
    plan, con = run_steps(db)
    pairs = derive_pairs(con, plan)
    con.close()
    row = pairs[(pairs.scale == "madrs") & (pairs.visit == "week_8_arm_1")].iloc[0]
    assert row.followup == 10


def test_a_cohort_code_outside_the_plan_is_not_analysed_but_counted_in_the_flow(tmp_path):
    from registry.analysis.population import compute_flow

    visits = {"baseline_arm_1": {"madrs": 30}, "week_8_arm_1": {"madrs": 20}}
    db = build_registry(
        tmp_path / "r.duckdb", [Subject("A", 1, scores=visits), Subject("B", 3, scores=visits)]
    )
    plan, con = run_steps(db)
    pairs = derive_pairs(con, plan)
    summary = summarise_pairs(con, plan)
    flow = compute_flow(con, plan)
    con.close()
    assert set(pairs["record_id"]) == {"A"}
    assert flow["cohort"].tolist() == [1, 2, 3] and flow["included"].tolist() == [1, 0, 1]
    # cohort 2 has nobody, yet every plan combination has a row
    assert len(summary) == 12 and summary[summary.cohort == 2]["n"].eq(0).all()
