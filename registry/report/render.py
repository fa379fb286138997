"""Render the periodic report: ``results.json`` dict, self-contained HTML and Markdown.

The HTML (``templates/report.html.j2``) embeds its figures as base64 PNG and needs no
other file; the Markdown (``templates/report.md.j2``) carries the same tables, for e-mail.
Both are built from the ``results`` dict, so every number in them is one in
``results.json``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry.analysis.plan import AnalysisPlan

if TYPE_CHECKING:
    from registry.analysis.lock import LockStatus
    from registry.analysis.run import Analysis


def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("registry.report", "templates"),
        autoescape=jinja2.select_autoescape(["html.j2", "md.j2"]),  # report.md escapes HTML too
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def banners(results: dict) -> list[dict]:
    """Warnings that head the report: ``kind`` (``exploratory`` | ``gate`` | ``plan``) and ``text``."""
    out = []
    plan = results["plan"]
    if results["exploratory"]:
        changed = plan["status"] == "changed since locked"
        out.append(
            {
                "kind": "exploratory",
                "text": (
                    "EXPLORATORY ANALYSIS: not the prespecified plan. "
                    + (
                        "The analysis plan differs from the plan locked in the registry "
                        f"({(plan['locked_sha256'] or '')[:12]}…, locked {plan['locked_at']} UTC). "
                        if changed
                        else ""
                    )
                    + "Every result below is exploratory and must not be reported as confirmatory."
                ),
            }
        )
    elif plan["status"] == "not locked":
        out.append(
            {
                "kind": "plan",
                "text": (
                    "The analysis plan was not locked in the registry (`registry plan lock`): "
                    "nothing shows that these analyses were specified before the data were seen."
                ),
            }
        )
    elif plan["status"] == "locked after data":
        out.append(
            {
                "kind": "plan",
                "text": (
                    f"The analysis plan was locked at {plan['first_locked_at']} UTC, after the first "
                    f"batch was ingested ({plan['first_ingested_at']} UTC): it is not prespecified "
                    "in the strict sense."
                ),
            }
        )
    gate = results["gate"]
    if gate["overridden"]:
        state = (
            "was never validated"
            if not gate["validated"]
            else (
                f"failed the data-quality gate ({gate['n_errors']} error(s), {gate['n_warnings']} warning(s))"
            )
        )
        out.append(
            {
                "kind": "gate",
                "text": (
                    f"DATA-QUALITY GATE OVERRIDDEN: batch {results['batch']['batch_id']} {state}. "
                    f"Reason given: “{gate['override_reason']}”."
                ),
            }
        )
    return out


def render_report(
    *,
    plan: AnalysisPlan,
    lock: LockStatus,
    batch: dict,
    gate: dict,
    analysis: Analysis,
    exploratory: bool,
    override_reason: str | None,
    generated_at: str,
) -> tuple[dict, str, str]:
    """Build the results dict and render both reports.

    Returns
    -------
    (dict, str, str)
        ``results`` (JSON-ready), the HTML text and the Markdown text.
    """
    from registry import __version__
    from registry.analysis.results import build_results
    from registry.report import figures, mmrm_section, tables
    from registry.report.methods import render_methods

    methods = render_methods(plan)
    results = build_results(
        plan=plan,
        lock=lock,
        batch=batch,
        gate=gate,
        analysis=analysis,
        exploratory=exploratory,
        override_reason=override_reason,
        generated_at=generated_at,
        methods=methods,
    )
    context = {
        "r": results,
        "plan": plan,
        "version": __version__,
        "banners": banners(results),
        "flow": tables.flow_table(results, plan),
        "paired": tables.paired_tables(results, plan),
        "rates": tables.rates_table(results, plan),
        "mcnemar": tables.mcnemar_tables(results, plan),
        "definitions": tables.rate_definitions(plan),
        "relapse": tables.relapse_summary(results, plan),
        "km": tables.km_table(results, plan),
        "mmrm": mmrm_section.mmrm_tables(results, plan),
        "mmrm_difference": mmrm_section.mmrm_difference_label(plan),
        "methods": [*methods, *mmrm_section.mmrm_methods(results, plan)],
        "any_one_sided": any(o.direction for o in plan.outcomes),
        "conf": f"{plan.confidence * 100:g}%",
        "multiplicity_label": {"holm": "Holm", "bonferroni": "Bonferroni", "none": "unadjusted"}[
            plan.multiplicity
        ],
    }
    env = _environment()
    markdown = env.get_template("report.md.j2").render(**context)
    context["figures"] = {
        "mean_change": figures.plot_mean_change(results, plan),
        "trajectories": figures.plot_trajectories(analysis.pairs, plan),
        "km": figures.plot_km(results, plan),
        "mmrm": mmrm_section.plot_mmrm(results, plan),
    }
    html = env.get_template("report.html.j2").render(**context)
    return results, html, markdown
