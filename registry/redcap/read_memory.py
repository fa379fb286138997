"""The memory limit while a small export is read into ``raw``: lifted, so that DuckDB inserts on every thread.

DuckDB's insert that keeps the rows' order (``create table … as select … from read_csv([...])``)
runs as many threads as a quarter of the memory limit holds 4 MB per column
(``PhysicalBatchInsert::MaxThreads``): a 111-column export under the registry's 1,500 MB limit
is inserted on one thread, however many parts it is read from (20,000 patients: 2.1 s; 1.1 s on
two threads with the limit lifted). When the file is small beside the limit (the read itself
needs about 3.3 bytes of memory per byte of CSV, so four times the file still fits in the
limit), the limit is lifted to what the columns need on every thread for the read only; the
caller's limit is put back after it. A large file is read within the limit, spilling.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
PER_COLUMN = 4 << 20  # DuckDB's minimum memory per column per inserting thread


def limit_bytes(limit: str) -> int:
    """``1500MB``, ``2 GiB`` … in bytes."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", limit)
    if m is None or m.group(2).lower() not in {*_UNITS, ""}:
        raise ValueError(f"not a memory limit: {limit!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower() or "b"])


@contextmanager
def lifted(con, limit: str | None, nbytes: int, columns: int) -> Iterator[int]:
    """Within: the threads an ordered insert of ``nbytes`` of CSV into ``columns`` columns runs on, the memory
    limit of ``con`` lifted for it when ``limit`` (the connection's own; None: none) would keep it to fewer."""
    threads = int(con.execute("select current_setting('threads')").fetchone()[0])
    per_thread = PER_COLUMN * columns
    if limit is None or threads < 2:
        yield threads
        return
    limit_b = limit_bytes(limit)
    within = min(threads, limit_b // 4 // per_thread + 1)
    need = 4 * (threads - 1) * per_thread + (64 << 20)
    if within == threads or 4 * nbytes > limit_b or need > 4 * limit_b:
        yield within
        return
    con.execute(f"set memory_limit = '{need}B'")
    try:
        yield threads
    finally:
        con.execute(f"set memory_limit = '{limit}'")
