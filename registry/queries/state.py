"""Every data query with its status across batches (REDCap's Data Resolution Workflow, kept here).

A query is a finding of the gate (``registry.findings``), identified by its ``query_id``
(the same record, event, instance, field and rule in every batch). Its status is
``new`` or ``open`` while the latest validated batch has it, ``confirmed`` while a site's
confirmation covers the value still there, and ``resolved`` once a validated batch no
longer has it.
"""

from __future__ import annotations

from registry import sqltext

#: The columns of a query, in the order of the spreadsheets (the contract).
COLUMNS = ("query_id", "site", "record_id", "event", "instance", "field", "rule", "severity", "status", "query",
           "value", "first_batch", "last_batch", "response", "response_note")
STATUSES = ("new", "open", "confirmed", "resolved")
#: Statuses a site still has to act on.
OPEN_STATUSES = ("new", "open")


read_sql = sqltext.reader("registry.queries")


def list_queries(con, *, site: str | None = None, status: str | None = None,
                 include_warnings: bool = True) -> list[dict]:
    """Every query (optionally of one site, one status, errors only), as dicts with :data:`COLUMNS`.

    ``value_key`` (the value's fingerprint) is kept for the import's checks.
    """
    cur = con.execute(read_sql("queries.sql"))
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return [r for r in rows
            if (site is None or r["site"] == site)
            and (status is None or r["status"] == status)
            and (include_warnings or r["severity"] == "error")]


def count_by_site_and_status(queries: list[dict]) -> list[dict]:
    """``[{site, new, open, confirmed, resolved, total}]``, one row per site, sorted."""
    out: dict[str, dict] = {}
    for q in queries:
        row = out.setdefault(q["site"], {"site": q["site"], **dict.fromkeys(STATUSES, 0), "total": 0})
        row[q["status"]] += 1
        row["total"] += 1
    return [out[s] for s in sorted(out)]


def public(query: dict) -> dict:
    """The query as users see it (:data:`COLUMNS` only)."""
    return {k: query.get(k) for k in COLUMNS}
