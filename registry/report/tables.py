"""Report tables as rows of formatted text, built from ``results.json`` (one source of numbers).

The same rows feed the HTML and the Markdown report, and the report tests compare them
as golden text. Numbers: means and CIs to 2 decimals, effect sizes and t to 2, p to 3
(``<0.001`` below that); a minus sign is U+2212.
"""

from __future__ import annotations

import math

from registry.analysis.methods import SYMBOL
from registry.analysis.plan import AnalysisPlan

LEFT_OUT = {
    "n_missing_baseline": "no baseline",
    "n_missing_followup": "no follow-up",
    "n_missing_both": "neither",
    "n_out_of_window": "out of window",
}
FLOW_STEPS = {"records": "Records", "eligible": "Eligible"}


def fmt(x: float | None, digits: int = 2) -> str:
    """A number to ``digits`` decimals with a true minus sign; an en dash if missing."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    text = f"{x:.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    return text.replace("-", "−")


def fmt_p(p: float | None) -> str:
    """A p-value: 3 decimals, ``<0.001`` below, en dash if missing."""
    if p is None:
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def p_is(p: float | None) -> str:
    """``p = 0.090``, or ``p < 0.001`` below it (never ``p = <0.001``)."""
    return "p < 0.001" if p is not None and p < 0.001 else f"p = {fmt_p(p)}"


def logrank_text(lr: dict) -> str:
    """The log-rank test in words: ``χ² = 2.88, df = 1, p = 0.090``."""
    return "not computed" if lr["chisq"] is None else f"χ² = {fmt(lr['chisq'])}, df = 1, {p_is(lr['p'])}"


def fmt_pct(rate: float | None, low: float | None, high: float | None) -> str:
    """``27.8% [9.7, 53.5]``."""
    if rate is None:
        return "–"
    return f"{rate * 100:.1f}% [{low * 100:.1f}, {high * 100:.1f}]"


def _mean_sd(mean: float | None, sd: float | None) -> str:
    return "–" if mean is None else f"{fmt(mean, 1)} ({fmt(sd, 1)})"


def paired_tables(results: dict, plan: AnalysisPlan) -> list[dict]:
    """One table per follow-up visit and cohort, in the pilot's layout.

    Returns
    -------
    list of dict
        ``visit``, ``visit_label``, ``cohort``, ``cohort_label`` and ``rows``: per outcome
        ``scale``, ``n``, ``left_out``, ``baseline`` and ``followup`` (mean (SD)),
        ``change`` (``Mean Δ [95% CI]``), ``p`` (two-sided), ``p_one_sided``,
        ``p_adjusted``, ``d`` (Cohen's d_z), ``g`` (Hedges' g_z), ``t``, ``df``. (The n
        for the plan's power target is in :func:`power_appendix`.)
    """
    labels = {o.scale: o.label for o in plan.outcomes}
    tables = []
    for visit in plan.followup_visits:
        for code, cohort_label in plan.cohorts:
            rows = []
            for r in results["paired"]:
                if r["visit"] != visit or r["cohort"] != code:
                    continue
                out = [f"{r[k]} {v}" for k, v in LEFT_OUT.items() if r[k]]
                left_out = f"{sum(r[k] for k in LEFT_OUT)} ({', '.join(out)})" if out else "0"
                rows.append(
                    {
                        "scale": labels.get(r["scale"], r["scale"]),
                        "n": str(r["n"]),
                        "left_out": left_out,
                        "baseline": _mean_sd(r["mean_baseline"], r["sd_baseline"]),
                        "followup": _mean_sd(r["mean_followup"], r["sd_followup"]),
                        "change": "–"
                        if r["mean_change"] is None
                        else f"{fmt(r['mean_change'])} [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]",
                        "p": fmt_p(r["p_two_sided"]),
                        "p_one_sided": fmt_p(r["p_one_sided"]) if r["direction"] else "",
                        "p_adjusted": fmt_p(r["p_adjusted"]),
                        "d": fmt(r["cohens_dz"]),
                        "g": fmt(r["hedges_gz"]),
                        "t": fmt(r["t"]),
                        "df": "–" if r["df"] is None else str(r["df"]),
                    }
                )
            tables.append(
                {
                    "visit": visit,
                    "visit_label": plan.visit_label(visit),
                    "cohort": code,
                    "cohort_label": cohort_label,
                    "rows": rows,
                }
            )
    return tables


def power_appendix(results: dict, plan: AnalysisPlan) -> list[dict]:
    """The planning appendix: per paired test, complete pairs, the observed d_z and the pairs a
    future study would need for the plan's power target at that d_z (``results.json``
    ``paired[].n_for_power``; not post-hoc power).

    Returns
    -------
    list of dict
        ``cohort_label``, ``visit_label``, ``scale``, ``n``, ``d``, ``n_for_power``.
    """
    labels = {o.scale: o.label for o in plan.outcomes}
    return [
        {
            "cohort_label": plan.cohort_label(r["cohort"]),
            "visit_label": plan.visit_label(r["visit"]),
            "scale": labels.get(r["scale"], r["scale"]),
            "n": str(r["n"]),
            "d": fmt(r["cohens_dz"]),
            "n_for_power": "–" if r["n_for_power"] is None else str(r["n_for_power"]),
        }
        for visit in plan.followup_visits
        for code, _ in plan.cohorts
        for r in results["paired"]
        if r["visit"] == visit and r["cohort"] == code
    ]


def rates_table(results: dict, plan: AnalysisPlan) -> list[dict]:
    """Rows ``cohort_label``, ``scale``, ``visit_label``, ``response`` and ``remission``
    (``k/n  rate% [CI]``)."""
    labels = {o.scale: o.label for o in plan.outcomes}
    by_key = {(r["cohort"], r["scale"], r["visit"], r["kind"]): r for r in results["rates"]}
    rows = []
    for code, cohort_label in plan.cohorts:
        for o in plan.outcomes:
            for visit in plan.followup_visits:
                cells = {}
                for kind in ("response", "remission"):
                    r = by_key.get((code, o.scale, visit, kind))
                    cells[kind] = (
                        "–"
                        if r is None or not r["n"]
                        else f"{r['count']}/{r['n']}  {fmt_pct(r['rate'], r['ci_low'], r['ci_high'])}"
                    )
                rows.append(
                    {
                        "cohort_label": cohort_label,
                        "scale": labels[o.scale],
                        "visit_label": plan.visit_label(visit),
                        **cells,
                    }
                )
    return rows


def rate_definitions(plan: AnalysisPlan) -> str:
    """Response and remission in a line, for the notes under the tables that count them."""
    remission = ", ".join(
        f"{o.label} {SYMBOL[o.remission_comparison]} {o.remission_threshold:g}" for o in plan.outcomes
    )
    return (
        f"Response: total reduced by ≥ {plan.response_min_reduction_percent:g}% from baseline (subjects with "
        f"both totals, baseline above 0). Remission: total at the visit {remission} (subjects with that total)."
    )


def _count_rate(count: int, n: int, rate: float | None) -> str:
    return "–" if not n else f"{count}/{n} ({rate * 100:.1f}%)"


def mcnemar_tables(results: dict, plan: AnalysisPlan) -> list[dict]:
    """McNemar's tests of paired rates: one table per pair of visits compared.

    Returns
    -------
    list of dict
        ``visit_a_label``, ``visit_b_label`` and ``rows``: ``cohort_label``, ``scale``,
        ``kind`` (``Response`` | ``Remission``), ``n`` (subjects known at both visits),
        ``rate_a``, ``rate_b`` (``k/n (x%)``), ``b`` (met at visit A only), ``c`` (met at
        visit B only), ``statistic`` (χ², 2 decimals), ``p``, ``p_exact``.
    """
    labels = {o.scale: o.label for o in plan.outcomes}
    tables: dict[tuple[str, str], dict] = {}
    for r in results["mcnemar"]:
        key = (r["visit_a"], r["visit_b"])
        table = tables.setdefault(
            key,
            {
                "visit_a_label": plan.visit_label(r["visit_a"]),
                "visit_b_label": plan.visit_label(r["visit_b"]),
                "rows": [],
            },
        )
        empty = not r["n"]
        table["rows"].append(
            {
                "cohort_label": plan.cohort_label(r["cohort"]),
                "scale": labels.get(r["scale"], r["scale"]),
                "kind": r["kind"].capitalize(),
                "n": str(r["n"]),
                "rate_a": _count_rate(r["count_a"], r["n"], r["rate_a"]),
                "rate_b": _count_rate(r["count_b"], r["n"], r["rate_b"]),
                "b": "–" if empty else str(r["b"]),
                "c": "–" if empty else str(r["c"]),
                "statistic": fmt(r["statistic"]),
                "p": fmt_p(r["p"]),
                "p_exact": fmt_p(r["p_exact"]),
            }
        )
    return list(tables.values())


def fmt_days(x: float | None) -> str:
    """Days as ``41`` (or ``12.5`` for R's midpoint rule); ``not reached`` if missing."""
    return "not reached" if x is None else f"{x:g}"


def set_name(results: dict) -> str:
    """The analysis set as the plan names it (``[population] name``), capitalised: ``Per-protocol``."""
    name = results["population"]["name"]
    return name[:1].upper() + name[1:]


def flow_table(results: dict, plan: AnalysisPlan) -> dict:
    """``header`` (step names) and ``rows`` (``cohort_label`` plus one count per step, and a total).

    Steps: records, eligible, in the analysis set, with a total at each follow-up visit, then
    not at risk and at risk of relapse (``results.json`` ``relapse``; "–" for records outside
    the plan's cohorts, which are not analysed).
    """
    steps = list(FLOW_STEPS) + ["included"] + [f"with_{v}" for v in plan.followup_visits]
    header = (
        list(FLOW_STEPS.values())
        + [f"{set_name(results)} set"]
        + [f"With {plan.visit_label(s[5:])}" for s in steps[3:]]
        + ["Not at risk of relapse", "At risk of relapse"]
    )
    rel = results["relapse"]
    not_at_risk = rel["population"]["not_at_risk"]
    rows, totals = [], [0] * (len(steps) + 2)
    known = dict(plan.cohorts)
    for f in results["population"]["flow"]:
        counts: list[int | None] = [int(f.get(s) or 0) for s in steps]
        analysed = f["cohort"] is not None and int(f["cohort"]) in known
        if analysed:
            code = int(f["cohort"])
            counts += [int(not_at_risk.get(str(code), 0)), sum(1 for s in rel["subjects"] if s["cohort"] == code)]
        else:
            counts += [None, None]
        totals = [a + (b or 0) for a, b in zip(totals, counts, strict=True)]
        label = (
            "No cohort code (not analysed)"
            if f["cohort"] is None
            else known.get(int(f["cohort"]), f"Cohort code {f['cohort']} (not in the plan; not analysed)")
        )
        rows.append({"cohort_label": label, "counts": ["–" if n is None else n for n in counts]})
    rows.append({"cohort_label": "Total", "counts": totals})
    return {"header": header, "rows": rows}


def relapse_summary(results: dict, plan: AnalysisPlan) -> dict:
    """Per-cohort subjects, relapses (by criterion), median and its CI (``[low, high]`` in days,
    ``not reached`` for a missing limit); log-rank and Cox as text."""
    rel = results["relapse"]
    cohorts = []
    for code, label in plan.cohorts:
        subs = [s for s in rel["subjects"] if s["cohort"] == code]
        crit = {
            c: sum(1 for s in subs if s["criterion"] == c) for c in ("score", "clinician", "score+clinician")
        }
        median = rel["median_days"].get(str(code))
        ci = rel["median_ci"].get(str(code)) or {"low": None, "high": None}
        cohorts.append(
            {
                "cohort_label": label,
                "n": len(subs),
                "events": sum(1 for s in subs if s["event"]),
                "by_score": crit["score"],
                "by_clinician": crit["clinician"],
                "by_both": crit["score+clinician"],
                "median": "not reached" if median is None else f"{median:g} days",
                "median_ci": f"[{fmt_days(ci['low'])}, {fmt_days(ci['high'])}]",
            }
        )
    lr, cox = rel["logrank"], rel["cox"]
    logrank = logrank_text(lr)
    labels = dict(plan.cohorts)
    conf = f"{plan.confidence * 100:g}%"
    cox_text = (
        (cox["note"] or "not estimable")
        if cox["hr"] is None
        else (
            f"HR {fmt(cox['hr'])} [{conf} CI {fmt(cox['ci_low'])}, {fmt(cox['ci_high'])}], "
            f"{p_is(cox['p'])} "
            f"({labels[plan.cox_compare]} vs {labels[plan.cox_reference]}; "
            f"n = {cox['n']}, {cox['events']} relapses)"
        )
    )
    ign = rel.get("ignored", {})
    notes = []
    if ign.get("undated_clinician_relapses"):
        notes.append(
            f"{ign['undated_clinician_relapses']} clinician-documented relapse(s) without a date could "
            "not be used"
        )
    if ign.get("clinician_relapses_before_origin"):
        notes.append(
            f"{ign['clinician_relapses_before_origin']} clinician-documented relapse(s) dated on or "
            "before day 0 were not counted"
        )
    return {"cohorts": cohorts, "logrank": logrank, "cox": cox_text, "notes": notes}


def km_table(results: dict, plan: AnalysisPlan) -> list[dict]:
    """Kaplan–Meier rows per cohort and event time, formatted (the numbers behind the plot)."""
    return [
        {
            "cohort_label": plan.cohort_label(r["cohort"]),
            "day": fmt(r["day"], 0),
            "at_risk": str(r["at_risk"]),
            "events": str(r["events"]),
            "survival": fmt(r["survival"], 3),
            "ci": f"[{fmt(r['ci_low'], 3)}, {fmt(r['ci_high'], 3)}]",
        }
        for r in results["relapse"]["km"]
    ]
