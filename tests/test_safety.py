"""Adverse-event rows by cohort (results.json ``adverse_events``)."""

from __future__ import annotations

import pandas as pd

from registry.analysis.safety import adverse_event_rows

EVENTS = pd.DataFrame(
    [
        # record_id, date, term, severity, serious, related
        ("A1", 5, "Nausea", 1, False, 3),
        ("A1", 9, " nausea ", 2, False, 1),
        ("A1", 12, "Dissociation", 1, True, 4),
        ("A2", 3, "NAUSEA", 1, False, 2),
        ("A9", 3, "Headache", 3, True, 4),  # not in the analysis set
        ("B1", 7, "Headache", None, False, None),
    ],
    columns=["record_id", "date", "term", "severity", "serious", "related"],
)
SUBJECTS = pd.DataFrame({"record_id": ["A1", "A2", "A3", "A4", "B1", "B2"], "cohort": [1, 1, 1, 1, 2, 2]})


def rows():
    return adverse_event_rows(EVENTS, SUBJECTS, [1, 2])


def pick(cohort, category, level=None):
    return next(
        (r["subjects"], r["events"], r["percent"])
        for r in rows()
        if (r["cohort"], r["category"], r["level"]) == (cohort, category, level)
    )


def test_any_and_serious_count_subjects_and_events_over_the_cohorts_analysis_set():
    assert pick(1, "any") == (2, 4, 50.0)
    assert pick(1, "serious") == (1, 1, 25.0)
    assert pick(2, "any") == (1, 1, 50.0) and pick(2, "serious") == (0, 0, 0.0)


def test_severity_and_relatedness_count_subjects_by_their_worst_event():
    # A1's worst severity is 2 (one event at 1 twice, one at 2); A2's is 1
    assert pick(1, "severity", "1") == (1, 3, 25.0)
    assert pick(1, "severity", "2") == (1, 1, 25.0)
    # A1's strongest relatedness is 4, A2's is 2
    assert pick(1, "related", "4") == (1, 1, 25.0) and pick(1, "related", "2") == (1, 1, 25.0)
    assert pick(1, "related", "1") == (0, 1, 0.0)


def test_terms_are_trimmed_and_case_folded_most_frequent_first():
    terms = [(r["level"], r["subjects"], r["events"]) for r in rows() if r["cohort"] == 1 and r["category"] == "term"]
    assert terms == [("nausea", 2, 3), ("dissociation", 1, 1)]
    assert all(set(r) == {"cohort", "category", "level", "subjects", "events", "percent"} for r in rows())
