"""The benchmark's comparison script (bench/pandas_script.py) computes the same statistics as
``registry analyze``: every number both write to results.json agrees to 1e-9.

A seeded synthetic export is ingested, ``registry analyze`` and the script each write their
results.json, and the shared numbers are compared key by key: paired tests (Holm-adjusted
p included), rates with exact CIs, McNemar, the relapse subjects (days, event, criterion,
onset), time to response and to remission subjects, Kaplan-Meier rows, log-rank and both
Cox models. Medians are not compared: lifelines and R's rule differ when S(t) is exactly 0.5.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from sample_data.generate import generate_export

ROOT = Path(__file__).resolve().parents[1]
TOL = 1e-9


def close(a, b) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or math.isnan(a)) and (b is None or (isinstance(b, float) and math.isnan(b)))
    if isinstance(a, bool | str) or isinstance(b, bool | str):
        return a == b
    return abs(a - b) <= TOL * max(1.0, abs(a))


def compare_rows(ours: list[dict], theirs: list[dict], keys: list[str], values: list[str], what: str) -> int:
    """Assert that rows matched on ``keys`` agree on ``values``; return how many were compared."""
    index = {tuple(r[k] for k in keys): r for r in theirs}
    assert len(index) == len(ours), f"{what}: {len(ours)} rows in results.json, {len(index)} in the script's"
    for row in ours:
        other = index[tuple(row[k] for k in keys)]
        for v in values:
            assert close(row[v], other[v]), f"{what} {[row[k] for k in keys]} {v}: {row[v]} != {other[v]}"
    return len(ours)


def compare_survival(ours: dict, theirs: dict, what: str, subject_values: list[str]) -> None:
    compare_rows(ours["subjects"], theirs["subjects"], ["record_id"], subject_values, f"{what} subjects")
    km = ["at_risk", "events", "survival", "ci_low", "ci_high"]
    assert compare_rows(ours["km"], theirs["km"], ["cohort", "day"], km, f"{what} km") > 0
    for key in ("chisq", "p"):
        assert close(ours["logrank"][key], theirs["logrank"][key]), f"{what} logrank {key}"
    for model in ("cox", "cox_adjusted"):
        for key in ("hr", "ci_low", "ci_high", "p", "coef", "se", "n", "events"):
            assert close(ours[model][key], theirs[model][key]), (
                f"{what} {model} {key}: {ours[model][key]} != {theirs[model][key]}"
            )


def compare_results(ours: dict, theirs: dict) -> None:
    """Every number the script shares with the registry's results.json agrees to 1e-9."""
    paired = [
        "n",
        "n_population",
        "mean_baseline",
        "sd_baseline",
        "mean_followup",
        "sd_followup",
        "mean_change",
        "sd_change",
        "ci_low",
        "ci_high",
        "t",
        "df",
        "p_two_sided",
        "p_adjusted",
        "cohens_dz",
        "hedges_gz",
    ]
    assert compare_rows(ours["paired"], theirs["paired"], ["cohort", "scale", "visit"], paired, "paired") == 12
    compare_rows(
        ours["rates"],
        theirs["rates"],
        ["cohort", "scale", "visit", "kind"],
        ["count", "n", "rate", "ci_low", "ci_high"],
        "rates",
    )
    compare_rows(
        ours["mcnemar"],
        theirs["mcnemar"],
        ["cohort", "scale", "kind", "visit_a", "visit_b"],
        ["n", "count_a", "count_b", "b", "c", "statistic", "p", "p_exact"],
        "mcnemar",
    )
    compare_survival(
        ours["relapse"], theirs["relapse"], "relapse", ["cohort", "days", "event", "criterion", "onset_day"]
    )
    for kind in ("response", "remission"):
        compare_survival(ours[f"time_to_{kind}"], theirs[f"time_to_{kind}"], kind, ["cohort", "days", "event"])


def plant_edge_cases(db: Path) -> None:
    """Totals outside their visit window, and two sessions of one subject on one day."""
    import duckdb

    con = duckdb.connect(str(db))
    con.execute(
        "update batch_1.madrs set madrs_date = madrs_date + 30 "
        "where redcap_event_name = 'week_8_arm_1' and record_id in (select distinct record_id from batch_1.madrs "
        "order by record_id limit 60)"
    )
    con.execute(
        "update batch_1.phq9 set phq9_date = null "
        "where redcap_event_name = 'baseline_arm_1' and record_id in (select distinct record_id from batch_1.phq9 "
        "order by record_id desc limit 40)"
    )
    con.execute(
        "insert into batch_1.esketamine_session by name select * replace "
        "(redcap_repeat_instance + 100 as redcap_repeat_instance, esk_madrs_total + 9 as esk_madrs_total) "
        "from batch_1.esketamine_session where esk_madrs_total is not null and record_id in "
        "(select distinct record_id from batch_1.esketamine_session order by record_id limit 80)"
    )
    con.close()


@pytest.fixture(scope="module")
def both(tmp_path_factory) -> tuple[dict, dict]:
    tmp = tmp_path_factory.mktemp("script")
    export = tmp / "export.csv"
    export.write_text(generate_export(patients=600, seed=11))
    db = tmp / "registry.duckdb"
    bin_ = Path(sys.executable).parent
    subprocess.run([bin_ / "registry", "ingest", export, "--db", db], check=True, capture_output=True)
    plant_edge_cases(db)
    subprocess.run(
        [bin_ / "registry", "analyze", "--db", db, "--out", tmp / "registry", "--override-gate", "test"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [sys.executable, ROOT / "bench" / "pandas_script.py", "--db", db, "--out", tmp / "script"],
        check=True,
        capture_output=True,
    )
    ours = json.loads((tmp / "registry" / "results.json").read_text())
    theirs = json.loads((tmp / "script" / "results.json").read_text())
    return ours, theirs


def test_script_agrees_with_registry(both):
    ours, theirs = both
    assert ours["relapse"]["km"], "the test registry has relapses"
    assert any(r["n_out_of_window"] for r in ours["paired"]), "some totals are outside their window"
    compare_results(ours, theirs)


def test_comparison_can_fail(both):
    ours, theirs = both
    changed = json.loads(json.dumps(theirs))
    changed["paired"][3]["mean_change"] += 1e-6
    with pytest.raises(AssertionError, match="mean_change"):
        compare_results(ours, changed)
