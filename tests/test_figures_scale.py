"""Figures that scale: individual trajectories for at most ``[report] max_trajectories``
subjects per cohort (a seeded sample beyond that, said in the caption), mean and quantile
bands over every subject."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from analysis_registry import build_registry, plan_variant, reference_subjects

from registry.analysis.plan import read_plan
from registry.analysis.trajectories import trajectory_means, trajectory_sample
from registry.errors import PlanError
from registry.workflow import analyze


def _frame(n_per_cohort: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for cohort in (1, 2):
        for i in range(n_per_cohort):
            for visit, day in (("baseline_arm_1", 0), ("week_8_arm_1", 56)):
                rows.append((f"C{cohort}-{i:05d}", cohort, "madrs", visit, day, float(rng.integers(0, 60))))
    return pd.DataFrame(rows, columns=["record_id", "cohort", "scale", "visit", "day", "score"])


def test_a_large_cohort_is_drawn_as_a_seeded_sample_of_the_limit_and_a_small_one_in_full():
    small = _frame(30).query("cohort == 1").assign(cohort=3, record_id=lambda d: "S" + d["record_id"])
    data = pd.concat([_frame(1000), small])
    drawn, counts = trajectory_sample(data, 200)
    assert counts == {1: (200, 1000), 2: (200, 1000), 3: (30, 30)}
    assert drawn.groupby("cohort")["record_id"].nunique().to_dict() == {1: 200, 2: 200, 3: 30}
    # a drawn subject keeps all its totals; the same seed draws the same subjects
    assert drawn.groupby("record_id").size().eq(2).all()
    again, _ = trajectory_sample(data, 200)
    assert again["record_id"].tolist() == drawn["record_id"].tolist()


def test_the_bands_are_the_quantiles_over_every_subject():
    data = _frame(1000)
    means = trajectory_means(data)
    one = data[(data.cohort == 2) & (data.visit == "week_8_arm_1")]["score"]
    row = means[(means.cohort == 2) & (means.visit == "week_8_arm_1")].iloc[0]
    assert row["n"] == 1000 and row["mean"] == pytest.approx(one.mean())
    for q in (10, 25, 50, 75, 90):
        assert row[f"q{q}"] == pytest.approx(np.quantile(one, q / 100))


def test_the_plan_sets_the_limit_and_refuses_a_negative_one(tmp_path):
    plan = read_plan(plan_variant(tmp_path, ("max_trajectories = 200", "max_trajectories = 7")))
    assert plan.max_trajectories == 7
    bad = plan_variant(tmp_path, ("max_trajectories = 200", "max_trajectories = -1"), name="bad.toml")
    with pytest.raises(PlanError, match="max_trajectories"):
        read_plan(bad)


def test_the_report_caption_says_how_many_subjects_each_cohort_draws(tmp_path):
    plan = plan_variant(tmp_path, ("max_trajectories = 200", "max_trajectories = 5"))
    db = build_registry(tmp_path / "r.duckdb", reference_subjects())
    res = analyze(db, plan, tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text()
    # results.json keeps the drawn subjects' totals only; the bands count every subject
    traj = res.results["trajectories"]
    drawn = {(c, r) for c, r in zip(traj["cohort"], traj["record_id"], strict=True)}
    assert sorted(c for c, _ in drawn) == [1] * 5 + [2] * 5
    assert {(s["cohort"], s["drawn"]) for s in traj["sample"]} == {(1, 5), (2, 5)}
    assert [s["subjects"] for s in traj["sample"] if s["cohort"] == 1] == [12]
    assert max(b["n"] for b in traj["bands"] if b["cohort"] == 1) == 12
    assert "random sample of 5 (seed" in html
    # the reference registry has 12 per-protocol subjects with totals in cohort 1
    assert "Sirolimus-augmented esketamine: 5 of 12 subjects" in html
    assert "Esketamine alone: 5 of " in html
