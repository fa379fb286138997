"""Values from an export cannot act where they are shown: spreadsheet formulas in CSV exports,
escape codes and rich markup on the terminal, HTML in report.md."""

from __future__ import annotations

import csv
import io
import shutil

import pytest
from conftest import SAMPLE, Cli

EXPORT = SAMPLE / "sample_export.csv"
FORMULAS = {"SIR-0001": "+cmd|' /C calc'!A0", "SIR-0002": "-2+3+cmd|' /C calc'!A0",
            "SIR-0003": "@SUM(1+1)*cmd|' /C calc'!A0", "SIR-0004": "=1+2"}
HOSTILE_NAME = "<img src=x onerror=alert(1)> [red]x[bold].csv"


def export_with_ids(path, ids: dict[str, str]):
    rows = list(csv.reader(EXPORT.open(newline="")))
    for row in rows[1:]:
        row[0] = ids.get(row[0], row[0])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue())
    return path


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """A registry of the sample export with formula record IDs, from a file with a hostile name, analysed."""
    base = tmp_path_factory.mktemp("safe")
    cli = Cli()
    db = base / "registry.duckdb"
    export = export_with_ids(base / HOSTILE_NAME, FORMULAS)
    result = cli("ingest", export, "--db", db)
    assert result.exit_code == 0, result.stderr
    result = cli("analyze", "--db", db, "--out", base / "out", "--override-gate", "<script>alert('x')</script>")
    assert result.exit_code == 0, result.stderr
    result = cli("export", "--format", "csv", "--out", base / "adam", "--db", db)
    assert result.exit_code == 0, result.stderr
    return base, db


def test_csv_exports_neutralise_cells_a_spreadsheet_would_run_and_leave_numbers_alone(analysed):
    base, _ = analysed
    adsl = list(csv.DictReader((base / "adam" / "adsl.csv").open(newline="")))
    assert {"'" + f for f in FORMULAS.values()} <= {r["SUBJID"] for r in adsl}
    for name in ("adsl.csv", "adqs.csv", "adtte.csv"):
        cells = [c for row in csv.reader((base / "adam" / name).open(newline="")) for c in row]
        risky = [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")
                 or (c.startswith("-") and not _is_number(c))]
        assert risky == [], (name, risky[:5])
    adqs = list(csv.DictReader((base / "adam" / "adqs.csv").open(newline="")))
    negative = [r["CHG"] for r in adqs if r.get("CHG", "").startswith("-")]
    assert negative and all(_is_number(c) for c in negative)  # numbers untouched


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def test_report_md_escapes_the_file_name_and_the_override_reason(analysed):
    base, _ = analysed
    report = (base / "out" / "report.md").read_text()
    assert "<img" not in report and "<script" not in report
    assert "&lt;img src=x onerror=alert(1)&gt;" in report and "&lt;script&gt;" in report


def test_status_prints_no_escape_code_from_a_file_name(tmp_path):
    cli = Cli()
    db = tmp_path / "r.duckdb"
    export = tmp_path / "ex\x1b[31mport\x07.csv"
    shutil.copy(EXPORT, export)
    assert cli("ingest", export, "--db", db).exit_code == 0
    out = cli("status", "--db", db).stdout
    assert "\x1b" not in out and "\x07" not in out
    assert "ex\\x1b[31mport\\x07.csv" in out


def test_history_shows_rich_markup_in_a_file_name_as_text(analysed, monkeypatch):
    _, db = analysed
    monkeypatch.setenv("COLUMNS", "300")
    result = Cli()("history", "--db", db)
    assert result.exit_code == 0, result.stderr
    assert "[red]x[bold].csv" in result.stdout


def test_validate_lists_a_record_id_that_looks_like_markup(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    cli = Cli()
    db = tmp_path / "r.duckdb"
    dirty = SAMPLE / "dirty_export.csv"
    rows = list(csv.reader(dirty.open(newline="")))
    for row in rows[1:]:  # SIR-0002 has an error finding (its relapse date)
        row[0] = "A[/x]" if row[0] == "SIR-0002" else row[0]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    (tmp_path / "dirty.csv").write_text(buf.getvalue())
    assert cli("ingest", tmp_path / "dirty.csv", "--db", db).exit_code == 0
    result = cli("validate", "--db", db)
    assert result.exit_code == 1 and "not passed" in result.stdout
    assert "A[/x]" in result.stdout
