"""Exposure and disposition (results.json ``exposure`` and ``disposition``), from the user's
side: a registry in, ``registry analyze`` (library entry), results.json and the report out."""

from __future__ import annotations

import json

import pytest
from analysis_registry import Subject, build_registry, plan_variant

SECRET = "moved to Lisbon, call 555-0100"  # free text: must never leave the registry


def subjects() -> list[Subject]:
    def s(rid, cohort, sessions, doses=(), status=1, reason=None, included=1, session_doses=()):
        return Subject(
            rid,
            cohort,
            included=included,
            scores={"baseline_arm_1": {"madrs": 30}},
            sessions=[(d, None) for d in sessions],
            session_doses=list(session_doses),
            doses=list(doses),
            status=status,
            reason=reason,
        )

    return [
        # A1: the whole protocol (6 mg, 2 h before a session that day, days 0 and 28)
        s("A1", 1, [0, 7, 14, 28, 35], [(0, 6, 2, 1), (28, 6, 2, 1)], session_doses=[84, 84, 56, 84, 84]),
        # A2: second dose 27 days after the first: within the plan's +/- 3 days
        s("A2", 1, [0, 14, 27], [(0, 6, 2, 1), (27, 6, 2, 1)], status=2, reason=SECRET),
        # A3: 60 mg, and the second dose 40 days later on a day without a session
        s("A3", 1, [0, 10], [(0, 60, 2, 1), (40, 6, 2, 1)], status=3, reason="   "),
        # A4: a dose recorded but not taken; no sessions; no status recorded
        s("A4", 1, [], [(0, 6, None, 0)], status=None),
        # A5: one dose, 6 h before, no session that day
        s("A5", 1, [3], [(0, 6, 6, 1)], status=2),
        s("A6", 1, [0, 7, 14, 21, 28, 35, 42, 49]),
        s("B1", 2, [0, 7, 14, 21], session_doses=[56, 56, 56, 28], status=3, reason=SECRET),
        s("B2", 2, []),
        s("B3", 2, [0, 14]),
        # not in the analysis set: counts nowhere
        s("X1", 1, [0, 1, 2, 3, 4, 5, 6, 7, 8], [(0, 6, 2, 1)], status=2, reason=SECRET, included=0),
    ]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from registry.workflow import analyze

    tmp = tmp_path_factory.mktemp("exposure")
    db = build_registry(tmp / "r.duckdb", subjects())
    res = analyze(db, None, tmp / "out")
    return res


def pick(rows, cohort, category, level=None):
    return next(r for r in rows if (r["cohort"], r["category"], r["level"]) == (cohort, category, level))


def test_exposure_rows_have_the_documented_keys_one_per_cohort_and_level(run):
    rows = run.results["exposure"]
    keys = {"cohort", "category", "level", "label", "subjects", "count", "n", "percent", "median", "q1", "q3"}
    assert rows and all(set(r) == keys for r in rows)
    ids = [(r["cohort"], r["category"], r["level"]) for r in rows]
    assert len(ids) == len(set(ids))


def test_sessions_per_subject_quartiles_match_r_type_7(run):
    # tests/data/r_reference/exposure.R: quantile(c(5, 3, 2, 0, 1, 8), c(.25, .5, .75), type = 7)
    # = 1.25, 2.50, 4.50 (A4 without sessions counts as 0; X1 is not analysed)
    row = pick(run.results["exposure"], 1, "sessions")
    assert (row["q1"], row["median"], row["q3"]) == pytest.approx((1.25, 2.5, 4.5), abs=1e-12)
    assert (row["count"], row["subjects"], row["n"]) == (19, 5, 6)
    b = pick(run.results["exposure"], 2, "sessions")
    assert (b["count"], b["subjects"], b["n"], b["median"]) == (6, 2, 3, 2.0)


def test_sessions_by_dose_count_sessions_and_subjects(run):
    rows = run.results["exposure"]
    d56 = pick(rows, 1, "session_dose", "56")
    assert (d56["count"], d56["n"], d56["subjects"]) == (1, 19, 1)
    assert pick(rows, 1, "session_dose", "84")["count"] == 18
    b28, b56 = pick(rows, 2, "session_dose", "28"), pick(rows, 2, "session_dose", "56")
    # B1: 56, 56, 56, 28 mg; B3: two sessions at 84 mg
    assert (b28["count"], b56["count"], b56["n"]) == (1, 3, 6)
    assert b56["percent"] == pytest.approx(50.0) and pick(rows, 2, "session_dose", "84")["subjects"] == 1


