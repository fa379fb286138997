"""``__row`` of the table ``raw``: each row's 1-based place in the export, added after the read.

Every reader that fills ``raw`` from a file DuckDB reads (the CSV export; the ODM's flattened
rows) numbers it here. A column filled from a sequence costs less than ``row_number() over ()``
in the read (which makes the order-preserving read stream through one window); the column is
filled row group by row group in table order, which :func:`renumber_if_out_of_order` confirms.
"""

from __future__ import annotations


def number_rows(con) -> None:
    """Add ``__row``, the 1-based data row, to ``raw`` (as its last column)."""
    con.execute("create or replace temp sequence __raw_rows start 1")
    con.execute("alter table raw add column __row bigint default nextval('__raw_rows')")
    con.execute("alter table raw alter column __row drop default")
    con.execute("drop sequence __raw_rows")
    renumber_if_out_of_order(con)


def renumber_if_out_of_order(con) -> bool:
    """Make ``__row`` the row's place in ``raw`` (a copy of the table) unless it is already; True if it was not."""
    if con.execute("select bool_and(__row = rowid + 1) from raw").fetchone()[0] is not False:
        return False
    con.execute("create or replace temp table raw as select * replace (rowid + 1 as __row) from raw")
    con.execute("drop table if exists memory.main.raw")  # the table it was copied from, if it was not temp
    return True
