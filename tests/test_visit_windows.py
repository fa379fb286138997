"""Visit windows (plan ``[visits.windows]``): paired tests, rates, McNemar and the mixed
model use in-window totals only; out-of-window totals are counted as left out."""

from __future__ import annotations

import pytest
from analysis_registry import Subject, build_registry, plan_variant

from registry.errors import PlanError

W8, W16, BASE = "week_8_arm_1", "week_16_arm_1", "baseline_arm_1"


def subjects() -> list[Subject]:
    c1 = [(30, 18, 15), (28, 25, 22), (34, 12, 10), (31, 29, 27), (27, 20, 18), (33, 14, 12)]
    c2 = [(30, 28, 26), (29, 30, 27), (32, 25, 24)]
    out = []
    for cohort, rows in ((1, c1), (2, c2)):
        for i, (b, w8, w16) in enumerate(rows, start=1):
            out.append(
                Subject(f"W{cohort}{i}", cohort, scores={BASE: {"madrs": b}, W8: {"madrs": w8}, W16: {"madrs": w16}})
            )
    out[2].visit_days = {W8: 80}  # W13: the week-8 total 10 days after the window closes
    out[8].visit_days = {BASE: -20}  # W23: baseline 6 days before the window opens
    return out


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    from registry.workflow import analyze

    tmp = tmp_path_factory.mktemp("windows")
    db = build_registry(tmp / "r.duckdb", subjects())
    return analyze(db, None, tmp / "out").results


def paired(results, cohort, visit):
    return next(r for r in results["paired"] if (r["cohort"], r["scale"], r["visit"]) == (cohort, "madrs", visit))


def test_a_week_8_total_at_day_80_is_left_out_of_the_paired_test_as_out_of_window(results):
    r = paired(results, 1, W8)
    assert (r["n"], r["n_population"], r["n_out_of_window"], r["n_missing_followup"]) == (5, 6, 1, 0)
    # tests/data/r_reference/visit_windows.R: t.test(wk8, base, paired = TRUE) over the other 5 pairs
    assert r["mean_change"] == pytest.approx(-8.6, abs=1e-12)
    assert r["t"] == pytest.approx(-2.7387979477834725, abs=1e-9)
    assert r["p_two_sided"] == pytest.approx(0.0519697866457406, abs=1e-9)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((-17.3182144721647617, 0.1182144721647631), abs=1e-9)
    # week 16 of the same subject is inside its window and counts
    assert (paired(results, 1, W16)["n"], paired(results, 1, W16)["n_out_of_window"]) == (6, 0)


def test_a_baseline_outside_its_window_leaves_out_every_pair_of_the_subject(results):
    for visit in (W8, W16):
        r = paired(results, 2, visit)
        assert (r["n"], r["n_out_of_window"], r["n_missing_baseline"]) == (2, 1, 0)


def test_rates_and_mcnemar_count_out_of_window_subjects_as_left_out(results):
    rates = {(r["cohort"], r["visit"], r["kind"]): r for r in results["rates"] if r["scale"] == "madrs"}
    # W13 responded at day 80 (34 -> 12): not counted at week 8; W16 (33 -> 14) did, in window
    assert (rates[(1, W8, "response")]["count"], rates[(1, W8, "response")]["n"]) == (1, 5)
    assert rates[(1, W8, "remission")]["n"] == 5
    windows = results["visit_windows"]
    assert windows["windows"][W8] == {"first": 42, "last": 70}
    left = {(r["cohort"], r["scale"], r["visit"], r["kind"]): r["n_out_of_window"] for r in windows["rates"]}
    assert left[(1, "madrs", W8, "response")] == 1 and left[(1, "madrs", W8, "remission")] == 1
    # W23's follow-up totals are in window: remission known, response not (baseline outside)
    assert left[(2, "madrs", W16, "response")] == 1 and left[(2, "madrs", W16, "remission")] == 0
    mcnemar = {(r["cohort"], r["scale"], r["kind"]): r["n_out_of_window"] for r in windows["mcnemar"]}
    assert mcnemar[(1, "madrs", "response")] == 1 and mcnemar[(2, "madrs", "remission")] == 0
    row = next(r for r in results["mcnemar"] if (r["cohort"], r["scale"], r["kind"]) == (1, "madrs", "response"))
    assert row["n"] == 5


def test_the_mixed_model_uses_in_window_totals_only(results):
    fits = {m["scale"] if "scale" in m else m.get("outcome"): m for m in results["mmrm"]}
    madrs = fits.get("madrs")
    assert madrs is not None and madrs["n_observations"] == 5 + 6 + 2 + 2


def test_without_windows_every_total_counts(tmp_path):
    from registry.workflow import analyze

    plan = plan_variant(
        tmp_path,
        ("baseline_arm_1 = [-14, 0]\nweek_8_arm_1 = [42, 70]\nweek_16_arm_1 = [98, 126]\n", ""),
    )
    db = build_registry(tmp_path / "r.duckdb", subjects())
    r = analyze(db, plan, tmp_path / "out").results
    assert (paired(r, 1, W8)["n"], paired(r, 1, W8)["n_out_of_window"]) == (6, 0)
    assert r["visit_windows"]["windows"] == {}


@pytest.mark.parametrize(
    "window, message",
    [
        ("week_8_arm_1 = [70, 42]", "ends before it starts"),
        ("week_8_arm_1 = [42]", "is not [first day, last day]"),
        ("week_9_arm_1 = [42, 70]", "is not the baseline or a follow-up visit"),
    ],
)
def test_a_malformed_window_is_refused_naming_the_key(tmp_path, window, message):
    from registry.analysis.plan import read_plan

    plan = plan_variant(tmp_path, ("week_8_arm_1 = [42, 70]", window))
    with pytest.raises(PlanError) as err:
        read_plan(plan)
    assert message in str(err.value) and "visits.windows" in str(err.value.where)
