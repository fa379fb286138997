"""Ingest: a REDCap export becomes a new batch of the registry, or nothing at all.

Steps: read the export into text cells and refuse anything structurally wrong; drop the
fields tagged as identifiers and scan free text for identifiers (refuse, or redact with
``redact=True``); then, in one transaction, write one typed table per instrument, the side
tables, a snapshot of the project and the batch row, and point the views at the new batch.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from registry import __version__, store
from registry.missing_records import MissingRecords, check_missing_records
from registry.redcap import tidy
from registry.redcap.export import read_export
from registry.redcap.project import Project
from registry.redcap.rawfile import file_sha256
from registry.sqltext import quote_ident


@dataclass
class IngestResult:
    batch_id: int
    created: bool
    records: int = 0
    rows: int = 0
    instruments: dict[str, int] = field(default_factory=dict)
    export_format: str = "raw"
    dropped_identifiers: list[str] = field(default_factory=list)
    redacted: list[dict] = field(default_factory=list)
    cast_failures: int = 0
    missing_values: int = 0
    notes: list[str] = field(default_factory=list)  # what was read leniently (warnings for the user)
    misplaced_values: int = 0
    seconds: float = 0.0
    missing_records: MissingRecords | None = None


def ingest(export: str | Path, project: Project, db: str | Path | None = None, *, encoding: str | None = None,
           ignore_extra: bool = False, export_format: str = "auto", redact: bool | None = None,
           allow_missing_records: bool = False, ignore_misplaced: bool = False,
           progress=None, wait: float = store.LOCK_WAIT_SECONDS) -> IngestResult:
    """Load ``export`` into the registry at ``db`` as a new batch.

    ``ignore_misplaced``: values on rows where their form cannot be are kept in ``_misplaced_values``
    and left out of the form tables, instead of refusing the ingest.
    ``redact``: suspected identifiers in free text are replaced by a marker (True) or refuse the
    ingest (False); None takes the project's setting (``project.phi_action``).
    ``progress(step: str)`` is called as each step ends (for a progress bar).
    Raises a :class:`registry.errors.RegistryError` on bad input; the registry is then unchanged.
    """
    import duckdb  # noqa: F401 - loaded before the clock starts: ``seconds`` times the work, not the import

    started = time.perf_counter()
    step = progress or (lambda _name: None)
    export = Path(export)
    with ThreadPoolExecutor(max_workers=1) as pool:  # the file is hashed while the registry opens (hashlib
        hashing = pool.submit(file_sha256, export) if export.is_file() else None  # lets go of the GIL)
        con = store.connect(db, wait=wait)
    try:
        sha = hashing.result() if hashing else ""
        existing = store.find_batch(con, sha, project.dictionary.sha256) if sha else None
        if existing is not None:
            return IngestResult(batch_id=existing, created=False)
        con.execute("set preserve_insertion_order = true")
        info = read_export(con, export, project, encoding=encoding, ignore_extra=ignore_extra,
                           export_format=export_format, sha256=sha or None)
        step("read")
        dropped = _drop_identifiers(con, project, info.columns)
        if redact is None:
            redact = project.phi_action == "redact"
        redacted = _phi_gate(con, project, info.columns, dropped, str(export), redact)
        missing = check_missing_records(con, str(export), {f.name for f in project.dictionary.fields},
                                        allow_missing_records)
        step("checked")
        result = _write_batch(con, project, info, dropped, redacted, step, ignore_misplaced)
        result.missing_records = missing
    finally:
        con.close()
    result.seconds = time.perf_counter() - started  # from opening the registry to closing it
    return result


def _drop_identifiers(con, project: Project, header: list[str]) -> list[str]:
    """Fields tagged ``Identifier? = y`` never reach the registry (the record ID excepted)."""
    dic = project.dictionary
    tagged = [f for f in dic.fields if f.identifier and f.name != dic.record_id_field]
    dropped = []
    for f in tagged:
        cols = [c for c in header if c == f.name or c.startswith(f"{f.name}___")]
        for c in cols:
            con.execute(f"alter table raw drop column {quote_ident(c)}")
            header.remove(c)
        if cols:
            dropped.append(f.name)
    return dropped


def _phi_gate(con, project: Project, header: list[str], dropped: list[str], source: str,
              redact: bool) -> list[dict]:
    """Scan free text for identifiers: refuse the ingest, or redact with ``--redact``."""
    from registry import phi
    from registry.errors import PhiError

    present = set(header)
    # Free text (notes, unvalidated text) is scanned; integer fields only for ages over 89.
    fields = [f for f in project.dictionary.fields if f.name in present and f.name not in dropped
              and (f.is_free_text or f.validation == "integer")]
    _check_dags(con, project, header, source)
    key_hits = phi.scan_keys(con, "raw")
    hits = phi.scan_identifiers(con, "raw", fields)
    if not hits and not key_hits:
        return []
    if not redact:
        raise PhiError(phi.format_phi_refusal(key_hits + hits, source), where=source,
                       fix="remove the identifiers in REDCap and export again, or pass --redact to store the "
                           "batch with those values replaced by a marker (record IDs and DAGs by a pseudonym)")
    phi.redact_identifiers(con, "raw", hits)
    phi.pseudonymise_keys(con, "raw", key_hits)
    return [{"record_id": None if h.field in phi.KEY_FIELDS else h.record_id, "event": h.event,
             "instance": h.instance, "field": h.field, "kind": h.kind} for h in key_hits + hits]


def _check_dags(con, project: Project, header: list[str], source: str) -> None:
    """Every data access group of the export is one of the project's, when the project lists them."""
    from registry.errors import ExportError

    if not project.dags or "redcap_data_access_group" not in header:
        return
    row = con.execute(store.read_sql("unknown_dags.sql"), {"known": sorted(project.dags.values())}).fetchone()
    if row is not None:
        raise ExportError(
            f"{row[1]} row(s) name a data access group that is not one of the project's DAGs",
            where=f"{source}, row {row[0]}: redcap_data_access_group {row[2][:40]!r}",
            fix="export again from the project, or add the group to dags.csv (known: "
                f"{', '.join(sorted(project.dags.values()))})")


