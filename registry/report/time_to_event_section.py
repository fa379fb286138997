"""Report text for the time-to-event analyses beyond the relapse table: who is at risk of
relapse, the Cox model adjusted for baseline severity, time to response and to remission,
and the statement that the cohorts are not randomised. Built from ``results.json`` only."""

from __future__ import annotations

from registry.analysis.plan import AnalysisPlan
from registry.report.tables import fmt, fmt_days, logrank_text, p_is

NOT_RANDOMISED = (
    "The cohorts are not randomised: this comparison describes the patients as treated and "
    "may reflect who was offered each treatment rather than the treatment's effect."
)
AT_RISK = {
    "responders": "patients with an onset of response (the first MADRS assessment after day 0 at least "
    "{pct:g}% below their baseline total)",
    "remitters": "patients with an onset of remission (the first MADRS assessment after day 0 meeting the "
    "remission definition)",
    "all": "every patient of the analysis set",
}


def cox_text(cox: dict | None, plan: AnalysisPlan, events: str) -> str:
    """One Cox model as a sentence: HR [CI], p, cohorts compared, n, events, covariates."""
    if cox is None:
        return "not fitted"
    if cox["hr"] is None:
        return cox["note"] or "not estimable"
    labels = dict(plan.cohorts)
    adjusted = f"; adjusted for {', '.join(cox['covariates'])}" if cox["covariates"] else ""
    return (
        f"HR {fmt(cox['hr'])} [{plan.confidence * 100:g}% CI {fmt(cox['ci_low'])}, {fmt(cox['ci_high'])}], "
        f"{p_is(cox['p'])} ({labels[plan.cox_compare]} vs {labels[plan.cox_reference]}; "
        f"n = {cox['n']}, {cox['events']} {events}{adjusted})"
    )


def reason_words(at_risk: str, plan: AnalysisPlan) -> dict[str, str]:
    """The reasons of ``relapse.population.not_at_risk_reasons`` in words."""
    scale = next((o.label for o in plan.outcomes if o.scale == plan.relapse.scale), plan.relapse.scale)
    return {
        "no onset": "never remitted" if at_risk == "remitters" else "never responded",
        "no baseline": f"no baseline {scale}",
    }


def relapse_population(results: dict, plan: AnalysisPlan) -> dict:
    """Who is at risk of relapse, from when, and who is not (per cohort, with reasons)."""
    pop = results["relapse"]["population"]
    labels = dict(plan.cohorts)
    who = AT_RISK[pop["at_risk"]].format(pct=plan.response_min_reduction_percent)
    origin = "the onset day" if pop["origin"] == "onset" else "day 0"
    words = reason_words(pop["at_risk"], plan)
    not_at_risk = []
    for code, n in pop["not_at_risk"].items():
        reasons = pop.get("not_at_risk_reasons", {}).get(code, {})
        detail = ", ".join(f"{words.get(k, k)}: {v}" for k, v in reasons.items())
        not_at_risk.append({"cohort_label": labels[int(code)], "n": n, "reasons": detail or "–"})
    return {
        "text": f"At risk of relapse: {who}; time counts from {origin}.",
        "not_at_risk": not_at_risk,
        "cox_adjusted": cox_text(results["relapse"].get("cox_adjusted"), plan, "relapses"),
    }


def time_to_onset(results: dict, plan: AnalysisPlan) -> list[dict]:
    """One block per analysis present (time to response, time to remission)."""
    out = []
    labels = dict(plan.cohorts)
    for kind in ("response", "remission"):
        part = results.get(f"time_to_{kind}")
        if part is None:
            continue
        cohorts = []
        for code, label in plan.cohorts:
            subs = [s for s in part["subjects"] if s["cohort"] == code]
            median = part["median_days"].get(str(code))
            ci = part["median_ci"].get(str(code)) or {"low": None, "high": None}
            left = part.get("left_out", {}).get(str(code), {})
            cohorts.append(
                {
                    "cohort_label": label,
                    "n": len(subs),
                    "events": sum(1 for s in subs if s["event"]),
                    "median": "not reached" if median is None else f"{median:g} days",
                    "median_ci": f"[{fmt_days(ci['low'])}, {fmt_days(ci['high'])}]",
                    "left_out": ", ".join(f"{k}: {v}" for k, v in left.items()) or "–",
                }
            )
        out.append(
            {
                "kind": kind,
                "title": f"Time to {kind}",
                "cohorts": cohorts,
                "logrank": logrank_text(part["logrank"]),
                "cox": cox_text(part["cox"], plan, kind + "s"),
                "cox_adjusted": cox_text(part.get("cox_adjusted"), plan, kind + "s"),
                "labels": labels,
            }
        )
    return out
