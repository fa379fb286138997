"""ADaM datasets: ADSL, ADQS, ADTTE of the sample registry agree with `registry analyze`."""

from __future__ import annotations

import doctest
import re

import pandas as pd
import pytest
from adam_fixtures import TOTAL_CODES, VISITS, edited_sample, read_sample_rows, sample_registry

from registry import store
from registry.adam import AdamError, adqs, adsl, adtte, transport
from registry.adam.build import build_adam


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    db, results = sample_registry(tmp_path_factory.mktemp("adam"))
    return build_adam(db), results, db


def test_adsl_has_exactly_one_row_per_record_of_the_registry(sample):
    data, _, db = sample
    con = store.connect(db, read_only=True)
    records = sorted(r[0] for r in con.execute("select record_id from main._records").fetchall())
    con.close()
    frame = data.adsl.frame
    assert frame["USUBJID"].is_unique
    assert sorted(frame["USUBJID"]) == records
    assert (frame["STUDYID"] == "REGISTRY").all()


def test_adsl_variables_copied_into_adqs_and_adtte_keep_their_adsl_values_and_labels(sample):
    data, _, _ = sample
    adsl = data.adsl.frame.set_index("USUBJID")
    for dataset in (data.adqs, data.adtte):
        for name in ("STUDYID", "SITEID", "TRT01P", "TRT01PN", "PPROTFL"):
            assert dataset.labels[name] == data.adsl.labels[name], (dataset.name, name)
            copied = dataset.frame.set_index("USUBJID")[name]
            assert (copied.fillna("") == adsl.loc[copied.index, name].fillna("")).all(), (dataset.name, name)


def test_the_per_protocol_flag_and_cohorts_match_the_analysis_population(sample):
    data, results, _ = sample
    frame = data.adsl.frame
    for row in results["population"]["flow"]:
        cohort = frame[frame["TRT01PN"] == row["cohort"]]
        assert len(cohort) == row["records"]
        assert (cohort["PPROTFL"] == "Y").sum() == row["included"]
        assert (cohort["ELIGFL"] == "Y").sum() == row["eligible"]
    assert set(frame["TRT01P"].dropna()) == {"Sirolimus-augmented esketamine", "Esketamine alone"}


def test_every_paired_test_uses_the_anl01fl_records_with_the_same_n_and_mean_change(sample):
    data, results, _ = sample
    q = data.adqs.frame
    for p in results["paired"]:
        used = q[
            (q["PARAMCD"] == TOTAL_CODES[p["scale"]])
            & (q["AVISIT"] == VISITS[p["visit"]])
            & (q["TRT01PN"] == p["cohort"])
            & (q["ANL01FL"] == "Y")
        ]
        assert len(used) == p["n"], p
        if p["n"]:
            assert used["CHG"].mean() == pytest.approx(p["mean_change"], abs=1e-12)
            assert used["BASE"].mean() == pytest.approx(p["mean_baseline"], abs=1e-12)
            assert used["AVAL"].mean() == pytest.approx(p["mean_followup"], abs=1e-12)


def test_anl01fl_marks_only_totals_of_per_protocol_subjects_and_their_baselines(sample):
    data, _, _ = sample
    q = data.adqs.frame
    flagged = q[q["ANL01FL"] == "Y"]
    assert set(flagged["PARAMCD"]) == set(TOTAL_CODES.values())
    assert (flagged["PPROTFL"] == "Y").all()
    base = flagged[flagged["ABLFL"] == "Y"]
    post = flagged[flagged["ABLFL"] != "Y"]
    # every flagged baseline is used by at least one flagged follow-up of the same subject and parameter
    keys = ["USUBJID", "PARAMCD"]
    assert set(base[keys].itertuples(index=False)) == set(post[keys].itertuples(index=False))


def test_chg_is_aval_minus_base_after_baseline_only(sample):
    q = sample[0].adqs.frame
    post = q[q["ABLFL"] != "Y"]
    both = post.dropna(subset=["BASE"])
    assert ((both["AVAL"] - both["BASE"]) == both["CHG"]).all()
    assert q.loc[q["ABLFL"] == "Y", "CHG"].isna().all()
    assert q.loc[q["ABLFL"] == "Y", "PCHG"].isna().all()
    pchg = (both["AVAL"] - both["BASE"]) / both["BASE"].abs() * 100
    nonzero = both["BASE"] != 0
    assert (pchg[nonzero] - both.loc[nonzero, "PCHG"]).abs().max() < 1e-9


def test_there_is_one_record_per_subject_parameter_and_visit_with_a_baseline_flag_at_baseline(sample):
    q = sample[0].adqs.frame
    assert not q.duplicated(["USUBJID", "PARAMCD", "AVISITN", "SRCSEQ"]).any()
    q = q[q["AVISIT"] != "Session rating"]
    assert not q.duplicated(["USUBJID", "PARAMCD", "AVISITN"]).any()
    assert set(q.loc[q["ABLFL"] == "Y", "AVISIT"]) == {"Baseline"}
    assert set(q["AVISITN"]) == {0, 56, 112}
    first = q[q["ABLFL"] == "Y"].set_index(["USUBJID", "PARAMCD"])["AVAL"]
    keyed = q.set_index(["USUBJID", "PARAMCD"])
    assert (keyed["BASE"].dropna() == first.reindex(keyed["BASE"].dropna().index)).all()


