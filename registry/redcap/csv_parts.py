"""A large CSV export cut into parts at record boundaries, so that DuckDB reads it on every core in order.

DuckDB reads one CSV file in order on one thread (its parallel reader either loses the file's
order or, ordered, runs no faster here). So a large export is cut into as many parts as the
connection has threads, each part after a line break outside any quoted value, the header line
repeated at the start of every part after the first; the parts are read at once, one connection
each, and their rows joined in order (:mod:`registry.redcap.ordered_read`): the same rows in the
same order as ``read_csv`` of the file, in about half the time on two cores.

A line break is outside quotes when the number of ``"`` before it is even (REDCap writes
``fputcsv`` CSV: every value holding a quote is quoted and its quotes doubled). A hand-edited
file with a stray quote in an unquoted value can make that count lie; a part then ends inside a
quoted value, which the strict reader refuses, and the caller reads the whole file instead
(:func:`registry.redcap.csv_reader.load_csv`), so the result and any error are those of the file.
No library cuts a CSV file at record boundaries without parsing it; counting quotes is a
memchr-speed pass over the file's first part.
"""

from __future__ import annotations

import os
from itertools import pairwise
from pathlib import Path

MIN_PART_BYTES = 8 << 20  # smaller files are read whole: cutting them costs more than it saves
_BLOCK = 8 << 20


def cut_points(path: Path, parts: int) -> list[int]:
    """Byte offsets just after a record's line break, near ``k/parts`` of the file (fewer when none is found)."""
    size = path.stat().st_size
    if parts < 2 or size < 2 * MIN_PART_BYTES:
        return []
    parts = min(parts, size // MIN_PART_BYTES)
    cuts: list[int] = []
    quotes = pos = 0
    with path.open("rb") as fh:
        for target in (size * k // parts for k in range(1, parts)):
            fh.seek(pos)
            while pos < target:  # quotes before the target
                block = fh.read(min(_BLOCK, target - pos))
                quotes += block.count(b'"')
                pos += len(block)
            cut = _next_record_start(fh, pos, quotes)
            if cut is None or cut[0] >= size:
                break
            pos, quotes = cut
            cuts.append(pos)
    return cuts


def _next_record_start(fh, pos: int, quotes: int) -> tuple[int, int] | None:
    """The offset after the first line break at or after ``pos`` with an even count of quotes before it."""
    fh.seek(pos)
    while block := fh.read(1 << 16):
        start = 0
        while (nl := block.find(b"\n", start)) >= 0:
            quotes += block.count(b'"', start, nl)
            if quotes % 2 == 0:
                return pos + nl + 1, quotes
            start = nl + 1
        quotes += block.count(b'"', start)
        pos += len(block)
    return None


def write_parts(path: Path, cuts: list[int], workdir: Path) -> list[Path]:
    """The file cut at ``cuts`` into files in ``workdir``; the header line is repeated at the start of each."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        header = len(fh.readline())
    bounds = [header, *cuts, size]
    files = []
    src = os.open(path, os.O_RDONLY)
    try:
        for k, (start, end) in enumerate(pairwise(bounds)):
            part = workdir / f"part{k}.csv"
            dst = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                _copy(src, dst, 0, header)
                _copy(src, dst, start, end - start)
            finally:
                os.close(dst)
            files.append(part)
    finally:
        os.close(src)
    return files


def _copy(src: int, dst: int, offset: int, length: int) -> None:
    """``length`` bytes of ``src`` from ``offset`` appended to ``dst`` (in the kernel where it can)."""
    end = offset + length
    while offset < end:
        try:
            n = os.copy_file_range(src, dst, end - offset, offset)
        except (AttributeError, OSError):  # not Linux, or a file system that cannot: copy through memory
            os.lseek(src, offset, os.SEEK_SET)
            n = os.write(dst, os.read(src, min(_BLOCK, end - offset)))
        if n == 0:
            raise OSError(f"the export ended early while copying byte {offset}")
        offset += n