def _write_batch(con, project: Project, info, dropped: list[str], redacted: list[dict], step,
                 ignore_misplaced: bool = False) -> IngestResult:
    batch_id = store.next_batch_id(con)
    notes = [*project.dictionary.warnings, *info.notes]
    schema = f"batch_{batch_id}"
    s = quote_ident(schema)
    con.execute("begin transaction")
    try:
        con.execute(f"create schema {s}")
        counts = tidy.write_form_tables(con, project, info.columns, schema, set(dropped), on_form=step,
                                        ignore_misplaced=ignore_misplaced, source=str(info.path))
        records = tidy.write_records(con, info.columns, schema)
        _write_project_snapshot(con, project, schema)
        failures = con.execute(f"select count(*) from {s}._cast_failures").fetchone()[0]
        missing = con.execute(f"select count(*) from {s}._missing_values").fetchone()[0]
        misplaced = con.execute(f"select count(*) from {s}._misplaced_values").fetchone()[0]
        con.execute("update registry.batches set is_current = false")
        con.execute(
            "insert into registry.batches values ($id, $file, $sha, $dsha, $project, $rid, $fmt, $rows, $records, "
            "$irows, $irecords, $dropped, $redacted, $ignored, $failures, $missing, $anchor, $version, $at, true, "
            "$notes)",
            {
                "id": batch_id, "file": info.path.name, "sha": info.sha256, "dsha": project.dictionary.sha256,
                "project": project.name, "rid": project.dictionary.record_id_field, "fmt": info.export_format,
                "rows": info.rows, "records": records,
                "irows": json.dumps({f: c["rows"] for f, c in counts.items()}),
                "irecords": json.dumps({f: c["records"] for f, c in counts.items()}),
                "dropped": json.dumps(dropped), "redacted": json.dumps(redacted),
                "ignored": json.dumps(info.ignored_columns), "failures": failures, "missing": missing,
                "anchor": project.study_day_anchor, "version": __version__,
                "at": datetime.now(UTC).replace(tzinfo=None), "notes": json.dumps(notes),
            },
        )
        store.point_views_at(con, schema)
        con.execute("commit")
    except BaseException:
        store.rollback(con)
        raise
    step("committed")
    return IngestResult(
        batch_id=batch_id, created=True, records=records, rows=info.rows,
        instruments={f: c["rows"] for f, c in counts.items()}, export_format=info.export_format,
        dropped_identifiers=dropped, redacted=redacted, cast_failures=failures, missing_values=missing,
        notes=notes,
        misplaced_values=misplaced,
    )


def _write_project_snapshot(con, project: Project, schema: str) -> None:
    """The dictionary, events, mapping and repeating setup the batch was read with."""
    from registry.redcap.dictionary import API_COLUMNS

    s = quote_ident(schema)
    tables = {
        "_dictionary": ([(c, "varchar") for c in API_COLUMNS],
                        [tuple(r[c] for c in API_COLUMNS) for r in project.dictionary.to_rows()]),
        "_events": ([("unique_event_name", "varchar"), ("event_name", "varchar"), ("arm_num", "integer"),
                     ("day_offset", "double"), ("offset_min", "double"), ("offset_max", "double")],
                    [(e.unique_name, e.label, e.arm, e.day_offset, e.offset_min, e.offset_max)
                     for e in project.events or []]),
        "_mapping": ([("arm_num", "integer"), ("unique_event_name", "varchar"), ("form", "varchar")],
                     list(project.mapping or [])),
        "_repeating": ([("event_name", "varchar"), ("form_name", "varchar")],
                       sorted(project.repeating or [], key=str)),
    }
    for name, (columns, rows) in tables.items():
        con.execute(f"create table {s}.{name} ({', '.join(f'{c} {t}' for c, t in columns)})")
        if rows:
            marks = ", ".join("?" for _ in columns)
            con.executemany(f"insert into {s}.{name} values ({marks})", rows)
