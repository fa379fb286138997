"""The methods section, generated from the plan so its words always match what ran.

Examples
--------
>>> from registry.analysis.plan import read_plan, default_plan_path
>>> text = " ".join(render_methods(read_plan(default_plan_path())))
>>> "MADRS < 10" in text and "HAM-D ≤ 7" in text and "Holm" in text
True
"""

from __future__ import annotations

from registry.analysis.plan import AnalysisPlan

SYMBOL = {"<": "<", "<=": "≤", ">": ">", ">=": "≥"}
MULTIPLICITY = {
    "holm": "Holm's step-down procedure",
    "bonferroni": "the Bonferroni correction",
    "none": "no adjustment",
}
FAMILY = {
    "all": "all {m} paired tests in the plan ({c} cohorts × {o} outcomes × {v} follow-up visits)",
    "per_cohort": "the {per} paired tests of each cohort separately",
    "per_outcome": "the {per} paired tests of each outcome separately",
    "per_visit": "the {per} paired tests of each follow-up visit separately",
}


SAME_DAY = {
    "last_instance": "its last rating (highest repeat instance)",
    "first_instance": "its first rating (lowest repeat instance)",
    "mean": "the mean of its ratings",
}

def _fmt(x: float) -> str:
    return f"{x:g}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _windows(plan) -> str:
    """The visit-window sentence of the paired methods ("" when the plan declares none)."""
    if not plan.visit_windows:
        return ""
    spans = "; ".join(f"{plan.visit_label(v)} days {lo} to {hi}" for v, lo, hi in plan.visit_windows)
    return (
        f" A total counts for a visit only if it is dated inside the visit's window ({spans}); totals "
        "outside it are not used, and the pairs, rates and McNemar comparisons they leave incomplete "
        "are counted as out of window. The same totals feed the mixed model."
    )


def _sidedness(plan: AnalysisPlan) -> str:
    two = [o.label for o in plan.outcomes if o.direction is None]
    one = [o for o in plan.outcomes if o.direction is not None]
    parts = []
    if two:
        parts.append(f"two-sided at α = {_fmt(plan.alpha)} for {_join(two)}")
    for o in one:
        parts.append(
            f"one-sided for {o.label} (declared direction: {o.direction}; α = {_fmt(o.one_sided_alpha)}),"
            f" with the two-sided p also shown"
        )
    return "Tests are " + "; ".join(parts) + "."


def _mcnemar(plan: AnalysisPlan) -> str:
    """The McNemar sentences of the rates paragraph (saying so when the plan lists none)."""
    if not plan.mcnemar:
        return " No comparison of paired rates (McNemar's test) was prespecified."
    labels = {o.scale: o.label for o in plan.outcomes}
    groups: dict[tuple[str, str], list] = {}
    for c in plan.mcnemar:
        groups.setdefault((c.visit_a, c.visit_b), []).append(c)
    parts = []
    for (a, b), comps in groups.items():
        kinds = [k for k in ("response", "remission") if any(c.kind == k for c in comps)]
        scales = [labels[s] for s in dict.fromkeys(c.scale for c in comps)]
        every = len(comps) == len(kinds) * len(scales)
        what = (
            f"{' and '.join(kinds)} on {_join(scales)}"
            if every
            else _join([f"{c.kind} on {labels[c.scale]}" for c in comps])
        )
        parts.append(f"{what} at {plan.visit_label(a)} versus {plan.visit_label(b)}")
    return (
        f" Paired rates are compared with McNemar's test in each cohort ({'; '.join(parts)}), among "
        "subjects whose status is known at both visits: the χ² statistic with continuity correction "
        "(none when the two discordant counts are equal, as R's mcnemar.test) and the exact two-sided "
        "binomial p on the discordant pairs (R's binom.test); with no discordant pair both p-values are 1. "
        "McNemar p-values are not adjusted for multiplicity."
    )


