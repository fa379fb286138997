"""The ``registry`` command: a thin layer over the library.

Commands parse options and call the library; heavy libraries are imported inside them so
``registry --help`` stays fast. Library errors (:class:`RegistryError`) are printed to
stderr as what / where / fix, with a non-zero exit and no traceback. Every command uses the
workspace (``registry.toml`` in the current folder or a parent, :mod:`registry.workspace`)
when there is one; its options override it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from registry import safe_text, workspace
from registry.cli_diff import diff
from registry.cli_pull import pull
from registry.cli_support import DbOption, _plain, _print_json, _progress, _registry, command


def _flag_type(self, ctx):
    """A flag takes no value: show no ``<bool>`` placeholder beside it in --help."""
    return None if self.is_flag else _option_type(self, ctx)


_option_type = typer.core.TyperOption.display_type_rich
typer.core.TyperOption.display_type_rich = _flag_type

app = typer.Typer(
    help="De-identified clinical registries from REDCap exports: ingest, gate, analyse, export.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
@command
def init(
    directory: Annotated[Path, typer.Argument(help="Folder of the workspace (created if missing).")] = Path("."),
    dictionary: Annotated[
        Path | None,
        typer.Option(help="Data dictionary of another REDCap project (default: the registry's own project)."),
    ] = None,
    events: Annotated[Path | None, typer.Option(help="Events export (CSV) of that project.")] = None,
    mapping: Annotated[Path | None, typer.Option(help="Instrument-event mapping export (CSV).")] = None,
    repeating: Annotated[Path | None, typer.Option(help="Repeating instruments and events export (CSV).")] = None,
) -> None:
    """Make a workspace: registry.toml, plan.toml and checks/ for one REDCap project."""
    from registry.scaffold import init_workspace

    ws = init_workspace(directory, dictionary=dictionary, events=events, mapping=mapping, repeating=repeating)
    what = "the registry's own project" if ws.builtin else f"project {ws.name} ({ws.dictionary.name})"
    typer.echo(f"workspace for {what} in {ws.root}")
    for path in (ws.config, ws.plan, ws.checks):
        typer.echo(f"  {path.relative_to(ws.root)}")
    if ws.builtin:
        typer.echo("next: registry plan lock, then registry ingest EXPORT, registry validate, registry analyze")
    else:
        typer.echo("next: fill in plan.toml and run registry plan lock, then registry ingest EXPORT, registry validate")


@app.command()
@command
def ingest(
    export: Annotated[
        Path,
        typer.Argument(help="REDCap export: CSV (raw or labels), API JSON, SPSS .sav, Stata .dta, or ODM XML."),
    ],
    dictionary: Annotated[
        Path | None,
        typer.Option(help="Data dictionary of another REDCap project (default: the registry's own project)."),
    ] = None,
    events: Annotated[
        Path | None, typer.Option(help="Events export (CSV) of that project; inferred from the data if absent.")
    ] = None,
    mapping: Annotated[Path | None, typer.Option(help="Instrument-event mapping export (CSV).")] = None,
    repeating: Annotated[Path | None, typer.Option(help="Repeating instruments and events export (CSV).")] = None,
    db: DbOption = None,
    encoding: Annotated[
        str | None, typer.Option(help="The file's encoding if not UTF-8, e.g. cp1252 or latin-1.")
    ] = None,
    ignore_extra: Annotated[
        bool, typer.Option("--ignore-extra", help="Drop columns that are not in the dictionary instead of refusing.")
    ] = False,
    export_format: Annotated[str, typer.Option("--format", help="auto, raw or label.")] = "auto",
    redact: Annotated[
        bool | None,
        typer.Option(
            "--redact/--refuse-phi",
            help="Suspected identifiers in free text: store the batch with them replaced by a marker "
            "(--redact), or refuse it (--refuse-phi). Default: refuse for the registry's own project, "
            "redact for a project given with --dictionary.",
            show_default=False,
        ),
    ] = None,
    missing_codes: Annotated[
        str | None, typer.Option(help="Comma-separated missing-data codes (default: REDCap's standard codes).")
    ] = None,
    study_day_anchor: Annotated[
        str | None, typer.Option(help="Date field that is day 0: dates become study days.")
    ] = None,
    allow_missing_records: Annotated[
        bool,
        typer.Option("--allow-missing-records",
                     help="Ingest although more than 10% of the current batch's records are not in the export."),
    ] = False,
    ignore_misplaced: Annotated[
        bool,
        typer.Option("--ignore-misplaced",
                     help="Store the batch without values on rows where their form cannot be (another repeating "
                     "instrument's row, an event the form is not mapped to), keeping them in _misplaced_values, "
                     "instead of refusing it."),
    ] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another process using the registry.")] = 30.0,
) -> None:
    """Load a REDCap export into the registry as a new versioned batch."""
    from registry.ingest import ingest as run_ingest

    if export_format not in {"auto", "raw", "label"}:
        raise typer.BadParameter("--format must be auto, raw or label")
    codes = tuple(c.strip() for c in missing_codes.split(",") if c.strip()) if missing_codes is not None else None
    ws = workspace.find_workspace()
    project = workspace.load_project(
        ws, export, encoding=encoding, missing_codes=codes, study_day_anchor=study_day_anchor,
        dictionary=dictionary, events=events, mapping=mapping, repeating=repeating,
    )
    db = workspace.db_path(db, ws)
    with _progress(len(project.dictionary.forms) + 3) as advance:
        result = run_ingest(
            export,
            project,
            db,
            encoding=encoding,
            ignore_extra=ignore_extra,
            export_format=export_format,
            redact=redact,
            allow_missing_records=allow_missing_records,
            ignore_misplaced=ignore_misplaced,
            progress=advance,
            wait=wait,
        )
    if not result.created:
        typer.echo(f"{safe_text.terminal(export.name)} is already in the registry as batch {result.batch_id}: "
                   "nothing changed.")
        return
    typer.echo(
        f"batch {result.batch_id}: {result.records} records, {result.rows} rows from {safe_text.terminal(export.name)} "
        f"({result.export_format} export) in {result.seconds:.1f} s"
    )
    for form, rows in result.instruments.items():
        typer.echo(f"  {form}: {rows} rows")
    if result.dropped_identifiers:
        typer.echo(f"  dropped identifier fields: {', '.join(result.dropped_identifiers)}")
    if result.redacted:
        typer.echo(f"  redacted {len(result.redacted)} suspected identifier(s) in free text")
    if result.cast_failures:
        typer.echo(f"  {result.cast_failures} value(s) did not fit their field type: kept in _cast_failures")
    if result.missing_values:
        typer.echo(f"  {result.missing_values} missing-data code(s) kept in _missing_values")
    for note in result.notes:
        typer.echo(_plain(f"warning: {note}"), err=True)
    if result.misplaced_values:
        typer.echo(f"  {result.misplaced_values} value(s) on rows where their form cannot be: left out of the form "
                   "tables, kept in _misplaced_values (--ignore-misplaced)")
    if result.missing_records:
        typer.echo(_plain(f"warning: {result.missing_records.describe()}"), err=True)


@app.command()
@command
def status(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The current batch: records and rows per instrument."""
    from registry import store

    con = store.connect(_registry(db), read_only=True)
    try:
        info = store.status(con)
    finally:
        con.close()
    if as_json:
        _print_json(info)
        return
    typer.echo(
        f"batch {info['batch_id']} of {info['batches']}: {safe_text.terminal(info['file_name'])} "
        f"({info['export_format']}), "
        f"ingested {info['ingested_at']} UTC"
    )
    typer.echo(f"records: {info['records']}; export rows: {info['rows']}; sha256 {info['source_sha256'][:16]}…")
    for form, rows in info["instruments"].items():
        typer.echo(f"  {form:<28} {rows:>8} rows  {info['instrument_records'].get(form, 0):>7} records")
    typer.echo(f"cast failures: {info['cast_failures']}; missing-data codes: {info['missing_values']}; "
               f"misplaced values kept aside: {info['misplaced_values']}")
    for note in info["notes"]:
        typer.echo(f"note: {safe_text.terminal(note)}")


