"""Paired rates: McNemar's test pinned to R (tests/data/r_reference/reference.R, R 4.2.2),
and the pairing of the same subjects' response and remission at two visits.

    m <- matrix(c(n11, c, b, n22), 2)        # m[1, 2] = b (met at A only), m[2, 1] = c
    mcnemar.test(m, correct = TRUE)           # statistic, p.value
    binom.test(b, b + c)$p.value              # the exact McNemar p
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from analysis_registry import Subject, build_registry, plan_variant, run_steps

from registry.analysis.methods import render_methods
from registry.analysis.paired import derive_pairs
from registry.analysis.paired_rates import compute_mcnemar, compute_paired_rates, count_paired_rates
from registry.analysis.plan import read_plan
from registry.analysis.rates import count_rates
from registry.report.tables import mcnemar_tables

TOL = 1e-6
# (b, c): (mcnemar.test(...)$statistic, $p.value, binom.test(b, b + c)$p.value)
R_MCNEMAR = {
    (3, 9): (2.08333333333333, 0.148914673178766, 0.14599609375),
    (1, 5): (1.5, 0.220671361919847, 0.21875),
    (4, 4): (0.0, 1.0, 1.0),  # b = c: R applies no continuity correction
    (0, 1): (0.0, 1.0, 1.0),  # (|0 - 1| - 1)^2 / 1
    (12, 2): (5.78571428571429, 0.0161569312611813, 0.012939453125),
    (40, 25): (3.01538461538462, 0.08247788747321, 0.0816815339415403),
}


@pytest.mark.parametrize(("b", "c"), list(R_MCNEMAR))
def test_mcnemar_matches_r_mcnemar_test_with_continuity_correction_and_binom_test(b, c):
    res = compute_mcnemar(b, c)
    assert (res["statistic"], res["p"], res["p_exact"]) == pytest.approx(R_MCNEMAR[(b, c)], abs=TOL)


def test_the_test_is_symmetric_in_b_and_c():
    assert compute_mcnemar(9, 3) == pytest.approx(compute_mcnemar(3, 9))


def test_no_discordant_pair_gives_no_statistic_and_p_values_of_one():
    # R: mcnemar.test(matrix(c(5, 0, 0, 7), 2)) gives NaN; the registry reports p = 1
    res = compute_mcnemar(0, 0)
    assert math.isnan(res["statistic"]) and res["p"] == 1 and res["p_exact"] == 1


def test_negative_counts_are_refused():
    with pytest.raises(ValueError, match="negative"):
        compute_mcnemar(-1, 2)


def test_compute_paired_rates_adds_both_rates_and_the_test_and_nothing_without_subjects():
    counts = pd.DataFrame(
        {"scale": ["madrs", "madrs"], "n": [40, 0], "count_a": [23, 0], "count_b": [29, 0], "b": [3, 0], "c": [9, 0]}
    )
    out = compute_paired_rates(counts)
    assert list(out.columns) == [*counts.columns, "rate_a", "rate_b", "statistic", "p", "p_exact"]
    assert (out["rate_a"][0], out["rate_b"][0]) == pytest.approx((23 / 40, 29 / 40))
    assert (out["statistic"][0], out["p"][0], out["p_exact"][0]) == pytest.approx(R_MCNEMAR[(3, 9)], abs=TOL)
    assert out.iloc[1][["rate_a", "rate_b", "statistic", "p", "p_exact"]].isna().all()


def visits(base, wk8, wk16, scale="madrs"):
    scores = {"baseline_arm_1": {scale: base}}
    if wk8 is not None:
        scores["week_8_arm_1"] = {scale: wk8}
    if wk16 is not None:
        scores["week_16_arm_1"] = {scale: wk16}
    return scores


def paired_counts(tmp_path, subjects, plan_path=None):
    db = build_registry(tmp_path / "r.duckdb", subjects)
    plan, con = run_steps(db, plan_path)
    derive_pairs(con, plan)
    count_rates(con, plan)
    counts = count_paired_rates(con, plan)
    con.close()
    return counts


def row(counts, cohort, scale, kind):
    hit = counts[(counts.cohort == cohort) & (counts.scale == scale) & (counts.kind == kind)]
    assert len(hit) == 1
    return hit.iloc[0][["n", "count_a", "count_b", "b", "c"]].tolist()


def test_the_pairing_counts_each_subjects_status_at_both_visits(tmp_path):
    subjects = [
        Subject("A", scores=visits(30, 12, 14)),  # responds at both; remits at neither
        Subject("B", scores=visits(30, 14, 20)),  # responds at week 8 only (b)
        Subject("C", scores=visits(30, 20, 9)),  # responds and remits at week 16 only (c)
        Subject("D", scores=visits(30, 9, 25)),  # responds and remits at week 8 only (b)
        Subject("E", scores=visits(30, 25, 24)),  # neither
        Subject("F", scores=visits(30, 5, None)),  # no week 16: not paired
        Subject("G", cohort=2, scores=visits(30, 10, 8)),  # cohort 2: responds at both, remits at 16
    ]
    counts = paired_counts(tmp_path, subjects)
    assert row(counts, 1, "madrs", "response") == [5, 3, 2, 2, 1]
    assert row(counts, 1, "madrs", "remission") == [5, 1, 1, 1, 1]
    assert row(counts, 2, "madrs", "response") == [1, 1, 1, 0, 0]
    assert row(counts, 2, "madrs", "remission") == [1, 0, 1, 0, 1]


def test_response_pairs_need_a_baseline_above_0_and_remission_pairs_need_none(tmp_path):
    subjects = [
        Subject("A", scores={"week_8_arm_1": {"phq9": 3}, "week_16_arm_1": {"phq9": 8}}),  # no baseline
        Subject("B", scores=visits(0, 0, 0, scale="phq9")),  # baseline 0: cannot respond
        Subject("C", scores=visits(12, 4, 7, scale="phq9")),  # 67% then 42% reduction
    ]
    counts = paired_counts(tmp_path, subjects)
    assert row(counts, 1, "phq9", "response") == [1, 1, 0, 1, 0]
    # PHQ-9 < 5: A remits at week 8 only, B at both, C at week 8 only
    assert row(counts, 1, "phq9", "remission") == [3, 3, 1, 2, 0]


def test_every_cohort_and_planned_comparison_has_a_row_even_without_subjects(tmp_path):
    counts = paired_counts(tmp_path, [Subject("A", scores=visits(30, 12, 14))])
    assert len(counts) == 2 * 3 * 2  # cohorts x scales x kinds
    assert row(counts, 2, "hamd", "remission") == [0, 0, 0, 0, 0]
    assert list(counts.columns) == "cohort scale kind visit_a visit_b n count_a count_b b c n_out_of_window".split()
    assert set(zip(counts.visit_a, counts.visit_b, strict=True)) == {("week_8_arm_1", "week_16_arm_1")}


def test_subjects_outside_the_population_are_not_paired(tmp_path):
    counts = paired_counts(tmp_path, [Subject("A", included=0, scores=visits(30, 12, 14))])
    assert row(counts, 1, "madrs", "response") == [0, 0, 0, 0, 0]


def test_a_plan_may_restrict_the_comparisons_to_some_scales_and_kinds(tmp_path):
    plan = plan_variant(
        tmp_path, ('kinds = ["response", "remission"]', 'kinds = ["remission"]\nscales = ["madrs", "hamd"]')
    )
    counts = paired_counts(tmp_path, [Subject("A", scores=visits(30, 12, 8))], plan)
    assert sorted(set(zip(counts.scale, counts.kind, strict=True))) == [("hamd", "remission"), ("madrs", "remission")]
    text = " ".join(render_methods(read_plan(plan)))
    assert "remission on MADRS and HAM-D at Week 8 versus Week 16" in text


def test_a_plan_without_mcnemar_tables_runs_no_comparison_and_says_so(tmp_path):
    plan = plan_variant(
        tmp_path,
        ('[[mcnemar]]\nvisit_a = "week_8_arm_1"\nvisit_b = "week_16_arm_1"\nkinds = ["response", "remission"]\n', ""),
    )
    assert read_plan(plan).mcnemar == ()
    assert paired_counts(tmp_path, [Subject("A", scores=visits(30, 12, 8))], plan).empty
    assert "No comparison of paired rates (McNemar's test) was prespecified." in " ".join(
        render_methods(read_plan(plan))
    )


def test_the_methods_name_the_prespecified_comparisons_and_both_p_values(tmp_path):
    from registry.analysis.plan import default_plan_path

    text = " ".join(render_methods(read_plan(default_plan_path())))
    for words in (
        "McNemar's test in each cohort (response and remission on MADRS, PHQ-9 and HAM-D at Week 8 versus Week 16)",
        "continuity correction",
        "exact two-sided binomial p on the discordant pairs",
        "not adjusted for multiplicity",
    ):
        assert words in text, words


def test_the_report_table_gives_rates_discordant_counts_and_both_p_values():
    from registry.analysis.plan import default_plan_path

    plan = read_plan(default_plan_path())
    base = {"scale": "madrs", "visit_a": "week_8_arm_1", "visit_b": "week_16_arm_1"}
    results = {
        "mcnemar": [
            {
                **base, "cohort": 1, "kind": "response", "n": 40, "count_a": 23, "count_b": 29,
                "rate_a": 23 / 40, "rate_b": 29 / 40, "b": 3, "c": 9,
                "statistic": 2.08333333333333, "p": 0.148914673178766, "p_exact": 0.14599609375,
            },
            {
                **base, "cohort": 2, "kind": "remission", "n": 7, "count_a": 2, "count_b": 2,
                "rate_a": 2 / 7, "rate_b": 2 / 7, "b": 0, "c": 0, "statistic": None, "p": 1.0, "p_exact": 1.0,
            },
            {
                **base, "cohort": 2, "kind": "response", "n": 0, "count_a": 0, "count_b": 0,
                "rate_a": None, "rate_b": None, "b": 0, "c": 0, "statistic": None, "p": None, "p_exact": None,
            },
        ]
    }  # fmt: skip
    (table,) = mcnemar_tables(results, plan)
    assert (table["visit_a_label"], table["visit_b_label"]) == ("Week 8", "Week 16")
    cells = ["cohort_label", "scale", "kind", "n", "rate_a", "rate_b", "b", "c", "statistic", "p", "p_exact"]
    assert [[r[k] for k in cells] for r in table["rows"]] == [
        ["Sirolimus-augmented esketamine", "MADRS", "Response", "40", "23/40 (57.5%)", "29/40 (72.5%)", "3", "9",
         "2.08", "0.149", "0.146"],
        ["Esketamine alone", "MADRS", "Remission", "7", "2/7 (28.6%)", "2/7 (28.6%)", "0", "0", "–", "1.000", "1.000"],
        ["Esketamine alone", "MADRS", "Response", "0", "–", "–", "–", "–", "–", "–", "–"],
    ]  # fmt: skip