def test_ady_is_the_study_day_of_the_forms_assessment_date(sample):
    data, _, db = sample
    con = store.connect(db, read_only=True)
    days = dict(
        ((r, e), d)
        for r, e, d in con.execute("select record_id, redcap_event_name, madrs_date from main.madrs").fetchall()
    )
    con.close()
    q = data.adqs.frame
    madrs = q[q["PARAMCD"] == "MADRSTOT"]
    events = {"Baseline": "baseline_arm_1", **{v: k for k, v in VISITS.items()}}
    for row in madrs.itertuples():
        expected = days[(row.USUBJID, events[row.AVISIT])]
        assert (pd.isna(row.ADY) and expected is None) or row.ADY == expected


def test_paramcd_has_at_most_8_characters_and_is_one_to_one_with_param(sample):
    q = sample[0].adqs.frame
    pairs = q[["PARAMCD", "PARAM"]].drop_duplicates()
    assert pairs["PARAMCD"].is_unique and pairs["PARAM"].is_unique
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]{0,7}", c) for c in pairs["PARAMCD"])
    assert (pairs["PARAM"].str.len() <= 40).all()
    codes = set(pairs["PARAMCD"])
    assert {"MADRSTOT", "PHQ9TOT", "HAMD17T", "MADRS01", "MADRS10", "PHQ901", "PHQ910", "HAMD01", "HAMD17"} <= codes
    assert len(codes) == 3 + 10 + 10 + 17 + 1  # and MADRSSES, the session ratings


def test_adsl_baseline_totals_are_the_adqs_baseline_values(sample):
    data, _, _ = sample
    q, s = data.adqs.frame, data.adsl.frame.set_index("USUBJID")
    for code, var in (("MADRSTOT", "MADRSBL"), ("PHQ9TOT", "PHQ9BL"), ("HAMD17T", "HAMD17BL")):
        base = q[(q["PARAMCD"] == code) & (q["ABLFL"] == "Y")].set_index("USUBJID")["AVAL"]
        assert (s.loc[base.index, var] == base).all()
        assert s.loc[~s.index.isin(base.index), var].isna().all()


def test_race_is_multiple_when_more_than_one_box_is_ticked(sample):
    data, _, db = sample
    con = store.connect(db, read_only=True)
    ticks = dict(
        con.execute(
            "select record_id, (dem_race___1::int + dem_race___2::int + dem_race___3::int + dem_race___4::int "
            "+ dem_race___5::int + dem_race___6::int + dem_race___99::int) from main.demographics"
        ).fetchall()
    )
    con.close()
    frame = data.adsl.frame.set_index("USUBJID")
    multiple = {r for r, n in ticks.items() if n and n > 1}
    assert multiple, "the sample has subjects with several races"
    assert set(frame.index[frame["RACE"] == "MULTIPLE"]) == multiple
    assert frame.loc[list(multiple), "RACEN"].isna().all()
    assert set(frame["SEX"].dropna()) <= {"F", "M", "U", "OTHER"}


PARTS = {"RELAPSE": "relapse", "TTRESP": "time_to_response", "TTREMIS": "time_to_remission"}


def test_adtte_has_one_parameter_per_time_to_event_analysis_with_the_times_of_results_json(sample):
    data, results, _ = sample
    t = data.adtte.frame
    assert list(dict.fromkeys(t["PARAMCD"])) == list(PARTS)
    assert not t.duplicated(["USUBJID", "PARAMCD"]).any()
    for code, part in PARTS.items():
        rows = t[t["PARAMCD"] == code]
        subjects = {s["record_id"]: s for s in results[part]["subjects"]}
        assert len(rows) == len(subjects) and set(rows["USUBJID"]) == set(subjects), code
        for row in rows.itertuples():
            s = subjects[row.USUBJID]
            assert row.AVAL == s["days"] and (row.CNSR == 0) == s["event"] and row.TRT01PN == s["cohort"]
            assert row.ADY == row.STARTDT + row.AVAL
            assert (row.CNSDTDSC is None) == (row.CNSR == 0)
            if code == "RELAPSE":  # among responders, from the onset of response
                assert row.STARTDT == s["onset_day"] and s["onset_day"] > 0
            else:  # from day 0; the event's study day is the onset day
                assert row.STARTDT == 0
                assert row.ADY == s["onset_day"] if s["event"] else pd.isna(s["onset_day"])
        assert rows["PARAM"].nunique() == 1
    assert set(t["CNSR"]) <= set(data.adtte.value_labels["CNSR"])
    assert t.groupby(["PARAMCD", "CNSR"])["EVNTDESC"].nunique().max() <= 3
    assert set(t.loc[t["PARAMCD"] == "TTRESP", "EVNTDESC"]) == {
        "ONSET OF RESPONSE: MADRS >= 50% BELOW BASELINE",
        "CENSORED AT LAST MADRS ASSESSMENT",
    }