def render_methods(plan: AnalysisPlan) -> list[str]:
    """Methods paragraphs (plain text with Unicode symbols) describing ``plan``.

    Returns
    -------
    list of str
        Population; paired change; response, remission and McNemar; relapse; power.
    """
    conf = f"{plan.confidence * 100:g}%"
    cohorts = "; ".join(f"{code} = {label}" for code, label in plan.cohorts)
    visits = _join([f"{plan.visit_label(v)} ({v})" for v in plan.followup_visits])
    outcomes = _join([f"{o.label} ({o.form}.{o.field})" for o in plan.outcomes])
    c, o, v = len(plan.cohorts), len(plan.outcomes), len(plan.followup_visits)
    per = {"all": c * o * v, "per_cohort": o * v, "per_outcome": c * v, "per_visit": c * o}[plan.family]
    family = FAMILY[plan.family].format(m=c * o * v, c=c, o=o, v=v, per=per)
    population = (
        f"Analyses use the {plan.population_name} population: records with "
        f"{plan.include.form}.{plan.include.field} = {plan.include.value}, analysed by cohort "
        f"({plan.cohort.form}.{plan.cohort.field}: {cohorts}). Analysis plan “{plan.title}” "
        f"version {plan.version}, SHA-256 {plan.sha256}."
    )
    paired = (
        f"Change from {plan.visit_label(plan.baseline_visit)} ({plan.baseline_visit}) to {visits} in "
        f"{outcomes} was tested with paired t-tests over complete pairs (change = follow-up minus baseline, "
        f"so a negative change is an improvement); subjects missing the baseline or follow-up total are left "
        f"out and counted.{_windows(plan)} {_sidedness(plan)} We report the mean change with its {conf} "
        "confidence interval, "
        f"t, degrees of freedom, Cohen's d_z (mean change divided by the SD of the change, signed) and "
        f"Hedges' g_z (d_z × (1 − 3/(4·df − 1)); none at df = 1, where the factor is 0). A change with "
        "SD 0 has no confidence interval, t or p (R's t.test refuses such data). "
        f"Multiplicity: {MULTIPLICITY[plan.multiplicity]} over the "
        f"family of {family}; raw and adjusted p-values are both reported, and the adjusted p is judged "
        f"against each test's α."
    )
    remission = _join(
        [f"{o.label} {SYMBOL[o.remission_comparison]} {_fmt(o.remission_threshold)}" for o in plan.outcomes]
    )
    rates = (
        f"Response is a reduction from baseline of ≥ {_fmt(plan.response_min_reduction_percent)}% (complete "
        f"pairs with a baseline total above 0). Remission is a follow-up total of {remission} (subjects with "
        f"that total at the visit). Rates have exact (Clopper–Pearson) {conf} confidence intervals." + _mcnemar(plan)
    )
    rule = plan.relapse
    scale = plan.outcome(rule.scale).label
    sources = _join([f"{s.name} ratings ({s.form}.{s.score} on {s.form}.{s.day})" for s in rule.ratings])
    dated = "first" if rule.event_dated_on == "first" else "last"
    run = (
        f"{rule.consecutive} consecutive {scale} assessments"
        if rule.consecutive > 1
        else f"one {scale} assessment"
    )
    gap = (
        f" that are {rule.min_gap_days}–{rule.max_gap_days} days apart (inclusive), the event dated on the "
        f"{dated} of them"
        if rule.consecutive > 1
        else ""
    )
    cohort_labels = dict(plan.cohorts)
    if rule.at_risk == "all":
        at_risk = f"Time to relapse is counted in days since day {rule.origin_day} (the index date)."
    else:
        onset = (
            f"response (the first {scale} assessment after day {rule.origin_day} at least "
            f"{_fmt(plan.response_min_reduction_percent)}% below the subject's baseline total)"
            if rule.at_risk == "responders"
            else f"remission (the first {scale} assessment after day {rule.origin_day} meeting the "
            "remission definition)"
        )
        at_risk = (
            f"Relapse is only defined for patients who first got better: the subjects at risk are those "
            f"with an onset of {onset}; subjects without a baseline total or without an onset are not at "
            f"risk and are counted per cohort. The rule below applies to assessments and clinician "
            f"reports strictly after the onset day, which replaces day {rule.origin_day} in it; time is "
            + ("counted from the onset day." if rule.origin == "onset" else f"counted from day {rule.origin_day}.")
        )
    relapse = (
        f"{at_risk} Relapse is the "
        f"earlier of (a) {scale} {SYMBOL[rule.comparison]} {_fmt(rule.threshold)} on {run} after day "
        f"{rule.origin_day}{gap}; assessments are the {sources} taken together and ordered by day, a day "
        f"rated by more than one source counts once (the {rule.ratings[0].name} rating), a source rated "
        f"more than once on one day gives {SAME_DAY[plan.same_day]}, and unrated "
        f"sessions are not assessments; (b) a clinician-documented relapse "
        f"({rule.clinician.form}.{rule.clinician.field} = {rule.clinician.value}) dated "
        f"{rule.clinician.form}.{rule.clinician_day}, after day {rule.origin_day}. Subjects without relapse "
        f"are censored at the later of their last {scale} assessment and "
        f"{rule.last_contact_form}.{rule.last_contact_day}. Kaplan–Meier estimates are given per cohort with "
        f"log-log {conf} confidence intervals and the median with its {conf} confidence interval (the first "
        f"times the lower and the upper confidence curve reach 0.5, as R's print.survfit; not reached if a "
        f"curve stays above 0.5); cohorts are compared with the log-rank test; "
        f"the Cox proportional-hazards model gives the hazard ratio of cohort {plan.cox_compare} "
        f"({cohort_labels.get(plan.cox_compare, '')}) versus cohort {plan.cox_reference} "
        f"({cohort_labels.get(plan.cox_reference, '')}) with Efron ties, Wald {conf} confidence interval and "
        f"p-value, "
        + (
            "without covariates"
            if not plan.cox_covariates
            else "adjusted for " + _join([f"{c.form}.{c.field}" for c in plan.cox_covariates])
        )
        + (
            f"; a second Cox model adds the baseline {scale} total. The cohorts are not randomised: the "
            "comparisons describe the patients as treated."
            if plan.cox_adjust_baseline
            else ". The cohorts are not randomised: the comparisons describe the patients as treated."
        )
    )
    power = (
        "No post-hoc (“observed”) power is reported: it is a function of the p-value and adds "
        "nothing. As a planning figure only, the report's appendix gives, per paired test, the "
        "number of complete pairs a future study would need for "
        f"{plan.power_target * 100:g}% power if the true d_z equalled the observed one (noncentral t, "
        "the test's sidedness and α)."
    )
    return [population, paired, rates, relapse, power]
