"""``registry pull``: export a project through the REDCap API and ingest it as one batch."""

from __future__ import annotations

from typing import Annotated

import typer

from registry.cli_support import DbOption, _progress, _registry, command


@command
def pull(
    url: Annotated[str, typer.Option("--url", help="REDCap API URL, e.g. https://redcap.example.edu/api/.")],
    db: DbOption = None,
    token_env: Annotated[
        str,
        typer.Option(
            "--token-env",
            help="Environment variable holding the API token (the token is never an argument).",
        ),
    ] = "REDCAP_API_TOKEN",
    batch_size: Annotated[int, typer.Option("--batch-size", help="Records per record-export request.")] = 100,
    study_day_anchor: Annotated[
        str | None,
        typer.Option(
            help="Date field that is day 0 (default: the registry project's own, if it is that project).",
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds each API request may take in all (a deadline).")] = 120.0,
    max_bytes: Annotated[
        int, typer.Option("--max-bytes", help="Largest API answer accepted, in bytes (streamed to disk).")
    ] = 2_000_000_000,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another process using the registry.")] = 30.0,
    ignore_misplaced: Annotated[
        bool,
        typer.Option("--ignore-misplaced",
                     help="Store the batch without values on rows where their form cannot be, keeping them in "
                     "_misplaced_values, instead of refusing it (as registry ingest --ignore-misplaced)."),
    ] = False,
) -> None:
    """Export a project through the REDCap API and ingest it as one new batch."""
    from registry.pull import pull as run_pull

    with _progress(6) as advance:
        result = run_pull(
            url,
            _registry(db),
            token_env=token_env,
            batch_size=batch_size,
            study_day_anchor=study_day_anchor,
            timeout=timeout,
            max_bytes=max_bytes,
            wait=wait,
            ignore_misplaced=ignore_misplaced,
            progress=advance,
        )
    typer.echo(f"pulled {result.records} records ({result.rows} rows) from {result.url} in {result.batches} batch(es)")
    if not result.ingest.created:
        typer.echo(f"the data are already in the registry as batch {result.ingest.batch_id}: nothing changed.")
        return
    typer.echo(
        f"batch {result.ingest.batch_id}: {result.ingest.records} records, {result.ingest.rows} rows "
        f"({result.project} project)"
    )
    for form, rows in result.ingest.instruments.items():
        typer.echo(f"  {form}: {rows} rows")
    if result.ingest.misplaced_values:
        typer.echo(f"  {result.ingest.misplaced_values} value(s) on rows where their form cannot be: left out of the "
                   "form tables, kept in _misplaced_values (--ignore-misplaced)")
