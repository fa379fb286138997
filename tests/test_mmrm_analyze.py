"""`registry analyze` fits the plan's MMRM: results.json `mmrm`, the report section and the
ADaM flag, on a registry holding the `two` data set of tests/data/r_reference/mmrm_data.csv
(plus subjects the model must leave out), against R:

    gls(change ~ cohort * visit + baseline, dd, method = "REML", correlation = ..., weights = ...)
    BIC(fit); emmeans(fit, ~ cohort | visit, mode = "satterthwaite"); pairs(em)

(tests/data/r_reference/mmrm_reference.R, R 4.2.2; values in mmrm_reference.csv).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from adam_fixtures import TOTAL_CODES, VISITS, sample_registry
from analysis_registry import Subject, build_registry, plan_variant
from typer.testing import CliRunner

from registry.adam.build import build_adam
from registry.cli import app

REF = Path(__file__).parent / "data" / "r_reference"


def subjects() -> list[Subject]:
    d = pd.read_csv(REF / "mmrm_data.csv")
    d = d[d.dataset == "two"]
    out = []
    for rid, rows in d.groupby("id", sort=False):
        first = rows.iloc[0]
        scores = {"baseline_arm_1": {"madrs": float(first.baseline)}}
        for r in rows.itertuples():
            scores[r.visit] = {"madrs": float(r.baseline + r.change)}
        out.append(Subject(rid, cohort=int(first.cohort), scores=scores))
    # left out by the model: no follow-up; no baseline; not in the analysis set
    out.append(Subject("extra-1", cohort=1, scores={"baseline_arm_1": {"madrs": 30.0}}))
    out.append(Subject("extra-2", cohort=2, scores={"week_8_arm_1": {"madrs": 12.0}}))
    out.append(
        Subject(
            "extra-3", cohort=1, included=0, scores={"baseline_arm_1": {"madrs": 30.0}, "week_8_arm_1": {"madrs": 2.0}}
        )
    )
    return out


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mmrm")
    db = build_registry(tmp / "registry.duckdb", subjects())
    result = CliRunner().invoke(app, ["analyze", "--db", str(db), "--out", str(tmp / "out")])
    assert result.exit_code == 0, result.output
    return db, tmp / "out", json.loads((tmp / "out" / "results.json").read_text())


def test_results_json_mmrm_equals_nlme_and_emmeans(analysed):
    _, _, results = analysed
    madrs = next(e for e in results["mmrm"] if e["scale"] == "madrs")
    ref = pd.read_csv(REF / "mmrm_reference.csv")
    ref = ref[ref.dataset == "two"]
    fits = ref[ref.kind == "fit"].set_index("structure")
    assert [c["structure"] for c in madrs["candidates"]] == [
        "unstructured",
        "heterogeneous-cs",
        "cs",
        "ar1",
        "heterogeneous-ar1",
    ]
    for c in madrs["candidates"]:
        assert c["converged"] is True
        assert c["reml_loglik"] == pytest.approx(fits.loc[c["structure"], "loglik"], abs=1e-4)
        assert c["bic"] == pytest.approx(fits.loc[c["structure"], "bic"], abs=1e-4)
    # with two visits unstructured, heterogeneous-cs and heterogeneous-ar1 are one model (the
    # lowest BIC here): the tie goes to the structure listed first
    assert madrs["covariance"] == "unstructured"
    assert fits.loc["unstructured", "bic"] == pytest.approx(fits.bic.min(), abs=1e-6)
    d = pd.read_csv(REF / "mmrm_data.csv")
    d = d[d.dataset == "two"]
    assert (madrs["n_subjects"], madrs["n_observations"]) == (d.id.nunique(), len(d))
    chosen = ref[ref.structure == "unstructured"]
    lsm = {(x["cohort"], x["visit"]): x for x in madrs["lsmeans"]}
    assert len(lsm) == 4
    for r in chosen[chosen.kind == "lsmean"].itertuples():
        mine = lsm[(int(r.cohort), r.visit)]
        assert (mine["estimate"], mine["se"]) == pytest.approx((r.estimate, r.se), abs=1e-4)
        assert mine["df"] == pytest.approx(r.df, rel=0.02)
        assert (mine["ci_low"], mine["ci_high"]) == pytest.approx((r.ci_low, r.ci_high), abs=1e-3)
    diffs = {x["visit"]: x for x in madrs["differences"]}
    assert list(diffs) == ["week_8_arm_1", "week_16_arm_1"]
    for r in chosen[chosen.kind == "difference"].itertuples():  # pairs(): cohort 1 - cohort 2
        mine = diffs[r.visit]
        assert (mine["estimate"], mine["se"]) == pytest.approx((r.estimate, r.se), abs=1e-4)
        assert mine["df"] == pytest.approx(r.df, rel=0.02)
        assert mine["p"] == pytest.approx(r.p, abs=1e-3)


def test_an_outcome_without_data_is_reported_not_estimable(analysed):
    _, _, results = analysed
    phq9 = next(e for e in results["mmrm"] if e["scale"] == "phq9")
    assert phq9["covariance"] is None and phq9["lsmeans"] == [] and phq9["n_subjects"] == 0
    assert "not estimable" in phq9["note"]
    assert all(c["converged"] is False for c in phq9["candidates"])


def test_the_report_has_the_mmrm_table_figure_and_methods(analysed):
    _, out, results = analysed
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    madrs = next(e for e in results["mmrm"] if e["scale"] == "madrs")
    diff16 = madrs["differences"][1]
    cell = f"{diff16['estimate']:.2f} [{diff16['ci_low']:.2f}, {diff16['ci_high']:.2f}]".replace("-", "−")
    for text in (md, html):
        assert "mixed model for repeated measures" in text
        assert cell in text
        assert "not randomised" in text
        assert "Covariance: unstructured" in text and "Satterthwaite" in text
    assert 'aria-label="LS mean change from baseline' in html  # the figure's accessible name
    methods = next(m for m in results["methods"] if m.startswith("Mixed model for repeated measures"))
    assert "structure used: MADRS: unstructured" in methods and "not randomised" in methods


def test_adqs_flags_exactly_the_records_the_model_used(tmp_path_factory):
    db, results = sample_registry(tmp_path_factory.mktemp("adam"))
    q = build_adam(db).adqs.frame
    flagged = q[q["ANL02FL"] == "Y"]
    assert (flagged["PPROTFL"] == "Y").all()
    for entry in results["mmrm"]:
        mine = flagged[flagged["PARAMCD"] == TOTAL_CODES[entry["scale"]]]
        post, base = mine[mine["ABLFL"] != "Y"], mine[mine["ABLFL"] == "Y"]
        assert len(post) == entry["n_observations"] > 0
        assert len(base) == entry["n_subjects"] == post["USUBJID"].nunique()
        assert set(post["AVISIT"]) <= set(VISITS.values())
        assert post["BASE"].notna().all()
        assert post["BASE"].mean() == pytest.approx(entry["mean_baseline"], abs=1e-9)


def test_a_plan_can_fix_the_structure_and_ask_for_kenward_roger(tmp_path):
    db = build_registry(tmp_path / "registry.duckdb", subjects())
    plan = plan_variant(
        tmp_path,
        ('covariance = "select"', 'covariance = "unstructured"'),
        ('df = "satterthwaite"', 'df = "kenward-roger"'),
    )
    result = CliRunner().invoke(
        app, ["analyze", "--db", str(db), "--plan", str(plan), "--out", str(tmp_path / "o"), "--exploratory"]
    )
    assert result.exit_code == 0, result.output
    madrs = json.loads((tmp_path / "o" / "results.json").read_text())["mmrm"][0]
    assert [c["structure"] for c in madrs["candidates"]] == ["unstructured"]
    assert madrs["covariance"] == "unstructured" and madrs["df_method"] == "kenward-roger"
    ref = pd.read_csv(REF / "mmrm_reference.csv").query("dataset == 'two' and structure == 'unstructured'")
    r16 = ref[(ref.kind == "difference") & (ref.visit == "week_16_arm_1")].iloc[0]
    d16 = madrs["differences"][1]
    assert d16["estimate"] == pytest.approx(r16.estimate, abs=1e-4)
    assert d16["se"] >= r16.se - 1e-4  # Kenward-Roger never shrinks the variance here


def test_an_unknown_structure_in_the_plan_is_a_clear_error(tmp_path):
    db = build_registry(tmp_path / "registry.duckdb", subjects())
    plan = plan_variant(tmp_path, ('covariance = "select"', 'covariance = "toeplitz"'))
    result = CliRunner().invoke(app, ["analyze", "--db", str(db), "--plan", str(plan), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0
    assert "mmrm.covariance" in result.output and "toeplitz" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()
