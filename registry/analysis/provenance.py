"""Which batch is analysed, and whether it passed the data-quality gate.

The gate (``registry validate``) writes one row per run to ``registry.validation_runs``;
the latest row for the current batch decides. Analyses run only on a batch whose latest
run passed, unless the user overrides with a written reason, which is then recorded in
every output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry.analysis.stage import fetch_one, read_sql
from registry.errors import GateError, RegistryStateError

if TYPE_CHECKING:
    import duckdb


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        fetch_one(
            con,
            "select count(*) from duckdb_tables() where database_name = 'reg' and schema_name = 'registry' "
            "and table_name = $name",
            {"name": name},
        )[0]
    )


def read_current_batch(con: duckdb.DuckDBPyConnection) -> dict:
    """The current batch of the registry attached as ``reg``.

    Returns
    -------
    dict
        ``batch_id``, ``file_name``, ``source_sha256``, ``ingested_at`` (UTC, ISO text),
        ``records``.

    Raises
    ------
    RegistryStateError
        No batch has been ingested.
    """
    row = fetch_one(con, read_sql("current_batch")) if _has_table(con, "batches") else None
    if row is None:
        raise RegistryStateError(
            "the registry is empty: no batch has been ingested",
            fix="run: registry ingest EXPORT, then registry validate",
        )
    batch_id, file_name, sha, ingested_at, records = row
    return {
        "batch_id": int(batch_id),
        "file_name": file_name,
        "source_sha256": sha,
        "ingested_at": None if ingested_at is None else ingested_at.isoformat(sep=" ", timespec="seconds"),
        "records": None if records is None else int(records),
    }


def read_gate_status(con: duckdb.DuckDBPyConnection, batch_id: int) -> dict:
    """The latest gate run of ``batch_id``.

    Returns
    -------
    dict
        ``validated`` (a run exists), ``passed``, ``run_at`` (UTC, ISO text),
        ``n_errors``, ``n_warnings`` (None when never validated).
    """
    row = (
        fetch_one(con, read_sql("gate_status"), {"batch_id": batch_id})
        if _has_table(con, "validation_runs")
        else None
    )
    if row is None:
        return {"validated": False, "passed": False, "run_at": None, "n_errors": None, "n_warnings": None}
    _, run_at, passed, n_errors, n_warnings = row
    return {
        "validated": True,
        "passed": bool(passed),
        "run_at": None if run_at is None else run_at.isoformat(sep=" ", timespec="seconds"),
        "n_errors": None if n_errors is None else int(n_errors),
        "n_warnings": None if n_warnings is None else int(n_warnings),
    }


def check_gate(gate: dict, batch_id: int, override_reason: str | None) -> None:
    """Refuse a batch that has not passed the gate, unless overridden with a reason.

    Raises
    ------
    GateError
        The latest run failed, or the batch was never validated, and no reason was given.
    """
    if override_reason is not None and not override_reason.strip():
        raise GateError(
            "--override-gate needs a written reason",
            where=f"batch {batch_id}",
            fix='write why, e.g. --override-gate "interim look requested by DSMB; findings reviewed by J.D."',
        )
    if gate["passed"] or override_reason:
        return
    if not gate["validated"]:
        raise GateError(
            f"batch {batch_id} has not been validated: analyses run only on a batch that "
            "passed the data-quality gate",
            where=f"batch {batch_id}",
            fix="run `registry validate` first (or, exceptionally, "
            '`registry analyze --override-gate "reason"`)',
        )
    raise GateError(
        f"batch {batch_id} did not pass the data-quality gate at {gate['run_at']} UTC "
        f"({gate['n_errors']} error(s), {gate['n_warnings']} warning(s)): nothing was written",
        where=f"batch {batch_id}",
        fix="fix the findings in REDCap, export and ingest again, then `registry validate`; or record "
        'why you proceed anyway with `registry analyze --override-gate "reason"`',
    )
