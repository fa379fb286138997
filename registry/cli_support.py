"""What every ``registry`` sub-command shares: the --db option, the error edge, JSON output."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import typer

from registry import safe_text, workspace
from registry.errors import RegistryError, disk_full

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
            typer.echo(safe_text.terminal(exc), err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted: nothing was changed", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:
            full = disk_full(exc, where=str(kwargs.get("out") or kwargs.get("db") or ""))
            if full is None:
                raise
            typer.echo(safe_text.terminal(full), err=True)
            raise typer.Exit(full.exit_code) from None

    return wrapper


def _registry(db: Path | None) -> Path:
    """The registry file: ``--db``, else $REGISTRY_DB, else the workspace's, else ./registry.duckdb."""
    return workspace.db_path(db, workspace.find_workspace())


def _print_json(obj) -> None:
    from registry.outputs import json_text

    typer.echo(json_text(obj, default=str))




def _plain(text: str) -> str:
    """One line for the terminal: no control characters from the data (:func:`registry.safe_text.terminal`)."""
    from registry.safe_text import terminal

    return terminal(text, keep_newlines=False)


class _progress:
    """A rich progress bar on stderr when it is a terminal (nothing otherwise: pipes, --json)."""

    def __init__(self, total: int, description: str = "ingesting"):
        self.total = total
        self.description = description

    def __enter__(self):
        from rich.progress import Progress

        self.bar = Progress(transient=True, disable=not sys.stderr.isatty())
        self.bar.start()
        self.task = self.bar.add_task(self.description, total=self.total)
        return lambda name: self.bar.update(self.task, advance=1, description=str(name))

    def __exit__(self, *exc):
        self.bar.stop()
        return False
