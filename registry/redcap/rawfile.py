"""The export file before it is read: missing, empty, binary or mis-encoded files refused, its hash.

Also :class:`ExportInfo`, what a reader records about the file it read.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from registry.errors import InputFileError

READSTAT_SUFFIXES = {".sav": "SPSS .sav", ".zsav": "SPSS .zsav", ".dta": "Stata .dta"}
BINARY_MAGIC = {
    b"PK\x03\x04": "a ZIP or Excel (.xlsx) file",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) file",
    b"%PDF": "a PDF",
    b"SQLite format 3": "a SQLite database",
    b"$FL2": "an SPSS .sav file",
}
FORMATS_READ = "CSV (raw or labels), API JSON, SPSS .sav, Stata .dta or CDISC ODM XML"
ENCODING_FIX = ("pass the file's encoding with --encoding "
                "(for Excel-saved files usually --encoding cp1252 or --encoding latin-1)")



@dataclass
class ExportInfo:
    """What was read, and how."""

    path: Path
    sha256: str
    rows: int = 0
    columns: list[str] = field(default_factory=list)
    export_format: str = "raw"
    record_id_field: str = "record_id"
    ignored_columns: list[str] = field(default_factory=list)
    has_dag: bool = False
    has_survey_identifier: bool = False
    notes: list[str] = field(default_factory=list)  # how the file was read leniently, kept with the batch



def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_file(path: Path) -> bytes:
    """Refuse files that are missing, empty or binary; return the first bytes."""
    if not path.exists():
        raise InputFileError(f"no such file: {path}", where=str(path), fix="check the path of the export")
    if path.is_dir():
        raise InputFileError(f"{path} is a directory, not an export", where=str(path),
                             fix="pass the CSV file REDCap exported")
    with path.open("rb") as fh:
        head = fh.read(65536)
    if not head.strip(b"\xef\xbb\xbf \r\n\t"):
        raise InputFileError("the export is empty", where=str(path),
                             fix="export the data from REDCap again (Data Exports > CSV / Microsoft Excel (raw data))")
    if path.suffix.lower() in READSTAT_SUFFIXES:  # SPSS / Stata files are binary by design
        return head
    for magic, what in BINARY_MAGIC.items():
        if head.startswith(magic):
            raise InputFileError(f"the file is {what}, not a CSV export", where=str(path),
                                 fix="export 'CSV / Microsoft Excel (raw data)' from REDCap and pass that file")
    offset = _nul_offset(path)
    if offset is not None:
        raise InputFileError(f"the file is binary (it contains NUL bytes, the first at byte {offset}), "
                             "not a CSV export", where=str(path),
                             fix="pass the CSV file REDCap exported; if it is UTF-16, pass --encoding utf-16")
    return head


def _nul_offset(path: Path) -> int | None:
    """The offset of the first NUL byte anywhere in the file, or None."""
    with path.open("rb") as fh:
        start = 0
        while chunk := fh.read(1 << 20):
            at = chunk.find(b"\x00")
            if at >= 0:
                return start + at
            start += len(chunk)
    return None


def transcode_to_utf8(path: Path, encoding: str, workdir: Path) -> Path:
    """Re-encode a file to UTF-8 (for --encoding other than UTF-8)."""
    out = workdir / "export-utf8.csv"
    line = 1
    try:
        with path.open("r", encoding=encoding, newline="") as src, out.open("w", encoding="utf-8", newline="") as dst:
            for text in src:
                dst.write(text)
                line += 1
    except UnicodeDecodeError:
        raise InputFileError(f"the file is not valid {encoding}", where=f"{path}, line {line}",
                             fix=ENCODING_FIX) from None
    return out



@contextlib.contextmanager
def utf8_source(path: Path, encoding: str | None) -> Iterator[Path]:
    """The file itself when it is UTF-8 (or no encoding is given), else a UTF-8 copy of it for the reader."""
    if not encoding or is_utf8(encoding, path):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="registry-") as tmp:
        yield transcode_to_utf8(path, encoding, Path(tmp))


def is_utf8(encoding: str, path: Path) -> bool:
    try:
        return codecs.lookup(encoding).name in {"utf-8", "utf-8-sig"}
    except LookupError:
        raise InputFileError(f"unknown encoding '{encoding}'", where=str(path),
                             fix="use a Python codec name, e.g. --encoding cp1252 or --encoding latin-1") from None
