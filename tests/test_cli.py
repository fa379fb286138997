"""The command line: fast to start, every command documented, errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from registry.cli import app

HEAVY = {"pandas", "duckdb", "great_expectations", "lifelines", "scipy", "matplotlib", "pyreadstat", "numpy"}


def test_registry_help_imports_no_heavy_library():
    code = ("import sys, registry.cli; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {HEAVY!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def all_commands(typer_app, prefix=()):
    import typer.main

    group = typer.main.get_command(typer_app)
    stack = [(prefix, group)]
    while stack:
        path, cmd = stack.pop()
        for name, sub in getattr(cmd, "commands", {}).items():
            stack.append(((*path, name), sub))
            yield (*path, name), sub


@pytest.mark.parametrize("path", [p for p, _ in all_commands(app)], ids=" ".join)
def test_every_command_has_help(cli, path):
    result = cli(*path, "--help")
    assert result.exit_code == 0
    cmd = dict(all_commands(app))[path]
    assert cmd.help, f"registry {' '.join(path)} has no help text"


def test_status_of_a_registry_that_does_not_exist_says_how_to_make_one(cli, tmp_path):
    result = cli("status", "--db", tmp_path / "none.duckdb")
    assert result.exit_code != 0
    assert "no registry at" in result.stderr and "registry ingest" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_registry_location_comes_from_the_environment_when_no_db_is_given(cli, tmp_path, monkeypatch):
    from conftest import SAMPLE

    monkeypatch.setenv("REGISTRY_DB", str(tmp_path / "env.duckdb"))
    assert cli("ingest", SAMPLE / "sample_export.csv").exit_code == 0
    assert (tmp_path / "env.duckdb").exists()
    assert cli.json("status", "--json")["records"] == 120
