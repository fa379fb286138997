"""Files read into ``raw`` at once, one connection each: the rows in the files' order, or nothing.

The check a user would make: the table holds every file's rows, file after file, each file's rows
in its own order, whichever file finished first; a file that fails leaves no ``raw`` and no open
transaction behind, and its own error is the one raised.
"""

from __future__ import annotations

import duckdb
import pytest

from registry.redcap import ordered_read
from registry.redcap.raw_rows import number_rows, renumber_if_out_of_order

SELECT = "select * from read_csv($path, columns = {'k': 'VARCHAR', 'v': 'VARCHAR'}, header = true, " \
         "auto_detect = false, strict_mode = true)"


def _files(tmp_path, sizes: list[int]) -> list[str]:
    paths, n = [], 0
    for k, size in enumerate(sizes):
        path = tmp_path / f"part{k}.csv"
        path.write_text("k,v\n" + "".join(f"{n + i},p{k}\n" for i in range(size)))
        n += size
        paths.append(str(path))
    return paths


def _registry_connection(tmp_path):
    """A connection as the registry opens one: in memory, the registry file attached and in use."""
    con = duckdb.connect(config={"threads": 2})
    con.execute(f"attach '{tmp_path / 'r.duckdb'}' as registry_db")
    con.execute("use registry_db")
    return con


@pytest.mark.parametrize("sizes", [[5], [3, 4], [200_000, 10], [10, 200_000, 7, 1]])
def test_rows_come_file_after_file_in_order(tmp_path, sizes):
    con = _registry_connection(tmp_path)
    ordered_read.read(con, SELECT, _files(tmp_path, sizes))
    keys = [int(k) for (k,) in con.execute("select k from raw order by rowid").fetchall()]
    assert keys == list(range(sum(sizes)))  # a small later file done first still comes after the large one
    number_rows(con)
    assert renumber_if_out_of_order(con) is False
    assert con.execute("select count(*) from raw where __row <> cast(k as bigint) + 1").fetchone()[0] == 0


def test_the_table_is_in_memory_not_in_the_registry_file(tmp_path):
    con = _registry_connection(tmp_path)
    ordered_read.read(con, SELECT, _files(tmp_path, [2, 2]))
    where = con.execute("select database_name from duckdb_tables() where table_name = 'raw'").fetchall()
    assert where == [("memory",)]
    con.execute("create table kept (x int)")  # new tables still go to the registry file
    assert con.execute("select database_name from duckdb_tables() where table_name = 'kept'").fetchall() == [
        ("registry_db",)]


def test_an_earlier_temp_raw_is_replaced(tmp_path):
    con = _registry_connection(tmp_path)
    con.execute("create temp table raw as select 'old' as k")
    ordered_read.read(con, SELECT, _files(tmp_path, [1, 1]))
    assert con.execute("select k from raw order by rowid").fetchall() == [("0",), ("1",)]


def test_a_failing_file_raises_its_own_error_and_leaves_nothing(tmp_path):
    con = _registry_connection(tmp_path)
    files = _files(tmp_path, [50_000, 3, 4])
    with open(files[1], "a") as fh:
        fh.write("x,y,z\n")  # a ragged row in the second file
    with pytest.raises(duckdb.Error, match="Expected Number of Columns"):
        ordered_read.read(con, SELECT, files)
    assert con.execute("select count(*) from duckdb_tables() where table_name = 'raw'").fetchone()[0] == 0
    ordered_read.read(con, SELECT, _files(tmp_path, [2, 3]))  # the connection works on, with no transaction left
    assert con.execute("select count(*) from raw").fetchone()[0] == 5


def test_renumbering_leaves_one_raw(tmp_path):
    con = _registry_connection(tmp_path)
    ordered_read.read(con, SELECT, _files(tmp_path, [3, 3]))
    con.execute("alter table raw add column __row bigint")
    con.execute("update raw set __row = 7 - (rowid + 1)")  # numbered backwards
    assert renumber_if_out_of_order(con) is True
    assert con.execute("select count(*) from duckdb_tables() where table_name = 'raw'").fetchone()[0] == 1
    assert con.execute("select list(__row order by rowid) from raw").fetchone()[0] == [1, 2, 3, 4, 5, 6]


def test_a_registry_view_named_raw_does_not_hide_the_rows_read(tmp_path):
    """A form named ``raw`` is a view in the registry's schema, which is searched before ``memory.main``:
    the files are then read into a temp table (searched first), and the view is left as it was."""
    con = _registry_connection(tmp_path)
    con.execute("create table registry_db.main.raw_form as select 'form row' as k")
    con.execute("create view registry_db.main.raw as select * from registry_db.main.raw_form")
    ordered_read.read(con, SELECT, _files(tmp_path, [3, 4]))
    assert [int(k) for (k,) in con.execute("select k from raw order by rowid").fetchall()] == list(range(7))
    assert con.execute("select * from registry_db.main.raw").fetchall() == [("form row",)]