def test_sirolimus_doses_taken_and_protocol_adherence(run):
    rows = run.results["exposure"]
    taken = pick(rows, 1, "sirolimus_doses")
    # doses taken: A1 2, A2 2, A3 2, A4 0 (not taken), A5 1, A6 0
    assert (taken["count"], taken["subjects"], taken["n"]) == (7, 4, 6)
    assert (taken["q1"], taken["median"], taken["q3"]) == pytest.approx((0.25, 1.5, 2.0))
    proto = {r["level"]: r for r in rows if r["cohort"] == 1 and r["category"] == "sirolimus_protocol"}
    assert list(proto) == ["dose", "timing", "interval", "first_day", "all"]
    # 6 mg: every taken dose but A3's first; takers all of whose doses were 6 mg: A1, A2, A5
    assert (proto["dose"]["count"], proto["dose"]["n"], proto["dose"]["subjects"]) == (6, 7, 3)
    # 2 h before a session that day: A1 x2, A2 x2, A3's first only; A5 took it 6 h before
    assert (proto["timing"]["count"], proto["timing"]["subjects"]) == (5, 2)
    # two doses 28 +/- 3 days apart: A1 (28), A2 (27); A3 is 40 apart, A5 took one
    assert (proto["interval"]["count"], proto["interval"]["n"]) == (2, 4)
    assert proto["first_day"]["count"] == 4
    assert proto["all"]["count"] == 2 and proto["all"]["percent"] == 50.0
    assert proto["all"]["label"] == "all of these" and proto["dose"]["label"] == "dose 6 mg"
    none = pick(rows, 2, "sirolimus_protocol", "all")
    assert (none["count"], none["n"], none["percent"]) == (0, 0, None)


def test_an_exact_interval_protocol_refuses_a_dose_one_day_off(tmp_path):
    from registry.workflow import analyze

    plan = plan_variant(tmp_path, ("interval_tolerance_days = 3, ", ""))
    db = build_registry(tmp_path / "r.duckdb", subjects())
    rows = analyze(db, plan, tmp_path / "out").results["exposure"]
    assert pick(rows, 1, "sirolimus_protocol", "interval")["count"] == 1  # A2's 27 days no longer counts


def test_disposition_counts_statuses_and_reasons_never_their_text(run):
    rows = run.results["disposition"]
    keys = {"cohort", "level", "label", "subjects", "percent", "with_reason", "without_reason"}
    assert rows and all(set(r) == keys for r in rows)
    got = {(r["cohort"], r["level"]): (r["subjects"], r["with_reason"], r["without_reason"]) for r in rows}
    assert got == {
        (1, "1"): (2, 0, 2),  # A1, A6
        (1, "2"): (2, 1, 1),  # A2 gave a reason, A5 none
        (1, "3"): (1, 0, 1),  # A3: a blank reason is no reason
        (1, None): (1, 0, 1),  # A4: no status recorded
        (2, "1"): (2, 0, 2),
        (2, "2"): (0, 0, 0),  # every status gets a row in every cohort
        (2, "3"): (1, 1, 0),
    }
    assert pick_disp(rows, 1, "2")["percent"] == pytest.approx(100 * 2 / 6)
    assert pick_disp(rows, 1, None)["label"] == "not recorded"


def pick_disp(rows, cohort, level):
    return next(r for r in rows if (r["cohort"], r["level"]) == (cohort, level))


def test_the_report_shows_exposure_and_disposition_and_no_reason_text(run):
    html = (run.out_dir / "report.html").read_text(encoding="utf-8")
    md = (run.out_dir / "report.md").read_text(encoding="utf-8")
    for text in (html, md):
        assert "Exposure" in text and "Disposition" in text
        assert "2.5 [1.2, 4.5]; 19 in 5 of 6" in text  # sessions per subject, cohort 1
        assert "2/4 (50.0%)" in text  # every protocol criterion met
    for path in run.out_dir.iterdir():
        assert "Lisbon" not in path.read_text(encoding="utf-8", errors="replace"), path.name
    assert "Lisbon" not in json.dumps(run.results)


def test_a_plan_without_exposure_or_disposition_writes_empty_rows_and_no_section(tmp_path):
    from registry.workflow import analyze

    full = plan_variant(tmp_path, name="full.toml").read_text(encoding="utf-8")
    plan = tmp_path / "plan.toml"
    plan.write_text(full[: full.index("[exposure]")], encoding="utf-8")  # the two tables come last
    db = build_registry(tmp_path / "r.duckdb", subjects())
    res = analyze(db, plan, tmp_path / "out")
    assert res.results["exposure"] == [] and res.results["disposition"] == []
    assert "<h2>Exposure</h2>" not in (res.out_dir / "report.html").read_text(encoding="utf-8")
