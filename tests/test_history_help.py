"""`registry history` shows whole file names and times off a terminal; --json; --help has no <bool>."""

from __future__ import annotations

import shutil

import pytest
from conftest import SAMPLE

from registry.cli import app

LONG_NAME = "registry_export_of_the_esketamine_maintenance_cohort_2026-12-04_0930_labels.csv"
KEYS = {"batch_id", "file_name", "source_sha256", "records", "rows", "format", "ingested_at", "current"}


@pytest.fixture
def two_batches(cli, db, tmp_path):
    shutil.copy(SAMPLE / "sample_export_labels.csv", tmp_path / LONG_NAME)
    for export in (SAMPLE / "sample_export.csv", tmp_path / LONG_NAME):
        assert cli("ingest", export, "--db", db).exit_code == 0
    return db


def test_history_off_a_terminal_never_cuts_file_names_or_times(cli, two_batches):
    out = cli("history", "--db", two_batches).stdout
    rows = [line for line in out.splitlines() if LONG_NAME in line]
    assert len(rows) == 1 and "…" not in out
    assert cli.json("history", "--db", two_batches, "--json")[1]["ingested_at"][:19] in rows[0]


def test_history_json_is_one_object_per_batch_with_the_contract_keys(cli, two_batches):
    from registry import store

    history = cli.json("history", "--db", two_batches, "--json")
    assert [set(h) for h in history] == [KEYS, KEYS]
    assert [(h["batch_id"], h["file_name"], h["format"], h["current"]) for h in history] == [
        (1, "sample_export.csv", "raw", False), (2, LONG_NAME, "label", True)]
    con = store.connect(two_batches, read_only=True)
    assert history[1]["source_sha256"] == store.status(con)["source_sha256"]  # the whole hash
    con.close()
    assert all(h["records"] == 120 and h["rows"] > 0 for h in history)


def commands(group, prefix=()):
    import typer.main

    click_group = typer.main.get_command(group)
    stack = [(prefix, click_group)]
    while stack:
        path, cmd = stack.pop()
        yield path
        for name, sub in getattr(cmd, "commands", {}).items():
            stack.append(((*path, name), sub))


def test_no_help_page_shows_a_bool_placeholder(cli):
    pages = list(commands(app))
    assert ("ingest",) in pages and ("plan", "lock") in pages
    for path in pages:
        result = cli(*path, "--help")
        assert result.exit_code == 0
        assert "<bool>" not in result.stdout, path
    assert "<path>" in cli("ingest", "--help").stdout  # options that take a value keep theirs
