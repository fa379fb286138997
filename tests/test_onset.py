"""Relapse among responders (onset of response / remission, who is at risk, time from onset)
and time to response from day 0, pinned to R (tests/data/r_reference/onset_reference.R)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from analysis_registry import Subject, build_registry, plan_variant, run_steps

from registry.analysis.onset import derive_onset
from registry.analysis.plan import read_plan
from registry.analysis.relapse import derive_relapse
from registry.analysis.run import analyze
from registry.errors import PlanError

REF = Path(__file__).parent / "data" / "r_reference"
BASE = "baseline_arm_1"


def responder(rid, *ratings, baseline=30, cohort=1, last_day=120, relapse_day=None):
    scores = {} if baseline is None else {BASE: {"madrs": baseline}}
    return Subject(
        rid, cohort=cohort, scores=scores, sessions=list(ratings), last_day=last_day, relapse_day=relapse_day
    )


def relapse_among(tmp_path, subjects, *replacements):
    db = build_registry(tmp_path / "r.duckdb", subjects)
    plan_path = plan_variant(tmp_path, *replacements) if replacements else None
    plan, con = run_steps(db, plan_path)
    times = derive_relapse(con, plan)
    population = con.execute("select * from _relapse_population").df()
    con.close()
    got = {r.record_id: (r.days, bool(r.event), r.criterion, r.origin) for r in times.itertuples()}
    return got, {r.record_id: r.not_at_risk_reason for r in population.itertuples() if not r.at_risk}


def test_relapse_counts_from_the_onset_of_response_and_only_after_it(tmp_path):
    got, out = relapse_among(
        tmp_path,
        [
            # high pair before the response (not a relapse), response on day 21 (15 <= 30/2),
            # relapse pair on days 28 and 35: event on day 28, 7 days after onset
            responder("A", (7, 28), (14, 27), (21, 15), (28, 25), (35, 26)),
            # responds on day 14, never relapses: censored at the last contact (120) - 14
            responder("B", (7, 20), (14, 14), (21, 12)),
            # never 50% below baseline: not at risk
            responder("C", (7, 20), (14, 16), (21, 16)),
            # no baseline MADRS: not at risk
            responder("D", (7, 10), (14, 10), baseline=None),
            # clinician relapse on the onset day does not count; the one after it does
            responder("E", (10, 12), (40, 12), relapse_day=10),
            responder("F", (10, 12), (40, 12), relapse_day=30),
        ],
    )
    assert got == {
        "A": (7, True, "score", 21),
        "B": (106, False, "censored", 14),
        "E": (110, False, "censored", 10),
        "F": (20, True, "clinician", 10),
    }
    assert out == {"C": "no onset", "D": "no baseline"}


def test_remitters_are_at_risk_from_their_first_madrs_below_10(tmp_path):
    got, out = relapse_among(
        tmp_path,
        [responder("A", (7, 14), (14, 9), (21, 24), (28, 25)), responder("B", (7, 14), (14, 12))],
        ('at_risk = "responders"', 'at_risk = "remitters"'),
    )
    assert got == {"A": (7, True, "score", 14)}
    assert out == {"B": "no onset"}


def test_responders_with_time_from_day_0_keep_the_onset_as_the_start_of_risk(tmp_path):
    got, _ = relapse_among(
        tmp_path,
        [responder("A", (7, 28), (14, 27), (21, 15), (28, 25), (35, 26))],
        ('origin = "onset"', 'origin = "day0"'),
    )
    assert got == {"A": (28, True, "score", 0)}


def test_at_risk_all_needs_time_from_day_0(tmp_path):
    path = plan_variant(tmp_path, ('at_risk = "responders"', 'at_risk = "all"'))
    with pytest.raises(PlanError, match="no onset to count time from"):
        read_plan(path)


def reference_subjects_from_csv() -> list[Subject]:
    by_id: dict[str, Subject] = {}
    with open(REF / "onset_data.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            s = by_id.setdefault(
                row["record_id"],
                Subject(
                    row["record_id"],
                    cohort=int(row["cohort"]),
                    scores={BASE: {"madrs": float(row["baseline"])}} if row["baseline"] else {},
                ),
            )
            s.sessions.append((int(row["day"]), int(row["score"])))
    return list(by_id.values())


def r_subjects() -> dict[str, tuple[float, bool]]:
    lines = (REF / "onset_reference.txt").read_text().splitlines()
    rows = [line.split(",") for line in lines if line.startswith('"T')]
    return {r[0].strip('"'): (float(r[2]), r[3] == "TRUE") for r in rows}


@pytest.fixture(scope="module")
def response(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("onset")
    db = build_registry(tmp / "r.duckdb", reference_subjects_from_csv())
    return analyze(db, None, tmp / "out").results["time_to_response"]


def test_time_to_response_subjects_are_those_r_derives(response):
    got = {s["record_id"]: (s["days"], s["event"]) for s in response["subjects"]}
    assert got == r_subjects()
    # T22 (cohort 1) and T05 (cohort 2) have no baseline; T09 (cohort 2) no rating after day 0
    assert response["left_out"] == {"1": {"no baseline": 1}, "2": {"no assessment after day 0": 1, "no baseline": 1}}
    assert {"record_id", "cohort", "days", "event"} <= set(response["subjects"][0])


def test_time_to_response_km_median_and_ci_match_r_survfit(response):
    # survfit(Surv(days, event) ~ cohort, conf.type = "log-log"); summary(fit)$table
    assert response["median_days"] == {"1": 70.0, "2": 77.0}
    assert response["median_ci"]["1"]["low"] == 49.0 and response["median_ci"]["1"]["high"] is None
    assert response["median_ci"]["2"] == {"low": 56.0, "high": 84.0}
    row = next(r for r in response["km"] if r["cohort"] == 2 and r["day"] == 77)
    assert (row["at_risk"], row["events"]) == (8, 4)
    assert row["survival"] == pytest.approx(0.323529411764706, abs=1e-12)
    assert row["ci_low"] == pytest.approx(0.1058009089544093, abs=1e-7)
    assert row["ci_high"] == pytest.approx(0.567264817345139, abs=1e-7)


def test_time_to_response_log_rank_and_cox_match_r(response):
    # survdiff(Surv(days, event) ~ cohort)$chisq
    assert response["logrank"]["chisq"] == pytest.approx(0.290209532510458, abs=1e-8)
    # coxph(Surv(days, event) ~ compare, ties = "efron"), compare = cohort 1 vs 2
    cox = response["cox"]
    assert cox["coef"] == pytest.approx(0.195886699216405, abs=1e-6)
    assert cox["se"] == pytest.approx(0.438923911493098, abs=1e-6)
    assert cox["p"] == pytest.approx(0.655388853703969, abs=1e-6)
    assert cox["covariates"] == []
    # coxph(Surv(days, event) ~ compare + baseline, ties = "efron")
    adjusted = response["cox_adjusted"]
    assert adjusted["covariates"] == ["baseline madrs"]
    assert adjusted["coef"] == pytest.approx(0.19315952681275911, abs=1e-6)
    assert adjusted["se"] == pytest.approx(0.4522705165468286, abs=1e-6)
    assert adjusted["p"] == pytest.approx(0.669314884404484, abs=1e-6)


def test_onset_days_are_those_of_time_to_response(tmp_path):
    db = build_registry(tmp_path / "r.duckdb", reference_subjects_from_csv())
    plan, con = run_steps(db)
    onset = derive_onset(con, plan)
    con.close()
    reference = r_subjects()
    for row in onset.itertuples():
        if row.record_id in reference and reference[row.record_id][1]:
            assert row.response_day == reference[row.record_id][0]


def test_the_report_says_who_is_at_risk_shows_time_to_response_and_that_cohorts_are_not_randomised(tmp_path):
    db = build_registry(tmp_path / "r.duckdb", reference_subjects_from_csv())
    from registry.workflow import analyze as analyze_and_report

    analyze_and_report(db, None, tmp_path / "out")
    md = (tmp_path / "out" / "report.md").read_text()
    html = (tmp_path / "out" / "report.html").read_text()
    for text in (md, html):
        assert "At risk of relapse: patients with an onset of response" in text
        assert "time counts from the onset day" in text
        assert "The cohorts are not randomised" in text
        assert "Time to response" in text and "Time to remission" in text
        assert "adjusted for baseline madrs" in text
