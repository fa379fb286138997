"""The memory limit is lifted while a small export is read (so DuckDB's ordered insert runs on every thread)
and put back after; a large export is read within it."""

from __future__ import annotations

import duckdb
import pytest

from registry.redcap import read_memory

LIMIT = "1500MB"


def _con(threads: int = 2):
    con = duckdb.connect(config={"memory_limit": LIMIT})
    con.execute(f"set threads = {threads}")
    return con


def _limit(con) -> str:
    return con.execute("select current_setting('memory_limit')").fetchone()[0]


def test_limits_are_read_in_duckdb_units():
    assert read_memory.limit_bytes("1500MB") == 1_500_000_000
    assert read_memory.limit_bytes("2 GiB") == 2 << 30
    assert read_memory.limit_bytes("512kb") == 512_000
    with pytest.raises(ValueError, match="not a memory limit"):
        read_memory.limit_bytes("lots")


def test_a_small_wide_export_is_read_on_every_thread_and_the_limit_put_back():
    con = _con()
    before = _limit(con)
    # 111 columns need 4 x 4 MB x 111 = 1.8 GB of limit for a second inserting thread: more than 1,500 MB
    with read_memory.lifted(con, LIMIT, 87_000_000, 111) as threads:
        assert threads == 2
        assert read_memory.limit_bytes(_limit(con)) > read_memory.limit_bytes(LIMIT)  # shown to 0.1 GiB
    assert _limit(con) == before


def test_a_large_export_is_read_within_the_limit():
    con = _con()
    before = _limit(con)
    with read_memory.lifted(con, LIMIT, 872_000_000, 111) as threads:
        assert threads == 1
        assert _limit(con) == before


def test_a_narrow_export_needs_no_lifting_and_no_limit_none():
    con = _con()
    with read_memory.lifted(con, LIMIT, 872_000_000, 20) as threads:
        assert threads == 2 and _limit(con) == "1.3 GiB"
    with read_memory.lifted(_con(3), None, 872_000_000, 500) as threads:
        assert threads == 3


def test_the_limit_is_put_back_when_the_read_fails():
    con = _con()
    before = _limit(con)
    with pytest.raises(RuntimeError), read_memory.lifted(con, LIMIT, 1000, 111):
        raise RuntimeError("the read failed")
    assert _limit(con) == before
