"""What every ``registry`` sub-command shares: the --db option, the error edge, JSON output."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Annotated

import typer

from registry import workspace
from registry.errors import RegistryError

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Registry file (default: $REGISTRY_DB, else the workspace's, else ./registry.duckdb)."),
]


def command(fn):
    """Run a command; turn library errors into a message and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RegistryError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted: nothing was changed", err=True)
            raise typer.Exit(130) from None

    return wrapper


def _registry(db: Path | None) -> Path:
    """The registry file: ``--db``, else $REGISTRY_DB, else the workspace's, else ./registry.duckdb."""
    return workspace.db_path(db, workspace.find_workspace())


def _print_json(obj) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str))


