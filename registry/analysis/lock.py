"""Plan locks: recording the plan's SHA-256 in the registry, and checking it at analysis.

``registry plan lock`` appends a row to ``registry.plan_locks`` (see
``schemas/registry.sql``); the latest row is the plan in force. ``registry analyze``
refuses a plan whose hash differs from the plan in force unless ``--exploratory``.
A plan counts as prespecified (``locked_before_data``) when its hash was first locked
before the first batch was ingested.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from registry.analysis.plan import AnalysisPlan
from registry.analysis.stage import fetch_one, read_sql
from registry.errors import PlanError

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class LockStatus:
    """Where the plan stands against the registry's locks.

    ``locked``: the plan's hash is the plan in force (the latest lock).
    ``locked_before_data``: ``locked`` and its hash was first locked before the first ingest.
    ``locked_sha256`` / ``locked_at``: the plan in force, if any (differs when changed).
    """

    sha256: str
    locked: bool
    locked_before_data: bool
    locked_sha256: str | None
    locked_at: str | None
    first_locked_at: str | None
    first_ingested_at: str | None

    @property
    def changed(self) -> bool:
        """A plan is in force and this plan is not it."""
        return self.locked_sha256 is not None and not self.locked

    def to_dict(self) -> dict:
        return asdict(self)


def _iso(value) -> str | None:
    return None if value is None else value.isoformat(sep=" ", timespec="seconds")


def lock_plan(db: str | Path | None, plan: AnalysisPlan) -> dict:
    """Record ``plan``'s hash as the plan in force (a no-op if it already is).

    Creates the registry file and ``registry.plan_locks`` if needed, so a plan can be
    locked before any data are ingested.

    Returns
    -------
    dict
        ``sha256``, ``locked_at`` (UTC), ``created`` (False if already in force),
        ``previous_sha256`` (the plan in force before, if different), ``before_data``
        (no batch had been ingested when this hash was first locked).
    """
    from registry import __version__, store

    con = store.connect(db, read_only=False)
    try:
        latest = fetch_one(
            con, "select plan_sha256, locked_at from registry.plan_locks order by lock_id desc limit 1"
        )
        first_ingest = fetch_one(con, "select min(ingested_at) from registry.batches")[0]
        if latest and latest[0] == plan.sha256:
            first = fetch_one(
                con,
                "select min(locked_at) from registry.plan_locks where plan_sha256 = $s",
                {"s": plan.sha256},
            )[0]
            return {
                "sha256": plan.sha256,
                "locked_at": _iso(latest[1]),
                "created": False,
                "previous_sha256": None,
                "before_data": first_ingest is None or first < first_ingest,
            }
        now = datetime.now(UTC).replace(tzinfo=None)
        con.execute(
            read_sql("plan_lock_insert"),
            {
                "plan_sha256": plan.sha256,
                "plan_file": str(plan.path),
                "plan_title": plan.title,
                "locked_at": now,
                "toolkit_version": __version__,
            },
        )
        first = fetch_one(
            con, "select min(locked_at) from registry.plan_locks where plan_sha256 = $s", {"s": plan.sha256}
        )[0]
        return {
            "sha256": plan.sha256,
            "locked_at": _iso(now),
            "created": True,
            "previous_sha256": latest[0] if latest else None,
            "before_data": first_ingest is None or first < first_ingest,
        }
    finally:
        con.close()


def read_lock_status(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan) -> LockStatus:
    """The lock status of ``plan`` in the registry attached as ``reg``."""
    has_locks = fetch_one(
        con,
        "select count(*) from duckdb_tables() where database_name = 'reg' and schema_name = 'registry' "
        "and table_name = 'plan_locks'",
    )[0]
    if not has_locks:
        first_ingest = fetch_one(con, "select min(ingested_at) from reg.registry.batches")[0]
        return LockStatus(plan.sha256, False, False, None, None, None, _iso(first_ingest))
    latest_sha, latest_at, first_at, first_ingest = fetch_one(
        con, read_sql("plan_lock_status"), {"plan_sha256": plan.sha256}
    )
    locked = latest_sha == plan.sha256
    before = bool(locked and first_at is not None and (first_ingest is None or first_at < first_ingest))
    return LockStatus(
        plan.sha256, locked, before, latest_sha, _iso(latest_at), _iso(first_at), _iso(first_ingest)
    )


def check_plan_lock(status: LockStatus, plan: AnalysisPlan, exploratory: bool) -> None:
    """Refuse a plan that differs from the locked one, unless the run is exploratory.

    Raises
    ------
    PlanError
        The plan in force (locked) has a different hash and ``exploratory`` is False.
    """
    if status.changed and not exploratory:
        raise PlanError(
            f"the analysis plan has changed since it was locked (locked {status.locked_sha256[:12]}… "
            f"at {status.locked_at} UTC; this file is {status.sha256[:12]}…)",
            where=str(plan.path),
            fix="restore the locked plan, or run `registry analyze --exploratory` to label every output "
            "exploratory, or lock the new plan with `registry plan lock` (the report will say it was "
            "locked after the data were seen)",
        )
