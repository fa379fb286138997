"""The CSV reader: a REDCap CSV export (raw or labels, any of its delimiters) into the table ``raw``.

The header line is read here (its delimiter is the one that splits it into the most columns)
and mapped by :func:`registry.redcap.header.map_header`; DuckDB's ``read_csv`` reads the cells,
all as text, with the mapped names. Parse errors become :class:`CsvFormatError` naming the line.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from registry.errors import CsvFormatError, InputFileError
from registry.redcap import csv_parts, csv_text, ordered_read
from registry.redcap.header import map_header
from registry.redcap.project import Project
from registry.redcap.raw_rows import number_rows
from registry.redcap.rawfile import ENCODING_FIX, ExportInfo, utf8_source
from registry.sqltext import quote_ident


def load_csv(con, path: Path, project: Project, info: ExportInfo, *, ignore_extra: bool = False,
             encoding: str | None = None) -> list[str]:
    """Load a CSV export into the table ``raw``; return its (mapped) columns."""
    with utf8_source(path, encoding) as source, csv_text.checked(source, path) as text:  # line breaks, cut end
        return _load(con, text, path, project, info, ignore_extra)


def _load(con, source: Path, display: Path, project: Project, info: ExportInfo, ignore_extra: bool) -> list[str]:
    raw_header, delim = _read_header(source, display)
    header = map_header(raw_header, project, display, ignore_extra, info)
    # Column names become read_csv's column list (a bound parameter); header row skipped.
    read_names = [h if h not in info.ignored_columns else f"__ignored_{i}" for i, h in enumerate(header)]
    columns = {name: "VARCHAR" for name in read_names}
    if not _read_in_parts(con, source, columns, delim):
        try:
            _read(con, [str(source)], columns, delim)
        except Exception as exc:  # duckdb raises InvalidInputException / ConversionException
            raise _csv_error(exc, display) from None
    number_rows(con)
    for name in read_names:
        if name.startswith("__ignored_"):
            con.execute(f"alter table raw drop column {quote_ident(name)}")
    return [h for h in header if h not in info.ignored_columns]


_READ_CSV = (
    "select * from read_csv($path, columns = $columns, header = true, auto_detect = false, delim = $delim, "
    "quote = '\"', escape = '\"', strict_mode = true, max_line_size = 100000000, parallel = true)"
)


def _read(con, paths: list[str], columns: dict[str, str], delim: str) -> None:
    """``raw`` from the file (or its parts, in order: :mod:`ordered_read`), every cell as text."""
    ordered_read.read(con, _READ_CSV, paths, {"columns": columns, "delim": delim})


def _read_in_parts(con, source: Path, columns: dict[str, str], delim: str) -> bool:
    """Read a large file cut into parts, one per thread (:mod:`csv_parts`); False when it was not (small,
    one thread, no place to cut, or a part the reader refuses: then the whole file is read, for its own
    rows or error)."""
    import duckdb

    threads = int(con.execute("select current_setting('threads')").fetchone()[0])
    cuts = csv_parts.cut_points(source, threads)
    if not cuts:
        return False
    try:
        with tempfile.TemporaryDirectory(prefix="registry-") as tmp:
            _read(con, [str(p) for p in csv_parts.write_parts(source, cuts, Path(tmp))], columns, delim)
    except (duckdb.Error, OSError):
        return False
    return True


def _read_header(source: Path, display: Path) -> tuple[list[str], str]:
    with source.open("rb") as fh:
        first_bytes = fh.readline()
    try:
        first = first_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError("the file is not UTF-8 (in the header line)", where=f"{display}, line 1",
                             fix=ENCODING_FIX) from None
    cells, delim = csv_text.split_header(first)
    if not cells:
        raise CsvFormatError("the header line cannot be read", where=f"{display}, line 1",
                             fix="export the data from REDCap again")
    return [c.strip() for c in cells], delim


def _csv_error(exc: Exception, display: Path) -> Exception:
    text = str(exc)
    m = re.search(r"CSV Error on Line: (\d+)", text)
    where = f"{display}, line {m.group(1)}" if m else str(display)
    if "Invalid unicode" in text or "byte sequence" in text or "not utf-8" in text.lower():
        return InputFileError("the file is not UTF-8 (undecodable bytes)", where=where, fix=ENCODING_FIX)
    if "unterminated quote" in text.lower():
        return CsvFormatError("a quoted value is never closed (unterminated quote): the file is truncated or damaged",
                              where=where, fix="export the data from REDCap again; do not edit it by hand")
    m2 = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if m2:
        return CsvFormatError(
            f"the row has {m2.group(2)} values but the header has {m2.group(1)} columns "
            "(a ragged or truncated row)", where=where,
            fix="export the data from REDCap again; if the file was edited, fix that row",
        )
    first = text.splitlines()[0] if text else type(exc).__name__
    return CsvFormatError(f"the CSV cannot be parsed: {first}", where=where,
                          fix="export the data from REDCap again as 'CSV / Microsoft Excel (raw data)'")
