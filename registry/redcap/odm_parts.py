"""A large ClinicalData read by :mod:`odm_fast` in parts, one process per core, at the same time.

The ClinicalData bytes are cut just before ``<SubjectData`` start tags into as many parts as the
DuckDB connection has threads. This process reads the first part (the ClinicalData start tag and
the first records: exactly the beginning of the one-process read, so its errors are that read's
errors); a worker process reads each other part. Each part is checked whole against the grammar
(the first with the ClinicalData start tag, the last with ``</ClinicalData></ODM>``), so the parts
are in REDCap's shape together exactly when the file is; and each writes its rows to its own CSV
file, in the columns every part starts from, so that DuckDB reads the files in order as one.

Why the cut is safe: in a regular file ``<`` occurs only in tags, never in an attribute value;
in any other file the part holding the comment, CDATA or stray ``<`` fails its grammar check.
Why processes and not threads: the reading is Python (regular expressions, the rows' dicts) and
holds the GIL. Why a worker is a fresh interpreter (``python -m registry.redcap.odm_parts JOB``)
and not :mod:`multiprocessing`: its 'spawn' and 'forkserver' run the main script again in the
worker (a script without a ``__main__`` guard would ingest again), and 'fork' copies a process
whose DuckDB threads may hold locks. Measured: the worker has imported what it needs 0.12-0.13 s
after it is started; with an open DuckDB connection that had run a query, a multiprocessing
worker was running 0.27-0.33 s after 'spawn', 0.24 s after 'forkserver', 0.01 s after 'fork'.
Meanwhile this process reads the first part. Why not ``ProcessPoolExecutor``: when a part fails
the others are ended at once, where the executor of Python 3.11 waits for running tasks.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from registry.redcap import odm_fast
from registry.redcap.odm_fast import NotRegular
from registry.redcap.odm_metadata import OdmMetadata
from registry.redcap.odm_rows import Flat, RowFile, write_subject

SPLIT_BYTES = 16 << 20  # ClinicalData below this is read by one process (~0.35 s; a worker starts in ~0.13 s)
PARTS: int | None = None  # parts of a large ClinicalData; None: the DuckDB connection's threads
TAG = b"<SubjectData"


class PartFailed(Exception):
    """A worker failed other than by finding the file irregular: the one-process read says how."""


@dataclass
class Job:
    """One part to read: the file's bytes ``start`` to ``stop`` into ``out`` (the first part from
    ``<ClinicalData``, the last to the end of the file)."""

    source: Path
    start: int
    stop: int
    first: bool
    last: bool
    prefixes: set[str]
    meta: OdmMetadata
    rid: str
    columns: list[str]
    out: Path


@dataclass
class PartRows:
    """What a part's reading saw: its rows file, its columns and the facts the header needs."""

    path: Path
    columns: list[str]
    flat: Flat


def how_many(con, size: int) -> int:
    """The parts to cut ``size`` bytes of ClinicalData into."""
    if size < SPLIT_BYTES:
        return 1
    if PARTS is not None:
        return PARTS
    threads = int(con.execute("select current_setting('threads')").fetchone()[0])
    return max(1, min(threads, os.cpu_count() or 1))


def cuts(path: Path, start: int, parts: int) -> list[int]:
    """Up to ``parts`` + 1 offsets: ``start``, the ``<SubjectData`` nearest after each even share of
    the rest of the file, and the file's size."""
    size = path.stat().st_size
    offsets = [start]
    with path.open("rb") as fh:
        for k in range(1, parts):
            at = _find(fh, max(start + (size - start) * k // parts, offsets[-1] + 1))
            if at is None:
                break
            offsets.append(at)
    return [*offsets, size]


def _find(fh, at: int, block: int = 1 << 20) -> int | None:
    """The offset of the first ``<SubjectData`` from ``at`` on."""
    while True:
        fh.seek(at)
        data = fh.read(block)
        found = data.find(TAG)
        if found >= 0:
            return at + found
        if len(data) < block:
            return None
        at += block - len(TAG) + 1


def jobs(source: Path, offsets: list[int], prefixes: set[str], meta: OdmMetadata, rid: str,
         columns: list[str], folder: Path) -> list[Job]:
    """A job for each part between ``offsets``, its rows to ``folder/part<k>.csv``."""
    last = len(offsets) - 2
    return [Job(source, start, stop, k == 0, k == last, prefixes, meta, rid, columns, folder / f"part{k}.csv")
            for k, (start, stop) in enumerate(pairwise(offsets))]


def read_parts(jobs: list[Job]) -> list[PartRows]:
    """Read the first job here and the others in worker processes; their rows, in order.

    :class:`NotRegular` if a part is not in REDCap's shape (the first such part in file order),
    :class:`PartFailed` if a worker failed otherwise; the workers are always ended.
    """
    workers = []
    path = os.pathsep.join(p for p in sys.path if p)  # the worker imports what this process imports
    try:
        for job in jobs[1:]:
            given = job.out.with_suffix(".job")
            given.write_bytes(pickle.dumps(job))
            try:
                workers.append(subprocess.Popen([sys.executable, "-m", __name__, str(given)],
                                                env={**os.environ, "PYTHONPATH": path},
                                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL))
            except OSError as e:
                raise PartFailed(f"a worker cannot start: {e}") from None
        out = [read_part(jobs[0])]
        for process in workers:
            said = process.stdout.read()
            kind, value = pickle.loads(said) if process.wait() == 0 and said else (
                "failed", f"a worker ended with exit code {process.returncode}")
            if kind == "not regular":
                raise NotRegular(value)
            if kind == "failed":
                raise PartFailed(value)
            out.append(value)
        return out
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
            process.wait()
            process.stdout.close()


def read_part(job: Job) -> PartRows:
    """One part's records as CSV rows in ``job.out``, by :mod:`odm_fast`."""
    flat = Flat()
    records = odm_fast.part_subjects(job.source, job.start, job.stop, job.prefixes, job.meta.datetime_items,
                                     first=job.first, last=job.last)
    with job.out.open("w", encoding="utf-8", newline="") as fh:
        rows = RowFile(fh, job.columns)
        for subject, forms in records:
            write_subject(rows, subject, forms, job.meta, job.rid, flat)
    flat.row_keys.clear()  # this part's cache of row keys: not needed by the caller
    return PartRows(job.out, rows.columns, flat)


def work(given: Path) -> None:
    """A worker: the job pickled in ``given``; its rows, or how it failed, pickled to stdout."""
    try:
        said = ("rows", read_part(pickle.loads(given.read_bytes())))
    except NotRegular as e:
        said = ("not regular", str(e))
    except Exception as e:  # noqa: BLE001 (the one-process read raises it again, as the user sees it)
        said = ("failed", f"{type(e).__name__}: {e}")
    sys.stdout.buffer.write(pickle.dumps(said))


if __name__ == "__main__":  # python -m registry.redcap.odm_parts JOB (the classes pickled are the module's)
    from registry.redcap.odm_parts import work

    work(Path(sys.argv[1]))