@app.command()
@command
def history(
    db: DbOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list: one object per batch, oldest first.")
    ] = False,
) -> None:
    """Every batch ingested, oldest first."""
    from registry import store

    con = store.connect(_registry(db), read_only=True)
    try:
        rows = store.history(con)
    finally:
        con.close()
    if as_json:
        _print_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for name in ("batch", "ingested (UTC)", "file", "records", "rows", "format", "sha256", "current"):
        table.add_column(name, overflow="fold")  # on a narrow terminal: wrap, never cut
    for r in rows:
        table.add_row(
            str(r["batch_id"]), str(r["ingested_at"])[:19], safe_text.rich(r["file_name"]), str(r["records"]),
            str(r["rows"]), r["format"], r["source_sha256"][:12], "*" if r["current"] else "",
        )
    # Not a terminal (a pipe, a file, a log): as wide as the table needs, so nothing is cut or wrapped.
    Console(width=None if sys.stdout.isatty() else 100_000).print(table)


app.command("diff")(diff)


# --- analysis plan and analyses (registry/analysis, registry/report) -------------------------
PlanOption = Annotated[
    Path | None,
    typer.Option("--plan", help="Analysis plan (default: the workspace's plan.toml, else the built-in plan)."),
]
plan_app = typer.Typer(help="The analysis plan: lock it before the data are seen.", no_args_is_help=True)
app.add_typer(plan_app, name="plan")


