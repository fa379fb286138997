"""Shared test fixtures: paths to example files and a way to run the CLI in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
REDCAP = DATA / "redcap"
SHARED = ROOT.parent / "shared" / "redcap_examples"
SAMPLE = ROOT / "sample_data"


def needs_shared():
    return pytest.mark.skipif(not SHARED.exists(), reason="../shared/redcap_examples is not beside the repo")


def batches_and_schemas(db: Path):
    """The registry's batch rows and batch schemas: what a refused ingest must leave as it was."""
    from registry import store

    con = store.connect(db, read_only=True)
    batches = con.execute("select batch_id, source_sha256 from registry.batches order by 1").fetchall()
    schemas = sorted(r[0] for r in con.execute(
        "select schema_name from duckdb_schemas() where schema_name like 'batch_%'").fetchall())
    con.close()
    return batches, schemas


def refuse(cli, db, export, *args, expect: str) -> str:
    """Ingest ``export`` expecting a refusal: message with where and fix, no traceback, registry unchanged."""
    before = batches_and_schemas(db)
    result = cli("ingest", export, "--db", db, *args)
    assert result.exit_code != 0
    assert expect in result.stderr
    assert "where:" in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert batches_and_schemas(db) == before
    return result.stderr


class Cli:
    """Runs `registry ...` in-process and keeps stdout and stderr apart."""

    def __init__(self):
        from registry.cli import app

        self.app = app
        self.runner = CliRunner()

    def __call__(self, *args: str | Path):
        return self.runner.invoke(self.app, [str(a) for a in args], catch_exceptions=False)

    def json(self, *args: str | Path):
        result = self(*args)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def cli():
    return Cli()


@pytest.fixture
def db(tmp_path):
    return tmp_path / "registry.duckdb"
