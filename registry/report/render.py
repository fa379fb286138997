"""Render the periodic report from ``results.json``: self-contained HTML and Markdown.

The HTML (``templates/report.html.j2``) holds its figures as inline SVG and needs no
other file; the Markdown (``templates/report.md.j2``) carries the same tables, for e-mail.
Both are built from ``results.json`` alone (and the plan's labels), so every number in them
is one in ``results.json``. This layer never imports the analysis run code: the analysis
writes ``results.json`` (:mod:`registry.analysis.run`), the report reads it.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from registry.analysis.plan import AnalysisPlan
from registry.outputs import staged_files, write_text


def _environment():
    """The templates' environment. Compiling them took a third of a second per run; jinja2's
    bytecode cache (a private folder in the system temp folder, checked against each
    template's source) keeps the compiled code between runs, when that folder can be used."""
    import jinja2

    class QuietCache(jinja2.FileSystemBytecodeCache):
        """A cache that never fails a report: a file it cannot read or write is compiled anew."""

        def load_bytecode(self, bucket) -> None:
            with contextlib.suppress(OSError):
                super().load_bytecode(bucket)

        def dump_bytecode(self, bucket) -> None:
            with contextlib.suppress(OSError):
                super().dump_bytecode(bucket)

    try:
        cache = QuietCache()
    except (OSError, RuntimeError):  # no private temp folder: compile every time
        cache = None
    return jinja2.Environment(
        loader=jinja2.PackageLoader("registry.report", "templates"),
        bytecode_cache=cache,
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


def render_report(results: dict, plan: AnalysisPlan) -> tuple[str, str]:
    """Render both reports from a ``results.json`` dict.

    Returns
    -------
    (str, str)
        The HTML text and the Markdown text.
    """
    from registry import __version__
    from registry.report import (
        clinical_tables,
        figures,
        flow_diagram,
        mmrm_section,
        since_previous_section,
        tables,
        time_to_event_section,
    )

    context = {
        "r": results,
        "plan": plan,
        "version": __version__,
        "banners": banners(results),
        "flow": tables.flow_table(results, plan),
        "flow_text": flow_diagram.flow_text(results, plan),
        "set_name": tables.set_name(results),
        "relapse_scale": next((o.label for o in plan.outcomes if o.scale == plan.relapse.scale), plan.relapse.scale),
        "power": tables.power_appendix(results, plan),
        "power_pct": f"{results['power_target'] * 100:g}",
        "paired": tables.paired_tables(results, plan),
        "rates": tables.rates_table(results, plan),
        "mcnemar": tables.mcnemar_tables(results, plan),
        "definitions": tables.rate_definitions(plan),
        "relapse": tables.relapse_summary(results, plan),
        "km": tables.km_table(results, plan),
        "table1": clinical_tables.baseline_table(results, plan),
        "adverse_events": clinical_tables.adverse_events_table(results, plan),
        "relapse_population": time_to_event_section.relapse_population(results, plan),
        "time_to": time_to_event_section.time_to_onset(results, plan),
        "not_randomised": time_to_event_section.NOT_RANDOMISED,
        "mmrm": mmrm_section.mmrm_tables(results, plan),
        "since": since_previous_section.since_previous_summary(results),
        "mmrm_difference": mmrm_section.mmrm_difference_label(plan),
        "methods": results["methods"],
        "any_one_sided": any(o.direction for o in plan.outcomes),
        "conf": f"{plan.confidence * 100:g}%",
        "multiplicity_label": {"holm": "Holm", "bonferroni": "Bonferroni", "none": "unadjusted"}[
            plan.multiplicity
        ],
    }
    env = _environment()
    markdown = env.get_template("report.md.j2").render(**context)
    trajectories, trajectories_caption = figures.plot_trajectories(results, plan)
    context["figures"] = {
        "mean_change": figures.plot_mean_change(results, plan),
        "trajectories": trajectories,
        "trajectories_caption": trajectories_caption,
        "km": figures.plot_km(results, plan),
        "mmrm": mmrm_section.plot_mmrm(results, plan),
        "accrual": since_previous_section.plot_accrual(results, plan),
    }
    context["flow_svg"] = flow_diagram.render_flow_svg(results, plan)
    html = env.get_template("report.html.j2").render(**context)
    return html, markdown


def write_report(results_json: str | Path, plan: AnalysisPlan, out_dir: str | Path | None = None) -> list[Path]:
    """Read ``results_json``, render it and write ``report.html`` and ``report.md``.

    Both files are written under temporary names and renamed together once both are
    rendered, into ``out_dir`` (default: the folder of ``results_json``).
    """
    results_json = Path(results_json)
    results = json.loads(results_json.read_text(encoding="utf-8"))
    html, markdown = render_report(results, plan)
    out = Path(out_dir) if out_dir is not None else results_json.parent
    with staged_files(out) as staging:
        write_text(staging / "report.html", html)
        write_text(staging / "report.md", markdown)
    return [out / "report.html", out / "report.md"]