@plan_app.command("lock")
@command
def plan_lock(db: DbOption = None, plan: PlanOption = None) -> None:
    """Record the plan's SHA-256 and the time in the registry (lock it before the first ingest)."""
    from registry.analysis.lock import lock_plan
    from registry.analysis.plan import read_plan

    ws = workspace.find_workspace()
    info = lock_plan(workspace.db_path(db, ws), read_plan(workspace.plan_path(plan, ws)))
    if not info["created"]:
        typer.echo(
            f"plan {info['sha256']} is already the locked plan (since {info['locked_at']} UTC): nothing changed."
        )
    else:
        typer.echo(
            f"locked plan {info['sha256']} at {info['locked_at']} UTC"
            + (f" (replaces {info['previous_sha256']})" if info["previous_sha256"] else "")
        )
    typer.echo(
        "locked before any data were ingested"
        if info["before_data"]
        else "note: data were already ingested, so reports will say the plan was locked after the data"
    )


@app.command()
@command
def analyze(
    db: DbOption = None,
    plan: PlanOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Output folder (default: reports/batch_<N>/ of the workspace, else beside the registry)."
        ),
    ] = None,
    exploratory: Annotated[
        bool,
        typer.Option(
            "--exploratory", help="Run a plan that differs from the locked one; labels every output exploratory."
        ),
    ] = False,
    override_gate: Annotated[
        str | None,
        typer.Option(
            "--override-gate",
            metavar="REASON",
            help="Analyse a batch that has not passed the gate; the written reason is recorded in every output.",
        ),
    ] = None,
) -> None:
    """Run the prespecified analyses on the current batch: results.json, report.html, report.md."""
    from registry.workflow import analyze as run_analyze

    ws = workspace.find_workspace()
    db = workspace.db_path(db, ws)
    from registry.analysis.run import STEPS

    with _progress(STEPS + 1, "analysing") as advance:
        result = run_analyze(
            db, workspace.plan_path(plan, ws), out, reports_root=workspace.output_root("reports", db, ws),
            exploratory=exploratory, override_reason=override_gate, progress=advance,
        )
    if result.results["exploratory"]:
        typer.echo("EXPLORATORY: the plan differs from the locked plan; every output is labelled exploratory.")
    if result.results["gate"]["overridden"]:
        typer.echo(f"gate overridden: {safe_text.terminal(override_gate)}")
    typer.echo(f"report: {result.out_dir / 'report.html'}")
    for path in result.files:
        typer.echo(f"  {path}")


# --- data-quality gate (registry/checks) ------------------------------------------------------
ChecksOption = Annotated[
    Path | None, typer.Option("--checks", help="Directory of expectation suites (default: the workspace's checks/).")
]
checks_app = typer.Typer(help="Expectation suites in checks/: build them from a data dictionary.", no_args_is_help=True)
app.add_typer(checks_app, name="checks")


