"""Every non-empty cell of an export is in the registry after an ingest: stored in its form's table,
or recorded (failed cast, missing-data code, redaction, dropped identifier, ignored column,
misplaced value). The public REDCap examples are walked in test_ingest_examples.py."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from cell_walk import read_export, unaccounted
from conftest import SAMPLE


def write_rows(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.parametrize(("export", "args"), [
    ("sample_export.csv", []),
    ("dirty_export.csv", []),  # failed casts, missing-data codes, out-of-range values
    ("phi_export.csv", ["--redact"]),  # identifiers in free text, stored redacted
])
def test_every_cell_of_the_sample_exports_is_in_the_registry(cli, db, export, args):
    result = cli("ingest", SAMPLE / export, "--db", db, *args)
    assert result.exit_code == 0, result.stderr
    assert unaccounted(db, SAMPLE / export) == []


def test_an_extra_column_dropped_with_ignore_extra_is_accounted_for(cli, db, tmp_path):
    header, rows = read_export(SAMPLE / "sample_export.csv")
    for r in rows:
        r["site_note"] = "kept out"
    export = write_rows(tmp_path / "extra.csv", [*header, "site_note"], rows)
    assert cli("ingest", export, "--db", db, "--ignore-extra").exit_code == 0
    assert unaccounted(db, export) == []


def test_the_walk_reports_a_cell_the_registry_does_not_hold(cli, db, tmp_path):
    """The walk itself can fail: against an export with one more value than was ingested, it names that cell."""
    assert cli("ingest", SAMPLE / "sample_export.csv", "--db", db).exit_code == 0
    header, rows = read_export(SAMPLE / "sample_export.csv")
    row = next(r for r in rows if r["redcap_repeat_instrument"] == "adverse_event" and r["ae_term"])
    row["ae_term"] += " (edited)"
    lost = unaccounted(db, write_rows(tmp_path / "edited.csv", header, rows))
    assert len(lost) == 1
    assert f"record {row['record_id']}" in lost[0] and "ae_term" in lost[0]
