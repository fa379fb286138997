"""What ``registry validate`` shows: a rich summary on the terminal and an HTML report.

Both name records, events, instances, fields and rules, and say why each check exists (from
the suites' ``meta.why``); neither shows a value of any field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from registry import safe_text
from registry.checks.gate import GateResult
from registry.checks.suites import Suite
from registry.outputs import batch_folder, write_text

HTML_LIMIT = 5000
TERMINAL_LIMIT = 25


def summarize(result: GateResult, suites: list[Suite]) -> list[dict]:
    """One row per rule and severity: counts of new, open and confirmed findings, and what the rule checks."""
    why = _why_by_expectation(suites)
    titles = {**RULES, **{r: t for s in suites for r, t in (s.meta.get("rules") or {}).items()}}
    rows: dict[tuple[str, str], dict] = {}
    for f in result.findings:
        row = rows.setdefault((f["rule"], f["severity"]), {
            "rule": f["rule"], "severity": f["severity"], "new": 0, "open": 0, "confirmed": 0,
            "why": titles.get(f["rule"]) or why.get(f["expectation"], ""),
        })
        row[f["status"]] += 1
    return sorted(rows.values(), key=lambda r: (r["severity"] != "error", r["rule"]))


def print_summary(result: GateResult, suites: list[Suite], report: Path | None, console=None) -> None:
    """The summary table, the first error findings and the verdict, on the terminal."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    title = f"Data quality, batch {result.batch_id}"
    if result.previous_batch_id:
        title += f" (compared with batch {result.previous_batch_id})"
    table = Table("rule", "severity", "new", "open", "confirmed", "what it checks", title=title)
    for row in summarize(result, suites):
        style = "red" if row["severity"] == "error" else "yellow"
        table.add_row(safe_text.rich(row["rule"]), f"[{style}]{row['severity']}[/]", str(row["new"]),
                      str(row["open"]), str(row["confirmed"]), safe_text.rich(row["why"]))
    console.print(table)
    errors = [f for f in result.findings if f["severity"] == "error" and f["status"] != "confirmed"]
    if errors:
        listing = Table("record", "event", "instance", "field", "rule", "status", title="Error findings")
        for f in errors[:TERMINAL_LIMIT]:
            instance = "" if f["instance"] is None else str(f["instance"])
            listing.add_row(*(safe_text.rich(v) for v in (f["record_id"] or "", f["event"] or "", instance,
                                                              f["field"], f["rule"], f["status"])))
        console.print(listing)
        if len(errors) > TERMINAL_LIMIT:
            more = len(errors) - TERMINAL_LIMIT
            console.print(f"… and {more} more error findings (see the report or --json)")
    if result.resolved:
        console.print(f"{len(result.resolved)} finding(s) resolved since batch {result.previous_batch_id}")
    verdict = ("[green]passed[/]: no error finding" if result.passed
               else f"[red]not passed[/]: {result.n_errors} error finding(s) block analysis")
    where = f"; report: {safe_text.rich(report)}" if report else ""
    console.print(f"{verdict}; {result.n_warnings} warning(s){where}")


def write_html_report(result: GateResult, suites: list[Suite], path: Path, checks_dir: str) -> Path:
    """Render the HTML data-quality report to ``path``."""
    import jinja2

    why = _why_by_expectation(suites)
    findings = [{**f, "why": why.get(f["expectation"], "")} for f in result.findings[:HTML_LIMIT]]
    errors = [f for f in findings if f["severity"] == "error"]
    warnings_by_rule: dict[str, list[dict]] = {}
    for f in findings:
        if f["severity"] != "error":
            warnings_by_rule.setdefault(f["rule"], []).append(f)
    template = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        resources.files("registry.checks").joinpath("templates", "data_quality.html.j2").read_text()
    )
    html = template.render(
        r=result, summary=summarize(result, suites), findings=findings, total_findings=len(result.findings),
        errors=errors, warnings_by_rule=sorted(warnings_by_rule.items()),
        limit=HTML_LIMIT, checks_dir=checks_dir,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
    )
    return write_text(path, html)


def default_report_path(reports_root: Path, batch_id: int) -> Path:
    """``<reports_root>/batch_<N>/data_quality.html``: one folder per batch."""
    return batch_folder(reports_root, batch_id) / "data_quality.html"


def _why_by_expectation(suites: list[Suite]) -> dict[str, str]:
    return {f"{s.name}/{c.label}": c.why for s in suites for c in s.checks}


#: What each dictionary rule checks; suites name their own rules in ``meta.rules``.
RULES = {
    "B": "REDCap DQ rule B: required fields left blank (when shown)",
    "C": "REDCap DQ rule C: values that do not fit their validation type",
    "D": "REDCap DQ rule D: values outside the validation min/max",
    "E": "REDCap DQ rule E: numeric values 2 or more SDs from the mean",
    "F": "REDCap DQ rule F: fields hidden by branching logic that hold a value",
    "G": "REDCap DQ rule G: codes not in the field's choice list",
    "H": "REDCap DQ rule H: calculated fields that differ from their formula",
    "I": "REDCap DQ rule I: missing-data codes",
    "KEY": "duplicate record / event / instance",
    "TYPE": "columns not of the type their field has",
    "LOGIC": "branching logic or calculations the gate cannot read",
}
