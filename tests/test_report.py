"""The report: golden text of its tables (the numbers behind figures, not image bytes), the
methods paragraph generated from the plan, banners, and self-containedness."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest
from analysis_registry import build_registry, day0_plan, plan_variant, reference_subjects

from registry.analysis.methods import render_methods
from registry.analysis.plan import default_plan_path, read_plan
from registry.analysis.trajectories import trajectory_data
from registry.report.figures import km_curve_data
from registry.report.tables import fmt, fmt_p
from registry.workflow import analyze


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    db = build_registry(tmp / "r.duckdb", reference_subjects())
    res = analyze(db, day0_plan(tmp), tmp / "out")  # everyone from day 0: the R reference data
    return res, (tmp / "out" / "report.md").read_text(), (tmp / "out" / "report.html").read_text()


def section(markdown: str, heading: str) -> str:
    start = markdown.index(heading)
    end = markdown.find("\n#", start + len(heading))
    return markdown[start : end if end > 0 else None].strip()


def test_the_paired_table_has_the_pilots_layout_with_r_reference_numbers(report):
    _, md, _ = report
    table = section(md, "### Week 8 vs Baseline: Sirolimus-augmented esketamine")
    lines = table.splitlines()
    assert lines[2] == (
        "| Outcome | n | Left out | Baseline mean (SD) | Week 8 mean (SD) | Mean Δ [95% CI] | p | Cohen's d "
        "| t | df | p (Holm) | Hedges' g |"
    )
    # t.test(wk8_1, base1, paired = TRUE): mean -8.4 [-13.18, -3.62], p 0.00324, t -3.97, df 9
    assert lines[4] == (
        "| MADRS | 10 | 2 (2 no follow-up) | 30.5 (3.0) | 22.1 (4.5) | −8.40 [−13.18, −3.62] | 0.003 "
        "| −1.26 | −3.97 | 9 | 0.006 | −1.15 |"
    )
    assert lines[5] == "| PHQ-9 | 0 | 12 (12 neither) | – | – | – | – | – | – | – | – | – |"
    other = section(md, "### Week 8 vs Baseline: Esketamine alone").splitlines()
    # t.test(wk8_2, base2, paired = TRUE): mean 1.625 [-0.37, 3.62], p 0.0955, t 1.93, df 7
    assert other[4] == (
        "| MADRS | 8 | 4 (1 no baseline, 3 no follow-up) | 28.6 (2.7) | 30.2 (3.0) "
        "| 1.62 [−0.37, 3.62] | 0.096 | 0.68 | 1.93 | 7 | 0.096 | 0.61 |"
    )
    # the planning figure (pairs for 80% power at the observed d_z) is in the appendix
    appendix = section(md, "## Appendix: planning figures")
    assert "| Sirolimus-augmented esketamine | Week 8 | MADRS | 10 | −1.26 | 8 |" in appendix
    assert "| Esketamine alone | Week 8 | MADRS | 8 | 0.68 | 19 |" in appendix


def test_there_is_one_paired_table_per_visit_and_cohort(report):
    _, md, html = report
    assert len(re.findall(r"^### (Week 8|Week 16) vs Baseline: ", md, flags=re.M)) == 4
    assert html.count("<h3>Week 8 vs Baseline") == 2 and html.count("<h3>Week 16 vs Baseline") == 2


def test_the_flow_of_counts_goes_from_records_to_visits(report):
    _, md, _ = report
    assert section(md, "## Flow of records").splitlines()[2:] == [
        "| Cohort | Records | Eligible | Per-protocol set | With Week 8 | With Week 16 | Not at risk of relapse "
        "| At risk of relapse |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        "| Sirolimus-augmented esketamine | 13 | 13 | 12 | 10 | 0 | 0 | 12 |",
        "| Esketamine alone | 13 | 13 | 12 | 9 | 0 | 0 | 12 |",
        "| Total | 26 | 26 | 24 | 19 | 0 | 0 | 24 |",
        "",
        "Eligible: every eligibility criterion met. Per-protocol set: the analysis population "
        "(eligibility.elig_included = 1). “With” a visit: records of the per-protocol set with a total on any "
        "outcome at that visit.",
    ]


def test_the_relapse_section_states_medians_log_rank_and_cox_as_r_computes_them(report):
    _, md, _ = report
    text = section(md, "## Time to relapse")
    # print(survfit(..., conf.type = "log-log")): median 90, 0.95LCL 20, 0.95UCL NA; 41, 15, NA
    assert "| Sirolimus-augmented esketamine | 12 | 6 | 0 | 6 | 0 | 90 days | [20, not reached] |" in text
    assert "| Esketamine alone | 12 | 8 | 0 | 8 | 0 | 41 days | [15, not reached] |" in text
    assert "- Log-rank test: χ² = 0.96, df = 1, p = 0.326." in text  # survdiff chisq 0.963
    assert (
        "- Cox proportional hazards: HR 0.59 [95% CI 0.20, 1.71], p = 0.333 (Sirolimus-augmented esketamine vs "
        "Esketamine alone; n = 24, 14 relapses)."
    ) in text  # coxph 0.5917 [0.2044, 1.7129]


def test_the_rates_table_gives_counts_rates_and_exact_intervals(report):
    _, md, _ = report
    text = section(md, "## Response and remission")
    assert (
        "| Sirolimus-augmented esketamine | MADRS | Week 8 | 1/10  10.0% [0.3, 44.5] | 0/10  0.0% [0.0, 30.8] |" in text
    )
    assert "| Esketamine alone | HAM-D | Week 16 | – | – |" in text


def test_the_provenance_names_batch_export_hash_plan_hash_lock_version_and_date(report):
    res, md, html = report
    plan = read_plan(res.results["plan"]["file"])
    for text in (md, html):
        assert "ab" * 32 in text and plan.sha256 in text and "registry 0.1.0" in text
        assert res.results["generated_at"] in text
    assert "- Plan lock: not locked" in md
    assert "not locked in the registry" in md


def test_the_html_report_is_self_contained_with_four_inline_svg_figures(report):
    _, _, html = report
    assert not re.search(r"""(src|href)=["'](https?:|//|[^"'#d])""", html)
    assert "<script" not in html and "<link" not in html and "<img" not in html
    figures = re.findall(r'<svg [^>]*class="figure".*?</svg>', html, flags=re.S)
    names = [ElementTree.fromstring(f).get("aria-label") for f in figures]  # each is well-formed XML
    assert names == [
        "Mean change from baseline with 95% CI by outcome and visit",
        "Individual trajectories of each outcome total by visit",
        "LS mean change from baseline with 95% CI by visit and cohort, per outcome",
        "Kaplan–Meier curves of relapse-free survival by cohort with numbers at risk",
    ]
    texts = [[t.text for t in ElementTree.fromstring(f).iter("{http://www.w3.org/2000/svg}text")] for f in figures]
    assert "Mean change, MADRS points (95% CI)" in texts[0] and "Week 8" in texts[0]
    assert "Total score, points" in texts[1] and "Baseline" in texts[1]
    assert "Proportion relapse-free" in texts[3] and "Number at risk" in texts[3]


def test_the_methods_paragraph_is_generated_from_the_plan():
    text = " ".join(render_methods(read_plan(default_plan_path())))
    for words in (
        "two-sided at α = 0.05 for MADRS, PHQ-9 and HAM-D",
        "Holm's step-down procedure over the family of all 12 paired tests in the plan",
        "reduction from baseline of ≥ 50%",
        "MADRS < 10, PHQ-9 < 5 and HAM-D ≤ 7",
        "MADRS ≥ 22 on 2 consecutive MADRS assessments after day 0 that are 5–15 days apart",
        "dated on the first of them",
        "relapse_event = 1",
        "disposition.disp_last_date",
        "Efron ties",
        "without covariates",
        "No post-hoc",
    ):
        assert words in text, words


def test_the_methods_change_when_the_plan_does(tmp_path):
    path = plan_variant(
        tmp_path,
        (
            'field = "madrs_total"\nsided = "two-sided"',
            'field = "madrs_total"\nsided = "one-sided"\ndirection = "decrease"\none_sided_alpha = 0.025',
        ),
        (
            'remission = { comparison = "<", threshold = 10 }',
            'remission = { comparison = "<=", threshold = 12 }',
        ),
        ("max_gap_days = 15", "max_gap_days = 14"),
        ('event_dated_on = "first"', 'event_dated_on = "last"'),
        ('multiplicity = "holm"', 'multiplicity = "bonferroni"'),
    )
    text = " ".join(render_methods(read_plan(path)))
    assert "one-sided for MADRS (declared direction: decrease; α = 0.025)" in text
    assert "two-sided at α = 0.05 for PHQ-9 and HAM-D" in text
    assert "MADRS ≤ 12" in text and "5–14 days apart" in text and "dated on the last of them" in text
    assert "the Bonferroni correction" in text


def test_a_gate_override_is_stated_with_its_reason(tmp_path):
    db = build_registry(tmp_path / "r.duckdb", reference_subjects(), gate=False)
    analyze(db, None, tmp_path / "out", override_reason="interim look for the DSMB")
    for name in ("report.md", "report.html"):
        text = (tmp_path / "out" / name).read_text()
        assert "GATE OVERRIDDEN" in text and "interim look for the DSMB" in text


def test_the_trajectory_figure_plots_each_subjects_totals_at_nominal_days(report):
    res, _, _ = report
    data = trajectory_data(res.analysis.pairs, read_plan(default_plan_path()))
    one = data[(data.record_id == "C1-01") & (data.scale == "madrs")]
    assert one[["visit", "day", "score"]].values.tolist() == [
        ["baseline_arm_1", 0, 32.0],
        ["week_8_arm_1", 56, 20.0],
    ]
    assert set(data.cohort) == {1, 2} and not data.record_id.str.endswith("-X").any()


def test_the_kaplan_meier_figure_starts_at_one_and_steps_at_r_event_times(report):
    res, _, _ = report
    curve = km_curve_data(res.results, 1)
    assert curve[0] == (0.0, 1.0, 1.0, 1.0)
    assert [c[0] for c in curve[1:]] == [12, 20, 35, 56, 60, 90]
    assert curve[-1][1] == pytest.approx(0.396825396825397, abs=1e-6)


def test_numbers_are_formatted_with_a_true_minus_and_small_p_values_as_below_0_001():
    assert fmt(-8.4) == "−8.40" and fmt(-0.001) == "0.00" and fmt(None) == "–"
    assert fmt_p(0.0004) == "<0.001" and fmt_p(0.0529) == "0.053"


def test_results_json_has_mcnemar_rows_and_the_median_ci_next_to_the_median(report):
    res, _, _ = report
    rows = res.results["mcnemar"]
    keys = ["cohort", "scale", "kind", "visit_a", "visit_b", "n", "count_a", "count_b", "b", "c"]
    assert len(rows) == 2 * 3 * 2  # cohorts x scales x (response, remission), week 8 vs week 16
    assert all(set(keys + ["statistic", "p", "p_exact"]) <= set(r) for r in rows)
    # the reference registry has no week 16 totals: no pair, no test
    assert {(r["n"], r["statistic"], r["p"], r["p_exact"]) for r in rows} == {(0, None, None, None)}
    rel = res.results["relapse"]
    assert rel["median_days"] == {"1": 90.0, "2": 41.0}
    # print(survfit(..., conf.type = "log-log")): 0.95LCL 20 and 15, 0.95UCL NA
    assert rel["median_ci"] == {"1": {"low": 20.0, "high": None}, "2": {"low": 15.0, "high": None}}
    assert rel["ignored"] == {"undated_clinician_relapses": 0, "clinician_relapses_before_origin": 0}


def test_the_mcnemar_table_is_in_both_reports(report):
    _, md, html = report
    text = section(md, "### Paired rates: McNemar's test")
    assert (
        "| Cohort | Outcome | Rate | n with both | Week 8: k/n (%) | Week 16: k/n (%) | Met only at Week 8 (b) "
        "| Met only at Week 16 (c) | χ² (continuity-corrected) | p | p exact |"
    ) in text
    assert "| Sirolimus-augmented esketamine | MADRS | Response | 0 | – | – | – | – | – | – | – |" in text
    assert "<h3>Paired rates: McNemar's test</h3>" in html and "Discordant: met only at" in html


def test_the_trajectory_figure_draws_each_cohorts_mean_at_each_visit(report):
    res, _, _ = report
    bands = res.results["trajectories"]["bands"]  # results.json: what the figure draws
    one = [b for b in bands if b["cohort"] == 1 and b["scale"] == "madrs"]
    # mean(base1) with the 2 baseline-only subjects (30 each); mean(wk8_1)
    assert [[b["visit"], b["day"], b["n"]] for b in one] == [["baseline_arm_1", 0, 12], ["week_8_arm_1", 56, 10]]
    assert [b["mean"] for b in one] == pytest.approx([(sum([32, 28, 35, 30, 26, 33, 29, 31, 27, 34]) + 60) / 12, 22.1])


def test_small_p_values_read_p_below_not_p_equals():
    from registry.report.tables import logrank_text, p_is

    assert p_is(0.0000012) == "p < 0.001" and p_is(0.0904) == "p = 0.090" and p_is(None) == "p = –"
    assert logrank_text({"chisq": 446.27, "p": 1e-90}) == "χ² = 446.27, df = 1, p < 0.001"


def test_the_report_renders_when_the_template_cache_folder_cannot_be_made(report, tmp_path, monkeypatch):
    import tempfile

    from registry.report.render import render_report

    res, md, html = report
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no such folder"))  # jinja2's cache lives there
    again_html, again_md = render_report(res.results, read_plan(res.results["plan"]["file"]))
    assert again_md == md and again_html == html