@checks_app.command("build")
@command
def checks_build(
    dictionary: Annotated[
        Path | None, typer.Option(help="Data dictionary (default: the workspace's project, else the registry's own).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write the suites (default: the workspace's checks/, else checks/)."),
    ] = None,
    study_day_anchor: Annotated[
        str | None, typer.Option(help="Date field that is day 0 (dates stored as study days).")
    ] = None,
) -> None:
    """Generate the dictionary-driven suites (types, choices, ranges, required, branching, keys, calcs)."""
    from registry.checks.build import build_suites, write_suites
    from registry.redcap.dictionary import read_dictionary

    ws = workspace.find_workspace()
    if dictionary is None:
        project = workspace.load_project(ws)
        dic, anchor = project.dictionary, study_day_anchor or project.study_day_anchor
    else:
        dic, anchor = read_dictionary(dictionary), study_day_anchor
    out = out if out is not None else ws.checks if ws else Path("checks")
    paths = write_suites(build_suites(dic, anchor), out)
    typer.echo(f"wrote {len(paths)} suites to {out}/ from {dic.source} (sha256 {dic.sha256[:12]}…)")


@app.command()
@command
def validate(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object: passed, findings, resolved.")] = False,
    checks: ChecksOption = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="HTML report (default: reports/batch_<N>/data_quality.html of the workspace, "
                     "else beside the registry)."),
    ] = None,
) -> None:
    """Run every suite on the current batch, store the findings; exit 1 if an error finding remains."""
    from registry import store
    from registry.checks.gate import run_gate
    from registry.checks.report import default_report_path, print_summary, write_html_report
    from registry.checks.suites import load_suites
    from registry.outputs import check_output_dir, check_output_file

    ws = workspace.find_workspace()
    db, checks_dir = workspace.db_path(db, ws), workspace.checks_dir(checks, ws)
    reports = workspace.output_root("reports", db, ws)
    check_output_file(html, "--html") if html is not None else check_output_dir(reports, "reports folder")
    con = store.connect(db, create=False)
    try:
        with _progress(3, "validating") as advance:
            result = run_gate(con, checks_dir, progress=advance)
        suites = load_suites(checks_dir)  # the report reads the findings from the connection
        report = write_html_report(result, suites, html or default_report_path(reports, result.batch_id),
                                   str(checks_dir))
        if as_json:
            _print_json(result.to_json())
            typer.echo(f"report: {report}", err=True)
        else:
            print_summary(result, suites, report)
    finally:
        con.close()
    if not result.passed:
        raise typer.Exit(1)


# --- analysis datasets (registry/adam) --------------------------------------------------------
@app.command("export")
@command
def export_datasets(
    fmt: Annotated[
        str, typer.Option("--format", help="sav (SPSS), dta (Stata), xpt (SAS transport v5), parquet or csv.")
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for adsl, adqs, adtte (created if missing; default: "
                     "exports/batch_<N>/<format>/ of the workspace, else beside the registry)."),
    ] = None,
    db: DbOption = None,
    plan: PlanOption = None,
) -> None:
    """Write the ADaM analysis datasets ADSL, ADQS and ADTTE of the current batch."""
    from registry.adam.write import FORMATS, export_adam

    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    ws = workspace.find_workspace()
    db = workspace.db_path(db, ws)
    data, files = export_adam(
        db, fmt, out, workspace.plan_path(plan, ws), exports_root=workspace.output_root("exports", db, ws)
    )
    typer.echo(
        f"batch {data.batch['batch_id']} ({safe_text.terminal(data.batch['file_name'])}) as {fmt}: "
        + ", ".join(f"{ds.name} {len(ds.frame)} rows" for ds in data.datasets)
    )
    for path in files:
        typer.echo(f"  {path}")


app.command()(pull)

from registry.cli_queries import queries_app  # noqa: E402 - after the commands it extends

app.add_typer(queries_app, name="queries")

if __name__ == "__main__":
    app()
