"""Time to relapse: the derivation's edge cases, and the fits pinned to R's survival package
(tests/data/r_reference/reference.R; R 4.2.2, survival 3.5-3):

    fit <- survfit(Surv(t, e) ~ g, data = d, conf.type = "log-log"); summary(fit)
    quantile(fit, probs = 0.5)
    print(fit); summary(fit)$table[, c("median", "0.95LCL", "0.95UCL")]
    summary(fit, times = c(0, 28, 56, 84, 112))$n.risk
    survdiff(Surv(t, e) ~ g, data = d)
    coxph(Surv(t, e) ~ sirolimus, data = d, ties = "efron")     # sirolimus = (g == 1)
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from analysis_registry import (
    SURV1,
    SURV2,
    Subject,
    build_registry,
    day0_plan,
    reference_subjects,
    run_steps,
)

from registry.analysis.relapse import (
    compute_at_risk,
    compute_crossing,
    compute_median,
    compute_median_cis,
    compute_medians,
    derive_relapse,
    fit_cox,
    fit_km,
    fit_logrank,
)

TOL = 1e-6
# summary(survfit(Surv(t, e) ~ g, conf.type = "log-log")): strata, time, n.risk, n.event, surv, lower, upper
R_KM = [
    (1, 12, 12, 1, 0.916666666666667, 0.5389771805707413, 0.987825565400458),
    (1, 20, 11, 1, 0.833333333333333, 0.4817149421953789, 0.955509365728065),
    (1, 35, 9, 1, 0.740740740740741, 0.3906761276077819, 0.908623869404062),
    (1, 56, 7, 1, 0.634920634920635, 0.2887326561438051, 0.846955091554557),
    (1, 60, 6, 1, 0.529100529100529, 0.2050933825637890, 0.774312106149214),
    (1, 90, 4, 1, 0.396825396825397, 0.1084365325700141, 0.680774682797174),
    (2, 8, 12, 1, 0.916666666666667, 0.5389771805707413, 0.987825565400458),
    (2, 15, 11, 1, 0.833333333333333, 0.4817149421953789, 0.955509365728065),
    (2, 20, 10, 1, 0.750000000000000, 0.4084159131515950, 0.911720406125698),
    (2, 28, 8, 1, 0.656250000000000, 0.3204116375996003, 0.855657234651939),
    (2, 30, 7, 1, 0.562500000000000, 0.2436809826051868, 0.790991758910400),
    (2, 41, 6, 1, 0.468750000000000, 0.1761553880989229, 0.718476996033405),
    (2, 70, 4, 1, 0.351562500000000, 0.0956387444816326, 0.627772231717867),
    (2, 84, 3, 1, 0.234375000000000, 0.0392977058475529, 0.521863043231885),
]
R_MEDIAN = {"1": 90.0, "2": 41.0}  # quantile(fit, probs = 0.5)$quantile
# print(fit) / summary(fit)$table: 0.95LCL and 0.95UCL of the median (NA: not reached)
R_MEDIAN_CI = {"1": (20.0, math.nan), "2": (15.0, math.nan)}
# t3 <- c(3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 22, 25, 27, 30, 33, 36, 40, 45)
# e3 <- c(1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 0)
# print(survfit(Surv(t3, e3) ~ 1, conf.type = "log-log")): median 22, 0.95LCL 11, 0.95UCL 33
T3 = [3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 22, 25, 27, 30, 33, 36, 40, 45]
E3 = [1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 0]
R_AT_RISK = {1: [12, 9, 7, 4, 3], 2: [12, 8, 5, 3, 1]}  # summary(fit, times = c(0, 28, 56, 84, 112))$n.risk
R_LOGRANK = (0.963032236975455, 0.326424088456811)  # survdiff: chisq, pchisq(chisq, 1, lower = FALSE)
# summary(coxph(...))$conf.int and $coefficients: exp(coef), lower .95, upper .95, Pr(>|z|); coef, se
R_COX = {
    "hr": 0.591736539977989,
    "ci_low": 0.204421960769538,
    "ci_high": 1.71288902340525,
    "p": 0.333271040386236,
    "coef": -0.524693776976037,
    "se": 0.542293234808177,
}


def reference_frame() -> pd.DataFrame:
    rows = [
        (f"C{g}-{i}", g, t, bool(e)) for g, data in ((1, SURV1), (2, SURV2)) for i, (t, e) in enumerate(data)
    ]
    return pd.DataFrame(rows, columns=["record_id", "cohort", "days", "event"])


def test_kaplan_meier_with_log_log_interval_matches_r_survfit():
    km = fit_km(reference_frame())
    assert len(km) == len(R_KM)
    for row, ref in zip(km.itertuples(), R_KM, strict=True):
        assert (row.cohort, row.day, row.at_risk, row.events) == ref[:4]
        assert (row.survival, row.ci_low, row.ci_high) == pytest.approx(ref[4:], abs=TOL)


def test_the_median_matches_r_quantile_survfit():
    frame = reference_frame()
    assert compute_medians(frame, fit_km(frame), [1, 2]) == R_MEDIAN


def test_a_survival_of_exactly_one_half_on_a_flat_stretch_gives_the_midpoint_as_r_does():
    # quantile(survfit(Surv(c(5, 10, 15, 20), c(1, 1, 1, 1)) ~ 1), probs = 0.5) -> 12.5
    assert compute_median([5, 10, 15, 20], [0.75, 0.5, 0.25, 0.0], 20) == 12.5


def test_the_median_is_not_reached_when_survival_stays_above_one_half():
    assert math.isnan(compute_median([5], [0.9], 30))


def one_group(days, events) -> pd.DataFrame:
    return pd.DataFrame({"record_id": range(len(days)), "cohort": 1, "days": days, "event": [bool(e) for e in events]})


def assert_limits(got: dict, expected: tuple) -> None:
    for key, value in zip(("low", "high"), expected, strict=True):
        assert (math.isnan(got[key]) and math.isnan(value)) or got[key] == value, (key, got, expected)


def test_the_median_ci_matches_r_print_survfit_on_the_reference_data():
    cis = compute_median_cis(fit_km(reference_frame()), [1, 2])
    assert set(cis) == {"1", "2"}
    for code, expected in R_MEDIAN_CI.items():
        assert_limits(cis[code], expected)


def test_the_median_ci_matches_r_print_survfit_when_both_limits_are_reached():
    km = fit_km(one_group(T3, E3))
    assert_limits(compute_median_cis(km, [1])["1"], (11.0, 33.0))
    assert compute_crossing(km["day"], km["survival"]) == 22.0  # print(...)'s median


def test_the_crossing_rule_is_print_survfits_at_exactly_one_half():
    # f2 <- survfit(Surv(c(5, 10, 15, 20), c(1, 1, 1, 1)) ~ 1, conf.type = "log-log")
    # summary(f2)$table: median 12.5 (midpoint of the stretch at 0.5), 0.95LCL 5, 0.95UCL NA
    km = fit_km(one_group([5, 10, 15, 20], [1, 1, 1, 1]))
    assert compute_crossing(km["day"], km["survival"]) == 12.5
    assert_limits(compute_median_cis(km, [1])["1"], (5.0, math.nan))
    # f4 <- survfit(Surv(c(5, 10, 15, 20), c(1, 1, 0, 0)) ~ 1, conf.type = "log-log"): S ends at 0.5.
    # summary(f4)$table: median 10, 0.95LCL 5, 0.95UCL NA; quantile(f4, 0.5): 15 (to the last time)
    km = fit_km(one_group([5, 10, 15, 20], [1, 1, 0, 0]))
    assert compute_crossing(km["day"], km["survival"]) == 10.0
    assert compute_median(km["day"], km["survival"], 20) == 15.0
    assert_limits(compute_median_cis(km, [1])["1"], (5.0, math.nan))


def test_a_cohort_without_relapses_has_no_median_and_no_interval():
    frame = reference_frame()
    frame.loc[frame.cohort == 1, "event"] = False
    cis = compute_median_cis(fit_km(frame), [1, 2])
    assert_limits(cis["1"], (math.nan, math.nan))
    assert_limits(cis["2"], R_MEDIAN_CI["2"])


def test_missing_points_of_a_confidence_curve_are_skipped_as_r_does():
    # log-log limits are NA where S = 0; R's print.survfit drops them
    assert compute_crossing([5, 10, 15], [0.7, math.nan, 0.4]) == 15.0
    assert math.isnan(compute_crossing([5, 10], [0.7, math.nan]))


def test_numbers_at_risk_match_r_summary_survfit_times():
    at_risk = compute_at_risk(reference_frame(), [0, 28, 56, 84, 112], [1, 2])
    for cohort, ref in R_AT_RISK.items():
        assert at_risk[at_risk.cohort == cohort]["at_risk"].tolist() == ref


def test_the_log_rank_test_matches_r_survdiff():
    res = fit_logrank(reference_frame(), 1, 2)
    assert (res["chisq"], res["p"]) == pytest.approx(R_LOGRANK, abs=TOL)


def test_the_cox_hazard_ratio_matches_r_coxph_with_efron_ties():
    res = fit_cox(reference_frame(), 1, 2)
    for key, value in R_COX.items():
        assert res[key] == pytest.approx(value, abs=TOL), key
    assert (res["n"], res["events"], res["note"]) == (24, 14, None)


def test_the_cox_model_is_not_estimated_when_a_cohort_has_no_relapse():
    frame = reference_frame()
    frame.loc[frame.cohort == 1, "event"] = False
    res = fit_cox(frame, 1, 2)
    assert res["hr"] != res["hr"] and "not estimable" in res["note"]


def test_relapse_times_derived_from_the_registry_are_the_r_reference_data(tmp_path):
    db = build_registry(tmp_path / "r.duckdb", reference_subjects())
    plan, con = run_steps(db, day0_plan(tmp_path))
    times = derive_relapse(con, plan)
    con.close()
    expected = reference_frame().sort_values(["cohort", "days"]).reset_index(drop=True)
    got = times.sort_values(["cohort", "days"]).reset_index(drop=True)
    assert got["days"].tolist() == expected["days"].tolist()
    assert got.groupby("cohort")["event"].sum().tolist() == [6, 8]
    assert set(got["criterion"]) == {"clinician", "censored"}


# ---- the relapse rule's edge cases -------------------------------------------------------------


def relapse_of(tmp_path, subjects, plan_path=None):
    db = build_registry(tmp_path / "r.duckdb", subjects)
    plan, con = run_steps(db, plan_path or day0_plan(tmp_path))
    times = derive_relapse(con, plan)
    con.close()
    return {r.record_id: (r.days, bool(r.event), r.criterion) for r in times.itertuples()}


def sessions(rid, *ratings, last_day=120, relapse_day=None, scores=None):
    return Subject(
        rid, sessions=list(ratings), last_day=last_day, relapse_day=relapse_day, scores=scores or {}
    )


EDGE_CASES = [
    # (sessions as (day, MADRS), expected (days, event, criterion), why)
    ([(10, 25), (14, 25)], (120, False, "censored"), "gap of 4 days is too short"),
    ([(10, 25), (26, 25)], (120, False, "censored"), "gap of 16 days is too long"),
    ([(10, 25), (15, 25)], (10, True, "score"), "gap of exactly 5 days counts"),
    ([(10, 25), (25, 25)], (10, True, "score"), "gap of exactly 15 days counts"),
    ([(10, 22), (17, 22)], (10, True, "score"), "a score of exactly 22 counts"),
    ([(10, 21), (17, 22)], (120, False, "censored"), "a score of 21 does not count"),
    ([(-10, 30), (-3, 30)], (120, False, "censored"), "ratings before day 0 are ignored"),
    ([(-3, 30), (4, 30)], (120, False, "censored"), "a rating before day 0 does not confirm one after it"),
    ([(0, 30), (6, 30)], (120, False, "censored"), "day 0 itself is not after day 0"),
    ([(10, 25), (14, None), (18, 25)], (10, True, "score"), "an unrated session between two high ratings"),
    ([(10, 25), (15, 12), (20, 25)], (120, False, "censored"), "a low assessment between breaks the run"),
    ([(10, 25), (12, 25), (20, 25)], (12, True, "score"), "too close, then the next pair qualifies"),
    ([(10, 12), (100, 30)], (120, False, "censored"), "a single high rating at the end is censored"),
    (
        [(30, 12), (130, 30)],
        (130, False, "censored"),
        "censored at the last assessment when after last contact",
    ),
]


@pytest.mark.parametrize(("ratings", "expected", "why"), EDGE_CASES, ids=[c[2] for c in EDGE_CASES])
def test_the_score_rule_handles_each_edge_case_as_prespecified(tmp_path, ratings, expected, why):
    assert relapse_of(tmp_path, [sessions("A", *ratings)])["A"] == expected, why


def test_a_clinician_event_earlier_than_the_score_rule_wins(tmp_path):
    out = relapse_of(tmp_path, [sessions("A", (30, 25), (37, 25), relapse_day=20)])
    assert out["A"] == (20, True, "clinician")


def test_a_score_event_earlier_than_the_clinician_event_wins(tmp_path):
    out = relapse_of(tmp_path, [sessions("A", (30, 25), (37, 25), relapse_day=50)])
    assert out["A"] == (30, True, "score")


def test_a_clinician_event_on_the_score_event_day_is_labelled_both(tmp_path):
    assert relapse_of(tmp_path, [sessions("A", (30, 25), (37, 25), relapse_day=30)])["A"] == (
        30,
        True,
        "score+clinician",
    )


def test_a_clinician_event_counts_without_any_rating(tmp_path):
    assert relapse_of(tmp_path, [sessions("A", relapse_day=44)])["A"] == (44, True, "clinician")


def test_visit_and_session_ratings_are_taken_together_in_day_order(tmp_path):
    subject = sessions("A", (63, 30), scores={"baseline_arm_1": {"madrs": 35}, "week_8_arm_1": {"madrs": 30}})
    assert relapse_of(tmp_path, [subject])["A"] == (56, True, "score")


def test_a_day_rated_at_a_visit_and_a_session_counts_once_with_the_visit_rating(tmp_path):
    # visit day 56 rated 10, session the same day rated 30, then 30 on day 63: the day-56
    # assessment is the visit's 10, so 56 + 63 is not a run of two high assessments.
    subject = sessions("A", (56, 30), (63, 30), scores={"week_8_arm_1": {"madrs": 10}})
    assert relapse_of(tmp_path, [subject])["A"] == (120, False, "censored")


def test_the_event_can_be_dated_on_the_last_assessment_of_the_run(tmp_path):
    plan = day0_plan(tmp_path, ('event_dated_on = "first"', 'event_dated_on = "last"'))
    assert relapse_of(tmp_path, [sessions("A", (10, 25), (17, 25))], plan)["A"] == (17, True, "score")


def test_three_consecutive_assessments_when_the_plan_asks_for_three(tmp_path):
    plan = day0_plan(tmp_path, ("consecutive = 2", "consecutive = 3"))
    out = relapse_of(
        tmp_path, [sessions("A", (10, 25), (17, 25)), sessions("B", (10, 25), (17, 25), (24, 23))], plan
    )
    assert out["A"] == (120, False, "censored")
    assert out["B"] == (10, True, "score")


def test_a_subject_with_no_assessment_and_no_last_contact_is_censored_at_day_0(tmp_path):
    assert relapse_of(tmp_path, [sessions("A", last_day=None)])["A"] == (0, False, "censored")


def test_only_the_analysis_population_is_in_the_relapse_analysis(tmp_path):
    out = relapse_of(tmp_path, [sessions("A"), Subject("B", included=0, relapse_day=5)])
    assert set(out) == {"A"}


def test_clinician_relapses_the_rule_cannot_use_are_counted_for_the_report(tmp_path):
    from analysis_registry import connect

    from registry.analysis.relapse import count_ignored_events

    db = build_registry(
        tmp_path / "r.duckdb",
        [sessions("A", relapse_day=-5), sessions("B", relapse_day=9), sessions("C", relapse_day=0)],
    )
    con = connect(db)
    con.execute("update batch_1.disposition set relapse_date = null where record_id = 'B'")
    con.close()
    plan, con = run_steps(db, day0_plan(tmp_path))
    ignored = count_ignored_events(con, plan)
    times = derive_relapse(con, plan)
    con.close()
    assert ignored == {"undated_clinician_relapses": 1, "clinician_relapses_before_origin": 2}
    assert not times["event"].any()
