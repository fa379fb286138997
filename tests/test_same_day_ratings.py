"""One source rated twice on one day: the plan's [ratings] same_day rule decides which rating
the analyses use, and the gate warns (protocol P8) naming the record, event, instance and field."""

from __future__ import annotations

import csv
import io
import json

import pytest
from analysis_registry import Subject, build_registry, plan_variant
from gate_registry import SAMPLE, registry_copy

BASE = "baseline_arm_1"


def subjects() -> list[Subject]:
    # S1: baseline 30; two sessions on day 14 rated 14 (instance 2) and 25 (instance 3);
    # response (<= 15) on day 14 by the first, on day 21 (12) otherwise
    s1 = Subject("S1", 1, scores={BASE: {"madrs": 30}}, sessions=[(7, 20), (14, 14), (14, 25), (21, 12)])
    others = [
        Subject(f"S{i}", 1 + i % 2, scores={BASE: {"madrs": 30}}, sessions=[(7, 28), (28, 10)]) for i in range(2, 6)
    ]
    return [s1, *others]


@pytest.mark.parametrize(
    "rule, onset",
    [("last_instance", 21), ("first_instance", 14), ("mean", 21)],  # mean 19.5 > 15: not a response
)
def test_the_plans_same_day_rule_picks_the_rating(tmp_path, rule, onset):
    from registry.workflow import analyze

    plan = plan_variant(tmp_path, ('same_day = "last_instance"', f'same_day = "{rule}"'))
    db = build_registry(tmp_path / "r.duckdb", subjects())
    res = analyze(db, plan, tmp_path / "out").results["time_to_response"]
    s1 = next(s for s in res["subjects"] if s["record_id"] == "S1")
    assert (s1["days"], s1["event"]) == (onset, True)


def test_an_unknown_same_day_rule_is_refused(tmp_path):
    from registry.analysis.plan import read_plan
    from registry.errors import PlanError

    plan = plan_variant(tmp_path, ('same_day = "last_instance"', 'same_day = "any"'))
    with pytest.raises(PlanError) as err:
        read_plan(plan)
    assert "ratings.same_day" in str(err.value.where)


def two_sessions_on_one_day(out):
    """The sample export with SIR-0001's second esketamine session moved onto its first's day."""
    rows = list(csv.reader(io.StringIO((SAMPLE / "sample_export.csv").read_text(), newline="")))
    head = rows[0]
    col = {name: head.index(name) for name in ("record_id", "redcap_repeat_instrument", "redcap_repeat_instance")}
    sessions = [
        r for r in rows[1:] if r[0] == "SIR-0001" and r[col["redcap_repeat_instrument"]] == "esketamine_session"
    ]
    first, second = sessions[0], sessions[1]
    assert first[head.index("esk_madrs_total")] and second[head.index("esk_madrs_total")]
    second[head.index("esk_date")] = first[head.index("esk_date")]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    out.write_text(buffer.getvalue())
    return out, int(first[col["redcap_repeat_instance"]]), int(second[col["redcap_repeat_instance"]])


def test_the_gate_warns_naming_record_event_instance_and_field(cli, tmp_path):
    export, a, b = two_sessions_on_one_day(tmp_path / "same_day.csv")
    db = registry_copy(tmp_path, export)
    result = cli("validate", "--db", db, "--json")
    out = json.loads(result.stdout)
    p8 = [f for f in out["findings"] if f["rule"] == "P8"]
    assert {(f["record_id"], f["event"], f["instance"], f["field"], f["severity"]) for f in p8} == {
        ("SIR-0001", "treatment_log_arm_1", a, "esk_madrs_total", "warning"),
        ("SIR-0001", "treatment_log_arm_1", b, "esk_madrs_total", "warning"),
    }
    assert out["passed"] is True  # a warning does not block the analysis