def test_response_onset_re_derived_from_adqs_session_and_visit_ratings_is_that_of_results_json(sample):
    """From the exported ADQS alone: MADRS ratings after day 0 (visit totals MADRSTOT and session
    ratings MADRSSES; on a day with both, the visit's, the plan's first-listed source); the onset of
    response is the first whose PCHG (from the baseline MADRSTOT) is -50% or lower."""
    data, results, _ = sample
    q = data.adqs.frame
    ratings = q[q["PARAMCD"].isin(["MADRSTOT", "MADRSSES"]) & q["ADY"].notna() & q["AVAL"].notna()]
    ratings = ratings[ratings["ADY"] > 0].assign(rank=(ratings["PARAMCD"] == "MADRSSES").astype(int))
    per_day = ratings.sort_values(["USUBJID", "ADY", "rank"]).drop_duplicates(["USUBJID", "ADY"])
    assert (per_day["PARAMCD"] == "MADRSSES").sum() > 1000  # the session ratings carry most days
    hit = per_day[per_day["PCHG"] <= -50]
    onset = hit.groupby("USUBJID")["ADY"].min().to_dict()
    response = results["time_to_response"]["subjects"]
    assert sum(s["event"] for s in response) > 10
    for s in response:
        assert onset.get(s["record_id"]) == (s["onset_day"] if s["event"] else None), s
    for s in results["relapse"]["subjects"]:
        assert onset[s["record_id"]] == s["onset_day"]


def test_session_ratings_are_every_rated_session_row_with_its_own_parameter_code(sample):
    data, _, db = sample
    con = store.connect(db, read_only=True)
    rows = con.execute(
        "select record_id, redcap_repeat_instance, esk_date, esk_madrs_total from main.esketamine_session "
        "where esk_madrs_total is not null"
    ).fetchall()
    con.close()
    q = data.adqs.frame
    session = q[q["PARAMCD"] == "MADRSSES"]
    got = {(r.USUBJID, r.SRCSEQ, r.ADY, r.AVAL) for r in session.itertuples()}
    assert got == set(rows)
    assert set(session["AVISIT"]) == {"Session rating"} and session["AVISITN"].isna().all()
    assert set(session["PARAM"]) == {"MADRS Total Score (session rating)"}
    assert (session["SRCDOM"] == "esketamine_session").all() and (session["SRCVAR"] == "esk_madrs_total").all()
    assert session["ABLFL"].isna().all() and session["ANL01FL"].isna().all()
    base = q[(q["PARAMCD"] == "MADRSTOT") & (q["ABLFL"] == "Y")].set_index("USUBJID")["AVAL"]
    with_base = session[session["USUBJID"].isin(base.index)]
    assert (with_base["BASE"] == base.loc[with_base["USUBJID"]].to_numpy()).all()


def test_pchg_is_missing_when_the_baseline_is_zero(tmp_path, cli):
    header, rows = read_sample_rows()
    at = {h: i for i, h in enumerate(header)}
    subject = next(r[0] for r in rows if r[at["redcap_event_name"]] == "week_8_arm_1" and r[at["madrs_total"]])

    def zero_baseline(row):
        if row["record_id"] == subject and row["redcap_event_name"] == "baseline_arm_1":
            for i in range(1, 11):
                row[f"madrs_{i}"] = "0"
            row["madrs_total"] = "0"

    db = tmp_path / "r.duckdb"
    assert cli("ingest", edited_sample(tmp_path / "zero.csv", zero_baseline), "--db", db).exit_code == 0
    q = build_adam(db).adqs.frame
    rows = q[(q["USUBJID"] == subject) & (q["PARAMCD"] == "MADRSTOT")]
    post = rows[rows["ABLFL"] != "Y"]
    assert len(post) and (post["BASE"] == 0).all()
    assert (post["CHG"] == post["AVAL"]).all()
    assert post["PCHG"].isna().all()


def test_export_of_a_registry_of_another_project_is_refused_with_the_plan_to_pass(tmp_path, cli):
    from conftest import REDCAP

    long = REDCAP / "REDCapR" / "longitudinal"
    db = tmp_path / "other.duckdb"
    result = cli(
        "ingest", long / "data.csv", "--dictionary", long / "dictionary.csv", "--events", long / "event.csv", "--db", db
    )
    assert result.exit_code == 0, result.stderr
    result = cli("export", "--db", db, "--format", "csv", "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: the plan names form `eligibility`")
    assert "--plan" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_missing_demographic_field_is_an_adam_error_naming_it(sample):
    from registry.adam.source import DemographicFields

    db = sample[2]
    with pytest.raises(AdamError, match="form `demographics` has no column `dem_gender`"):
        build_adam(db, spec=DemographicFields(sex="dem_gender"))


@pytest.mark.parametrize("module", [adsl, adqs, adtte, transport])
def test_the_docstring_examples_run(module):
    failures, _ = doctest.testmod(module)
    assert failures == 0
