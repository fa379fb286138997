"""Files read into the table ``raw`` on every core, their rows in the files' order.

DuckDB's insert that keeps row order (``create table … as select … from read_csv([...])``) runs
on as many threads as a quarter of the memory limit holds 4 MB per column
(``PhysicalBatchInsert::MaxThreads``): a 111-column export under the registry's 1,500 MB limit
is inserted on one thread, however many files it is read from. So each file is inserted by a
connection of its own (a cursor of the same database), in a transaction of its own, all at
once: each insert keeps its file's order, and a transaction's rows join the table when it
commits, so committing the transactions in the files' order gives the files' rows in order.
The memory limit stays as it is; under it, DuckDB spills what does not fit. (Two cores:
20,000-patient export, 0.83 s, as fast as one statement given a memory limit lifted for it;
200,000 patients, 8.5 s against 17-20 s for one statement under the limit.)

A cursor cannot see another connection's temp tables, so ``raw`` is ``memory.main.raw``, a
table of the in-memory database every registry connection is opened on; ``memory.main`` is
added to the connection's search path, after the registry's own schema, so that ``raw`` names
it. Where the registry's schema holds a ``raw`` of its own (the view of a form named ``raw``),
the files are read as before: one statement, into a temp table, on one thread.

No library reads files into one table in order across connections; this is DuckDB's own
transactions, used in order.
"""

from __future__ import annotations

import threading

RAW = "memory.main.raw"


def read(con, select: str, files: list[str], params: dict | None = None) -> None:
    """``raw`` := ``select`` (a query naming ``$path``) of every one of ``files``, read at once, the rows in
    the files' order.

    One file, or a connection where ``raw`` would name something else before ``memory.main`` (a
    registry with a form named ``raw``, whose view comes first): one statement into a temp table.
    Raises the DuckDB error of the first file that fails, in the files' order; ``raw`` is then not there.
    """
    params = params or {}
    con.execute("drop table if exists temp.main.raw")  # a temp table would hide the one read here
    entries = _search_path(con)
    if len(files) == 1 or _raw_named_before_memory(con, entries):
        path = files[0] if len(files) == 1 else files  # read_csv takes a list of files too, in order
        con.execute(f"create or replace temp table raw as {select}", params | {"path": path})
        return
    _search_memory(con, entries)
    con.execute(f"create or replace table {RAW} as {select} limit 0", params | {"path": files[0]})
    cursors = [con.cursor() for _ in files]
    failures: list[BaseException | None] = [None] * len(files)

    def insert(k: int) -> None:
        try:
            cursors[k].execute("set enable_progress_bar = false")
            cursors[k].execute("begin transaction")
            cursors[k].execute(f"insert into {RAW} {select}", params | {"path": files[k]})
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread below
            failures[k] = exc

    workers = [threading.Thread(target=insert, args=(k,), name=f"registry-read-{k}") for k in range(len(files))]
    try:
        for w in workers:
            w.start()
        _join(workers, cursors)
        failed = next((f for f in failures if f is not None), None)
        if failed is not None:
            raise failed
        for cursor in cursors:  # in the files' order: the order of the rows
            cursor.execute("commit")
    except BaseException:
        for cursor in cursors:
            _rollback(cursor)
        con.execute(f"drop table if exists {RAW}")
        raise
    finally:
        for cursor in cursors:
            cursor.close()


def _join(workers: list[threading.Thread], cursors) -> None:
    """Wait for every insert; if this thread is interrupted (Ctrl-C), stop them first."""
    try:
        for w in workers:
            w.join()
    except BaseException:
        for cursor in cursors:
            cursor.interrupt()
        for w in workers:
            w.join()
        raise


def _rollback(cursor) -> None:
    import duckdb

    try:
        cursor.execute("rollback")
    except duckdb.Error:  # no transaction open: it never began, or it committed before another failed
        pass


def _search_path(con) -> list[str]:
    """The connection's search path as ``catalog.schema`` entries."""
    path = con.execute("select current_setting('search_path')").fetchone()[0]
    return [p if "." in p else f"{p}.main" for p in path.split(",") if p]


def _raw_named_before_memory(con, entries: list[str]) -> bool:
    """Whether a table or view named ``raw`` sits on the search path (``entries``) before ``memory.main``."""
    before = [p for p in entries if p != "memory.main"]
    return bool(before) and con.execute(
        "select count(*) from (select database_name, schema_name from duckdb_tables() where table_name = 'raw' "
        "union all select database_name, schema_name from duckdb_views() where view_name = 'raw') "
        "where database_name || '.' || schema_name in (select unnest($before))", {"before": before}).fetchone()[0] > 0


def _search_memory(con, entries: list[str]) -> None:
    """Unqualified names are looked up in ``memory.main`` too (after ``entries``, the connection's own)."""
    if "memory.main" not in entries:
        value = ",".join([*entries, "memory.main"]).replace("'", "''")
        con.execute(f"set search_path = '{value}'")
