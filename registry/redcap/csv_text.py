"""The text of a CSV export before it is parsed: line endings and a cut-short last record.

REDCap writes every record with ``fputcsv`` and ends it with LF; a multi-line notes value is
quoted and may hold CR LF. A file whose rows mix CR LF and LF (edited, or pasted together on
Windows) is read: its line breaks outside quoted values are made LF in a temporary copy, values
untouched. A file whose last record is cut short is refused, naming the line: no final line
break (REDCap always writes one), and the record ends inside a quoted value, lacks values, or
ends with an empty ``<form>_complete`` although that form has values on the row (REDCap then
writes the form's status: this is what cutting off the last value and the line break leaves).
A complete last row without a line break is read.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from registry.errors import CsvFormatError

CHUNK = 1 << 20
DELIMITERS = (",", "\t", ";", "|", "^")
TAIL = 1 << 18
REEXPORT = "export the data from REDCap again (REDCap ends every export with a line break)"


@dataclass
class TextCounts:
    """Line breaks and quotes of a file, counted in one pass."""

    lf: int = 0
    cr: int = 0
    crlf: int = 0
    quotes: int = 0
    size: int = 0

    @property
    def mixed(self) -> bool:
        """Both CR LF and bare LF (or bare CR) line breaks: DuckDB's reader cannot take that."""
        return self.cr > 0 and not (self.cr == self.crlf == self.lf)

    @property
    def lines(self) -> int:
        return self.lf + self.cr - self.crlf


@contextmanager
def checked(source: Path, display: Path) -> Iterator[Path]:
    """The file to parse: ``source`` itself, or a temporary copy with line breaks made LF when they are mixed.

    Raises :class:`CsvFormatError` (where: ``display``, line) when the last record is cut short.
    Most exports (LF, ending with a line break) cost one memchr pass for a CR; the rest a count.
    """
    with source.open("rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - 1))
        last = fh.read(1)
    ends_open = size > 0 and last not in (b"\n", b"\r")
    counts = count_text(source) if ends_open or _has_cr(source) else None
    if counts is not None and ends_open:
        check_last_record(source, display, counts)
    if counts is None or not counts.mixed:
        yield source
        return
    with tempfile.TemporaryDirectory(prefix="registry-") as tmp:
        out = Path(tmp) / "export-lf.csv"
        normalise_line_breaks(source, out)
        yield out


def _has_cr(path: Path) -> bool:
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            if b"\r" in chunk:
                return True
    return False


def count_text(path: Path) -> TextCounts:
    c = TextCounts()
    carry_cr = False
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            c.lf += chunk.count(b"\n")
            c.cr += chunk.count(b"\r")
            c.crlf += chunk.count(b"\r\n") + (carry_cr and chunk[:1] == b"\n")
            c.quotes += chunk.count(b'"')
            c.size += len(chunk)
            carry_cr = chunk[-1:] == b"\r"
    return c


def normalise_line_breaks(source: Path, out: Path) -> None:
    """Copy ``source`` to ``out`` with CR LF and bare CR outside quoted values made LF."""
    inside = False
    carry = b""
    with source.open("rb") as src, out.open("wb") as dst:
        while chunk := src.read(CHUNK):
            data = carry + chunk
            carry = b""
            if data.endswith(b"\r"):  # its LF may start the next chunk
                data, carry = data[:-1], b"\r"
            parts = data.split(b'"')
            for i, part in enumerate(parts):
                dst.write(part if inside else part.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
                if i < len(parts) - 1:
                    dst.write(b'"')
                    inside = not inside
        dst.write(carry if inside else carry.replace(b"\r", b"\n"))


def check_last_record(source: Path, display: Path, counts: TextCounts) -> None:
    """Refuse a last record without a final line break that is cut short."""
    header = _header(source)
    columns, delim = split_header(header)
    ends_quoted = counts.quotes % 2 == 1
    record, breaks_in_record = _last_record(source, counts.size, ends_quoted)
    if record is None:  # the whole file is one record: the header line (no data rows; read_export says so)
        return
    line = counts.lines - breaks_in_record + 1
    values: list[str] = []
    if not ends_quoted:
        try:
            values = next(csv.reader(io.StringIO(record.decode("utf-8", errors="replace")), delimiter=delim,
                                     strict=True), [])
        except csv.Error:
            return  # malformed, not short: the CSV reader refuses it with its own message
    where = f"{display}, line {line} (the last record" + (f", record ID {values[0][:40]!r})" if values else ")")
    if ends_quoted:
        raise CsvFormatError("the last record is cut short: the file ends inside a quoted value (unterminated "
                             "quote), without a line break", where=where, fix=REEXPORT)
    if len(values) < len(columns):
        raise CsvFormatError(f"the last record is cut short: it has {len(values)} of the header's {len(columns)} "
                             "values and the file ends without a line break", where=where, fix=REEXPORT)
    if len(values) == len(columns) and values[-1] == "" and _form_has_values(columns, values):
        raise CsvFormatError(
            f"the last record is cut short: the file ends without a line break right after an empty "
            f"{columns[-1].strip()[:60]}, although that form has values on the row (REDCap writes its status then)",
            where=where, fix=f"{REEXPORT}; if that row is complete as it is, end the file with a line break")


def _form_has_values(columns: list[str], values: list[str]) -> bool:
    """The last column is the status (``<form>_complete``) of the export's last form, and the row holds
    values of that form: the columns after the previous form's status (REDCap writes form by form)."""
    names = [c.strip() for c in columns]
    if not names[-1].endswith("_complete"):
        return False  # not REDCap's column order (fields picked by hand): an empty last value may be real
    start = max([i + 1 for i, n in enumerate(names[:-1]) if n.endswith("_complete")] or [1])
    return any(v != "" for n, v in zip(names[start:-1], values[start:-1], strict=True)
               if not n.startswith("redcap_"))


def _header(source: Path) -> str:
    with source.open("rb") as fh:
        first = fh.readline()
    return first.decode("utf-8-sig", errors="replace").rstrip("\r\n")


def split_header(header: str) -> tuple[list[str], str]:
    """The header line's cells and its delimiter: the one of :data:`DELIMITERS` that splits it
    into the most columns (``([], ",")`` when none can read it). The CSV reader uses it too."""
    best: tuple[list[str], str] = ([], ",")
    for delim in DELIMITERS:
        try:
            cells = next(csv.reader(io.StringIO(header), delimiter=delim))
        except (csv.Error, StopIteration):
            continue
        if len(cells) > len(best[0]):
            best = (cells, delim)
    return best


_MARKS = re.compile(rb'["\r\n]')


def _last_record(source: Path, size: int, ends_quoted: bool) -> tuple[bytes | None, int]:
    """The bytes of the last record (after the last line break outside quotes) and the line breaks in it.

    Read backwards from the end, whose quote state is known from the parity of the file's quotes;
    None when no line break precedes it (the file is a single line)."""
    span = TAIL
    while True:
        start = max(0, size - span)
        with source.open("rb") as fh:
            fh.seek(start)
            data = fh.read()
        inside = ends_quoted
        for m in reversed(list(_MARKS.finditer(data))):
            if m.group() == b'"':
                inside = not inside
            elif not inside:
                record = data[m.end():]
                return record, record.count(b"\n") + record.count(b"\r") - record.count(b"\r\n")
        if start == 0:
            return None, 0
        span *= 4
