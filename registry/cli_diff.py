"""``registry diff``: what really changed between two batches, on the terminal or as JSON."""

from __future__ import annotations

from typing import Annotated

import typer

from registry.cli_support import DbOption, _plain, _print_json, _registry, command


@command
def diff(
    old: Annotated[int | None, typer.Argument(help="Older batch (default: the one before NEW).")] = None,
    new: Annotated[int | None, typer.Argument(help="Newer batch (default: the current batch).")] = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object: counts and every change.")] = False,
    show_all: Annotated[bool, typer.Option("--all", help="Print every line (default: 50 per part).")] = False,
) -> None:
    """Records added, records removed, and values changed in the records both batches hold."""
    from registry import store
    from registry.diff import diff_batches

    con = store.connect(_registry(db), read_only=True)
    try:
        result = diff_batches(con, old, new)
    finally:
        con.close()
    if as_json:
        _print_json(result.to_dict())
        return
    counts = result.counts()
    typer.echo(f"batch {result.old_batch} -> batch {result.new_batch}: {counts['records_added']} records added, "
               f"{counts['records_removed']} records removed, {counts['values_changed']} values changed "
               "in records both batches hold")
    limit = None if show_all else DIFF_LINES
    parts = [("records added", result.records_added, str), ("records removed", result.records_removed, str),
             ("values changed", result.changes, _change_line)]
    for title, items, line in parts:
        if not items:
            continue
        typer.echo(f"{title} ({len(items)}):")
        for item in items[:limit]:
            typer.echo(_plain(f"  {line(item)}"))
        if limit is not None and len(items) > limit:
            typer.echo(f"  ... {len(items) - limit} more (use --all or --json)")


DIFF_LINES = 50


def _change_line(c: dict) -> str:
    where = " / ".join(str(v) for v in (c["record_id"], c["event"], c["instance"]) if v is not None)
    return f"{where}  {c['field']}: {c['old']!r} -> {c['new']!r}"
