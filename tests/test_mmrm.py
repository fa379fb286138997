"""MMRM by REML against R (tests/data/r_reference/mmrm_reference.R, R 4.2.2, nlme, emmeans).

For each data set in mmrm_data.csv and each structure, R ran

    gls(change ~ cohort * visit + baseline, dd, method = "REML",
        correlation = corSymm(form = ~ visit_index | id), weights = varIdent(form = ~ 1 | visit),
        control = glsControl(natural = FALSE))         # unstructured
    (corCompSymm + varIdent: heterogeneous-cs; corCompSymm: cs; corAR1: ar1;
     corAR1 + varIdent: heterogeneous-ar1)
    logLik(fit); BIC(fit)
    em <- emmeans(fit, ~ cohort | visit, mode = "satterthwaite"); summary(em)
    summary(pairs(em), infer = c(TRUE, TRUE))

and wrote mmrm_reference.csv, which these tests read (they never need R). For
Kenward-Roger it fitted the random-intercept model (the cs structure) with lme4 and ran
emmeans with pbkrtest's Kenward-Roger (see test_kenward_roger_for_cs_equals_pbkrtest).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from registry.analysis.mmrm_covariance import STRUCTURES, Structure
from registry.analysis.mmrm_design import NotEstimable, build_design
from registry.analysis.mmrm_fit import fit_structure, select
from registry.analysis.mmrm_inference import estimates, lsmeans_rows

REF = Path(__file__).parent / "data" / "r_reference"
VISITS = {
    "four": ["week_4_arm_1", "week_8_arm_1", "week_12_arm_1", "week_16_arm_1"],
    "two": ["week_8_arm_1", "week_16_arm_1"],
}


def design_of(name: str, **kw):
    d = pd.read_csv(REF / "mmrm_data.csv")
    d = d[d.dataset == name]
    return build_design(
        d.id.values,
        d.visit_index.values - 1,
        d.cohort.values,
        d.baseline.values,
        d.change.values,
        VISITS[name],
        [1, 2],
        **kw,
    )


def reference(name: str, structure: str) -> pd.DataFrame:
    r = pd.read_csv(REF / "mmrm_reference.csv")
    return r[(r.dataset == name) & (r.structure == structure)]


def fitted(name: str, structure: str):
    design = design_of(name)
    fit = fit_structure(design, structure)
    assert fit.converged, fit.message
    rows = lsmeans_rows(design)
    lsm = estimates(design, fit, rows.reshape(-1, rows.shape[-1]))
    t = design.n_visits
    lsmeans = {(c, VISITS[name][v]): lsm[i * t + v] for i, c in enumerate([1, 2]) for v in range(t)}
    diffs = dict(zip(VISITS[name], estimates(design, fit, rows[0] - rows[1]), strict=True))
    return design, fit, lsmeans, diffs


@pytest.mark.parametrize("name", sorted(VISITS))
@pytest.mark.parametrize("structure", STRUCTURES)
def test_every_structure_equals_nlme_and_emmeans(name, structure):
    design, fit, lsmeans, diffs = fitted(name, structure)
    ref = reference(name, structure)
    r_fit = ref[ref.kind == "fit"].iloc[0]
    assert fit.loglik == pytest.approx(r_fit.loglik, abs=1e-4)
    assert fit.bic(design) == pytest.approx(r_fit.bic, abs=1e-4)
    for row in ref[ref.kind == "lsmean"].itertuples():
        mine = lsmeans[(int(row.cohort), row.visit)]
        assert mine.estimate == pytest.approx(row.estimate, abs=1e-4)
        assert mine.se == pytest.approx(row.se, abs=1e-4)
        assert mine.df == pytest.approx(row.df, rel=0.02)
        assert (mine.ci_low, mine.ci_high) == pytest.approx((row.ci_low, row.ci_high), abs=1e-3)
    for row in ref[ref.kind == "difference"].itertuples():
        mine = diffs[row.visit]
        assert mine.estimate == pytest.approx(row.estimate, abs=1e-4)
        assert mine.se == pytest.approx(row.se, abs=1e-4)
        assert mine.df == pytest.approx(row.df, rel=0.02)
        assert mine.p == pytest.approx(row.p, abs=1e-3)


def test_pinned_values_four_visits():
    # logLik(gls(change ~ cohort * visit + baseline, four, corSymm + varIdent, REML)) = -1299.4039603853
    # BIC(...) = 2713.25342503685
    design, fit, lsmeans, diffs = fitted("four", "unstructured")
    assert fit.loglik == pytest.approx(-1299.4039603853, abs=1e-4)
    assert fit.bic(design) == pytest.approx(2713.25342503685, abs=1e-4)
    # emmeans(fit, ~ cohort | visit, mode = "satterthwaite"): cohort 2, week_16_arm_1
    w16 = lsmeans[(2, "week_16_arm_1")]
    assert (w16.estimate, w16.se) == pytest.approx((-8.92582053673581, 1.35790005511239), abs=1e-4)
    assert w16.df == pytest.approx(100.960884441504, rel=0.02)
    # pairs(em): 1 - 2 at week_16_arm_1
    d16 = diffs["week_16_arm_1"]
    assert (d16.estimate, d16.se) == pytest.approx((-1.07847330257728, 1.82547336130504), abs=1e-4)
    assert d16.p == pytest.approx(0.556003802989699, abs=1e-3)


def test_ar1_and_cs_differ_with_four_visits_and_bic_picks_the_lowest():
    design = design_of("four")
    fits, chosen = select(design, list(STRUCTURES))
    r = pd.read_csv(REF / "mmrm_reference.csv")
    r = r[(r.dataset == "four") & (r.kind == "fit")]
    assert chosen.structure.name == r.loc[r.bic.idxmin(), "structure"]
    by_name = {f.structure.name: f for f in fits}
    assert abs(by_name["ar1"].loglik - by_name["cs"].loglik) > 1.0


def test_complete_data_unstructured_is_regression_at_each_visit():
    # With every visit observed, an unstructured covariance and visit-specific effects
    # (baseline:visit), the MMRM is least squares at each visit: the difference has the
    # two-sample regression SE and n - 3 df, exactly, for both df methods.
    rng = np.random.default_rng(7)
    n, visits = 40, ["v1", "v2", "v3"]
    subject = np.repeat(np.arange(n), 3)
    visit = np.tile(np.arange(3), n)
    cohort = np.repeat(np.where(np.arange(n) % 2 == 0, 1, 2), 3)
    base = np.repeat(rng.normal(30, 5, n), 3)
    change = rng.normal(0, 4, 3 * n) + 0.3 * base + np.repeat(rng.normal(0, 3, n), 3)
    design = build_design(subject, visit, cohort, base, change, visits, [1, 2], baseline_by_visit=True)
    fit = fit_structure(design, "unstructured")
    rows = lsmeans_rows(design)
    for method in ("satterthwaite", "kenward-roger"):
        for v, est in enumerate(estimates(design, fit, rows[0] - rows[1], method)):
            sel = visit == v
            x = np.column_stack([np.ones(n), cohort[sel] == 2, base[sel]])
            coef, rss, *_ = np.linalg.lstsq(x, change[sel], rcond=None)
            se = np.sqrt(rss[0] / (n - 3) * np.linalg.inv(x.T @ x)[1, 1])
            assert est.estimate == pytest.approx(-coef[1], abs=1e-6)
            assert est.se == pytest.approx(se, rel=1e-4)
            assert est.df == pytest.approx(n - 3, rel=1e-3)


@pytest.mark.parametrize("name", sorted(VISITS))
def test_kenward_roger_for_cs_equals_pbkrtest(name):
    # R: fit <- lmer(change ~ cohort * visit + baseline + (1 | id), dd, REML = TRUE)   # = gls cs, rho > 0
    #    em <- emmeans(fit, ~ cohort | visit, lmer.df = "kenward-roger"); pairs(em)   # pbkrtest 0.5.2
    design = design_of(name)
    fit = fit_structure(design, "cs")
    rows = lsmeans_rows(design)
    t = design.n_visits
    lsm = estimates(design, fit, rows.reshape(-1, rows.shape[-1]), "kenward-roger")
    diffs = estimates(design, fit, rows[0] - rows[1], "kenward-roger")
    ref = reference(name, "cs")
    checked = 0
    for row in ref[ref.kind.isin(["lsmean_kr", "difference_kr"])].itertuples():
        v = VISITS[name].index(row.visit)
        mine = lsm[(int(row.cohort) - 1) * t + v] if row.kind == "lsmean_kr" else diffs[v]
        assert (mine.estimate, mine.se) == pytest.approx((row.estimate, row.se), abs=1e-4)
        assert mine.df == pytest.approx(row.df, rel=1e-3)
        assert (mine.ci_low, mine.ci_high) == pytest.approx((row.ci_low, row.ci_high), abs=1e-3)
        checked += 1
    assert checked == 3 * t


def test_kenward_roger_inflates_the_variance_with_dropout():
    design = design_of("four")
    fit = fit_structure(design, "unstructured")
    row = lsmeans_rows(design)[0, 3] - lsmeans_rows(design)[1, 3]
    sat, kr = estimates(design, fit, row)[0], estimates(design, fit, row, "kenward-roger")[0]
    assert kr.estimate == sat.estimate
    assert kr.se > sat.se
    assert 50 < kr.df < 140


def test_correlation_not_estimable_is_reported_not_converged():
    # no subject has two visits: no structure can estimate a within-subject correlation
    rng = np.random.default_rng(3)
    n = 60
    subject = np.arange(n)
    visit = np.arange(n) % 2
    cohort = np.where((np.arange(n) // 2) % 2 == 0, 1, 2)
    design = build_design(subject, visit, cohort, rng.normal(30, 4, n), rng.normal(-5, 4, n), ["a", "b"], [1, 2])
    fits, chosen = select(design, list(STRUCTURES))
    assert chosen is None
    assert [f.converged for f in fits] == [False] * len(STRUCTURES)


def test_empty_cohort_visit_cell_is_not_estimable():
    with pytest.raises(NotEstimable, match="fixed effects"):
        build_design([1, 2, 3, 4], [0, 0, 0, 1], [1, 2, 1, 1], [30, 31, 29, 28], [-3, -2, -4, -1], ["a", "b"], [1, 2])


def test_structures_count_parameters_as_nlme():
    assert [Structure(s, 4).n_params for s in STRUCTURES] == [10, 5, 2, 2, 5]
