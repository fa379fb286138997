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
