"""Registries of the sample exports for the gate's tests, ingested once per test session.

``registry_copy(tmp_path, "dirty_export.csv")`` returns a fresh copy of a registry holding
that export as batch 1 (more names: more batches, in order).
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
CHECKS = ROOT / "checks"
_CACHE: dict[tuple[str, ...], Path] = {}
_DIR = Path(tempfile.mkdtemp(prefix="gate_registry_"))


def registry_copy(tmp_path: Path, *exports: str | Path) -> Path:
    """A copy of a registry with ``exports`` (names in sample_data/, or paths) ingested in order."""
    from registry.ingest import ingest
    from registry.redcap.project import load_default_project

    key = tuple(str(e) for e in exports)
    if key not in _CACHE:
        db = _DIR / f"registry_{len(_CACHE)}.duckdb"
        for export in exports:
            path = Path(export) if Path(export).is_absolute() else SAMPLE / export
            ingest(path, load_default_project(), db)
        _CACHE[key] = db
    copy = tmp_path / "registry.duckdb"
    shutil.copy(_CACHE[key], copy)
    return copy


def edit_export(source: str, out: Path, edits: dict[tuple[str, str], dict[str, str]]) -> Path:
    """Write a copy of a sample export with cells changed: (record_id, event) -> {column: value}."""
    text = (SAMPLE / source).read_text()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = rows[0]
    for row in rows[1:]:
        change = edits.get((row[0], row[1]))
        if change and not row[header.index("redcap_repeat_instrument")]:
            for column, value in change.items():
                row[header.index(column)] = value
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    out.write_text(buffer.getvalue())
    return out


def cell(source: str, record_id: str, event: str, instance: int | None, column: str) -> str:
    """The value of one cell of a sample export (for tests that must never see it printed)."""
    reader = csv.DictReader(io.StringIO((SAMPLE / source).read_text(), newline=""))
    for row in reader:
        wanted = None if instance is None else str(instance)
        same_instance = (row["redcap_repeat_instance"] or None) == wanted
        same_row = row["record_id"] == record_id and row["redcap_event_name"] == event and same_instance
        if same_row and row[column]:
            return row[column]
    raise KeyError((record_id, event, instance, column))
