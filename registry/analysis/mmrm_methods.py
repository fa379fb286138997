"""The methods paragraph of the mixed model, from the plan and the fitted ``mmrm`` entries
(it names the structure each outcome used, so it is written after the fits)."""

from __future__ import annotations

from registry.analysis.plan import AnalysisPlan

STRUCTURE_LABELS = {
    "unstructured": "unstructured",
    "heterogeneous-cs": "heterogeneous compound symmetry",
    "cs": "compound symmetry",
    "ar1": "first-order autoregressive (AR(1))",
    "heterogeneous-ar1": "heterogeneous AR(1)",
}
DF_LABELS = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward–Roger"}


def mmrm_methods(entries: list[dict], plan: AnalysisPlan) -> list[str]:
    """The paragraph (none without an MMRM): model, structure used per outcome, df method,
    and that the cohorts are not randomised."""
    spec = plan.mmrm
    if not entries or spec is None:
        return []
    chosen = "; ".join(
        f"{plan.outcome(e['scale']).label}: {STRUCTURE_LABELS.get(e['covariance'], 'none (no fit converged)')}"
        for e in entries
    )
    how = (
        "chosen by Schwarz's Bayesian information criterion (BIC, nlme's convention) among the candidate "
        f"structures ({', '.join(spec.candidates)}) whose fit converged"
        if spec.covariance == "select"
        else f"prespecified as {STRUCTURE_LABELS[spec.covariance]}"
    )
    df_source = (
        " (from the observed information of the REML likelihood, as R emmeans for nlme::gls)"
        if spec.df == "satterthwaite"
        else " (Kenward and Roger, 1997)"
    )
    compare, reference = plan.cohort_label(plan.cox_compare), plan.cohort_label(plan.cox_reference)
    return [
        "Mixed model for repeated measures (MMRM): the change from baseline of each outcome total at "
        f"{', '.join(plan.visit_label(v) for v in spec.visits)} was modelled as {entries[0]['model']} "
        "(cohort and visit as factors with treatment contrasts, baseline total as a covariate), fitted by "
        f"restricted maximum likelihood with a residual covariance across visits {how}; structure used: "
        f"{chosen}. Every {plan.population_name} subject with a baseline total and at least one follow-up "
        "total contributed all their follow-up totals, so the estimates are valid if values are missing at "
        "random. Least-squares means are at the mean baseline total over the observations in the model; the "
        f"difference is {compare} minus {reference} at each visit, with {DF_LABELS[spec.df]} degrees of "
        f"freedom{df_source}. The cohorts are not randomised: the differences are adjusted for baseline "
        "severity only and may reflect who was offered sirolimus rather than its effect."
    ]
