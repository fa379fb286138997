"""Test helper: the sample registry with `registry analyze` run on it, built once per session.

``sample_registry(base)`` ingests ``sample_data/sample_export.csv`` and runs ``registry
analyze --override-gate`` through the CLI; it returns the registry file and results.json.
``edited_sample(path, edit)`` writes a copy of the sample export with cells changed.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from conftest import SAMPLE, Cli

EXPORT = SAMPLE / "sample_export.csv"
_CACHE: dict[str, tuple[Path, dict]] = {}
TOTAL_CODES = {"madrs": "MADRSTOT", "phq9": "PHQ9TOT", "hamd": "HAMD17T"}
VISITS = {"week_8_arm_1": "Week 8", "week_16_arm_1": "Week 16"}


def sample_registry(base: Path) -> tuple[Path, dict]:
    """(registry file, results.json) of the sample export; built once per test session."""
    if "sample" not in _CACHE:
        cli = Cli()
        db = base / "sample.duckdb"
        result = cli("ingest", EXPORT, "--db", db)
        assert result.exit_code == 0, result.stderr
        out = base / "analysis"
        result = cli("analyze", "--db", db, "--out", out, "--override-gate", "test fixture: gate not run")
        assert result.exit_code == 0, result.stderr
        _CACHE["sample"] = (db, json.loads((out / "results.json").read_text()))
    return _CACHE["sample"]


def read_sample_rows() -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the sample export as text cells."""
    rows = list(csv.reader(io.StringIO(EXPORT.read_text(encoding="utf-8"), newline="")))
    return rows[0], rows[1:]


def edited_sample(path: Path, edit) -> Path:
    """A copy of the sample export with ``edit(row: dict) -> None`` applied to every row."""
    header, rows = read_sample_rows()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for cells in rows:
        row = dict(zip(header, cells, strict=True))
        edit(row)
        writer.writerow([row[h] for h in header])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path
