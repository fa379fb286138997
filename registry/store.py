"""The registry file: a DuckDB database of versioned batches.

Each ingest writes schema ``batch_<N>`` and a row of ``registry.batches`` in one
transaction, then points the views in ``main`` at it; a failed or killed ingest leaves the
file as it was. One writer at a time: a second writer waits for the lock, then refuses.
See docs/registry_layout.md.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from registry import sqltext
from registry.errors import RegistryBusyError, RegistryStateError
from registry.resources import registry_ddl

DEFAULT_DB = "registry.duckdb"
LOCK_WAIT_SECONDS = 30.0


read_sql = sqltext.reader("registry")


def resolve_db(db: str | Path | None) -> Path:
    """``--db PATH``, else ``$REGISTRY_DB``, else ``./registry.duckdb``."""
    return Path(db or os.environ.get("REGISTRY_DB") or DEFAULT_DB)


def connect(db: str | Path | None, read_only: bool = False, wait: float = LOCK_WAIT_SECONDS,
            catalog: str = "registry_db", use: bool = True, create: bool = True):
    """Open the registry, waiting up to ``wait`` seconds for another process's lock.

    A missing file is created (with the registry's tables) only when ``create`` and not
    ``read_only``; otherwise it is a :class:`RegistryStateError` ("no registry at ...").

    The file is attached to an in-memory database as ``catalog``; with ``use`` it becomes the
    default catalog, otherwise new tables go to the in-memory one (for read-only staging).
    """
    import duckdb

    if not re.fullmatch(r"[a-z_]+", catalog):
        raise ValueError(f"not a catalog name: {catalog!r}")

    path = resolve_db(db)
    if (read_only or not create) and not path.exists():
        raise RegistryStateError(f"no registry at {path}", where=str(path),
                                 fix="ingest an export first: registry ingest EXPORT --db PATH")
    deadline = time.monotonic() + wait
    # The file is attached under a fixed name, so that no file name (registry.duckdb, main.duckdb …)
    # can clash with the schemas inside it.
    attach = f"attach $path as {catalog}" + (" (read_only)" if read_only else f" (row_group_size {ROW_GROUP_SIZE})")
    while True:
        con = duckdb.connect(config=memory_config(path))
        con.execute("set enable_progress_bar = false")
        try:
            con.execute(attach, {"path": str(path)})
            if use:
                con.execute(f"use {catalog}")
            break
        except duckdb.Error as exc:
            con.close()
            message = str(exc).splitlines()[0]
            if "lock" not in message.lower() and "conflict" not in message.lower():
                raise RegistryStateError(f"cannot open the registry: {message}", where=str(path),
                                         fix="pass the registry's .duckdb file with --db") from None
            if time.monotonic() >= deadline:
                raise RegistryBusyError(
                    "the registry is in use by another process (another ingest is running)",
                    where=str(path), fix="wait for it to finish and run the command again",
                ) from None
            time.sleep(0.25)
    if not read_only:
        con.execute(registry_ddl())
    return con


#: Rows per row group of what a connection writes (DuckDB's default is 122,880). A table fills a row
#: group before DuckDB writes it to the file during the statement; smaller tables wait for the
#: commit, which writes them on one thread. With 16,384 the instrument tables of a 20,000-patient
#: ingest are written while they are made, on every thread: its commit took 0.04 s instead of
#: 0.35 s, the ingest 2.9 s instead of 3.1 s; the file is 5% larger; validate and analyze as fast.
ROW_GROUP_SIZE = 16_384

#: DuckDB's memory budget per connection (it spills to ``<registry>.tmp/`` beyond it), so that
#: ingest, validate and analyze of a 200,000-patient registry stay under 2 GB of memory.
MEMORY_LIMIT = "1500MB"


def memory_config(path: Path) -> dict[str, str]:
    """DuckDB settings of a registry connection: memory limit and where to spill."""
    return {"memory_limit": MEMORY_LIMIT, "temp_directory": str(path.with_name(path.name + ".tmp"))}


@dataclass
class Batch:
    batch_id: int
    file_name: str
    source_sha256: str
    dictionary_sha256: str
    record_id_field: str
    records: int
    instrument_rows: dict[str, int]
    ingested_at: str
    study_day_anchor: str | None

    @property
    def schema(self) -> str:
        return f"batch_{self.batch_id}"


def _has_registry(con) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = 'registry' and table_name = 'batches'"
    ).fetchone()[0])


def get_batch(con, batch_id: int | None = None) -> Batch:
    """A batch by id, or the current one."""
    if not _has_registry(con):
        raise RegistryStateError("the registry is empty: no batch has been ingested",
                                 fix="run: registry ingest EXPORT")
    where = "batch_id = $id" if batch_id is not None else "is_current"
    row = con.execute(
        "select batch_id, file_name, source_sha256, dictionary_sha256, record_id_field, records, "
        f"instrument_rows, cast(ingested_at as varchar), study_day_anchor from registry.batches where {where}",
        {"id": batch_id} if batch_id is not None else {},
    ).fetchone()
    if row is None:
        known = [r[0] for r in con.execute("select batch_id from registry.batches order by 1").fetchall()]
        what = f"no batch {batch_id}" if batch_id is not None else "the registry is empty: no batch has been ingested"
        fix = f"batches in this registry: {known}" if known else "run: registry ingest EXPORT"
        raise RegistryStateError(what, fix=fix)
    return Batch(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6] or "{}"), row[7], row[8])


def rollback(con) -> None:
    """Roll back the open transaction; after a write error (a full disk) DuckDB may have ended it itself."""
    import duckdb

    try:
        con.execute("rollback")
    except duckdb.Error:
        pass


def find_batch(con, source_sha256: str, dictionary_sha256: str) -> int | None:
    row = con.execute(read_sql("find_batch.sql"),
                      {"source_sha256": source_sha256, "dictionary_sha256": dictionary_sha256}).fetchone()
    return row[0] if row else None


def next_batch_id(con) -> int:
    return con.execute("select coalesce(max(batch_id), 0) + 1 from registry.batches").fetchone()[0]


def point_views_at(con, schema: str) -> None:
    """Re-point every view in ``main`` at the tables of ``schema``.

    Names are qualified with the registry's catalog, so that a form named like one of the ingest's
    temporary tables (``raw``, ``j``) is the registry's view, never the temporary table.
    """
    catalog = con.execute("select current_database()").fetchone()[0]
    for (name,) in con.execute(
        "select view_name from duckdb_views() where database_name = $c and schema_name = 'main' and not internal",
        {"c": catalog},
    ).fetchall():
        con.execute(f'drop view "{catalog}".main."{name}"')
    for (name,) in con.execute(
        "select table_name from duckdb_tables() where database_name = $c and schema_name = $s order by table_name",
        {"c": catalog, "s": schema},
    ).fetchall():
        con.execute(f'create view "{catalog}".main."{name}" as select * from "{schema}"."{name}"')


def history(con) -> list[dict]:
    """Every batch, oldest first: batch_id, file_name, source_sha256, records, rows, format,
    ingested_at, current."""
    if not _has_registry(con):
        return []
    cur = con.execute(read_sql("history.sql"))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _misplaced_count(con, batch_id: int) -> int:
    """Values the batch kept aside with ``--ignore-misplaced`` (0 for a batch from before that table)."""
    schema = f"batch_{batch_id}"
    exists = con.execute("select count(*) from duckdb_tables() where schema_name = $s and table_name = "
                         "'_misplaced_values'", {"s": schema}).fetchone()[0]
    if not exists:
        return 0
    return con.execute(f"select count(*) from {sqltext.quote_ident(schema)}._misplaced_values").fetchone()[0]


def status(con) -> dict:
    """The current batch: the keys ``registry status --json`` prints."""
    b = get_batch(con)
    row = con.execute(
        "select export_format, rows, dropped_identifiers, redacted, cast_failures, missing_values, "
        "toolkit_version, instrument_records, notes from registry.batches where batch_id = $id", {"id": b.batch_id},
    ).fetchone()
    return {
        "batch_id": b.batch_id,
        "records": b.records,
        "instruments": b.instrument_rows,
        "instrument_records": json.loads(row[7] or "{}"),
        "file_name": b.file_name,
        "source_sha256": b.source_sha256,
        "dictionary_sha256": b.dictionary_sha256,
        "ingested_at": b.ingested_at,
        "export_format": row[0],
        "rows": row[1],
        "dropped_identifiers": json.loads(row[2] or "[]"),
        "redacted": len(json.loads(row[3] or "[]")),
        "cast_failures": row[4],
        "missing_values": row[5],
        "misplaced_values": _misplaced_count(con, b.batch_id),
        "study_day_anchor": b.study_day_anchor,
        "toolkit_version": row[6],
        "notes": json.loads(row[8] or "[]"),
        "batches": con.execute("select count(*) from registry.batches").fetchone()[0],
    }
