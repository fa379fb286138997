"""``registry queries``: data queries out to sites as spreadsheets, answers back in, the list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from registry.cli_support import DbOption, _print_json, _registry, command

queries_app = typer.Typer(help="Data queries: findings sent to sites and their answers read back.",
                          no_args_is_help=True)
SiteOption = Annotated[str | None, typer.Option("--site", help="One site (data access group) only.")]


@queries_app.command("export")
@command
def queries_export(
    out: Annotated[Path, typer.Option("--out", help="Folder for the sheets (created if missing).")],
    fmt: Annotated[str, typer.Option("--format", help="xlsx or csv.")] = "xlsx",
    site: SiteOption = None,
    include_warnings: Annotated[
        bool, typer.Option("--include-warnings", help="Warnings too (default: errors only).")
    ] = False,
    db: DbOption = None,
) -> None:
    """Write the open queries, one sheet per site: queries_<site>.xlsx (queries_all without sites)."""
    from registry import store
    from registry.queries.sheets import FORMATS, export_queries

    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    con = store.connect(_registry(db), read_only=True)
    try:
        written = export_queries(con, out, fmt, site=site, include_warnings=include_warnings)
    finally:
        con.close()
    if not written:
        typer.echo("no open queries" + (f" for site {site}" if site else "") + ": no sheet written")
    for path, n in written:
        typer.echo(f"{path}: {n} queries")


@queries_app.command("import")
@command
def queries_import(
    files: Annotated[list[Path], typer.Argument(help="Filled-in sheets (xlsx or csv) from queries export.")],
    db: DbOption = None,
) -> None:
    """Record the sites' answers (corrected, confirmed, cannot_fix); nothing unless every row is valid."""
    from collections import Counter

    from registry import store
    from registry.queries.answers import import_answers

    con = store.connect(_registry(db))
    try:
        answers = import_answers(con, files)
    finally:
        con.close()
    counts = Counter(a.response for a in answers)
    detail = ", ".join(f"{n} {r}" for r, n in sorted(counts.items())) or "no answers (all rows blank)"
    typer.echo(f"recorded {len(answers)} answer(s) from {len(files)} file(s): {detail}")
    if counts.get("confirmed"):
        typer.echo("run registry validate to let the gate count confirmed queries as closed")


@queries_app.command("list")
@command
def queries_list(
    site: SiteOption = None,
    status: Annotated[
        str | None, typer.Option("--status", help="new, open, confirmed or resolved (default: all).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of queries.")] = False,
    db: DbOption = None,
) -> None:
    """Every query with its status, and counts by site and status."""
    from registry import store
    from registry.queries.state import STATUSES, count_by_site_and_status, list_queries, public

    if status is not None and status not in STATUSES:
        raise typer.BadParameter(f"--status must be one of {', '.join(STATUSES)}")
    con = store.connect(_registry(db), read_only=True)
    try:
        queries = list_queries(con, site=site, status=status)
    finally:
        con.close()
    if as_json:
        _print_json([public(q) for q in queries])
        return
    _print_queries(queries, count_by_site_and_status(queries))


def _print_queries(queries: list[dict], counts: list[dict]) -> None:
    """One line per query (id, site, where, rule, severity, status) and its sentence; then the counts."""
    for q in queries:
        where = " / ".join(str(v) for v in (q["record_id"], q["event"], q["instance"], q["field"]) if v is not None)
        typer.echo(_plain(f"{q['query_id']}  {q['site'] or '-'}  {where}  {q['rule']} {q['severity']} {q['status']}"))
        typer.echo(_plain(f"    {q['query']}"))
    typer.echo(f"{len(queries)} queries")
    typer.echo(f"{'site':<24} {'new':>6} {'open':>6} {'confirmed':>10} {'resolved':>9} {'total':>6}")
    for row in counts:
        typer.echo(_plain(f"{row['site'] or '(none)':<24} {row['new']:>6} {row['open']:>6} {row['confirmed']:>10} "
                          f"{row['resolved']:>9} {row['total']:>6}"))


def _plain(text: str) -> str:
    """No control characters from the data reach the terminal."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
