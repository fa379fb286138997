"""Reading a REDCap record export: sniff its format and hand it to that format's reader.

Every reader (:mod:`~registry.redcap.csv_reader`, :mod:`~registry.redcap.json_reader`,
:mod:`~registry.redcap.odm`, :mod:`~registry.redcap.readstat`) leaves the same thing: a
temporary table ``raw`` with every cell VARCHAR, columns named as the project's fields (through
the one header mapper, :mod:`~registry.redcap.header`), the record-ID column named
``record_id``, and ``__row`` the 1-based data row. Then the same checks run whatever the format
(:mod:`~registry.redcap.raw_checks`), and label exports are turned back into codes. Every
structural problem is refused here, before anything is written to the registry.
"""

from __future__ import annotations

from pathlib import Path

from registry.redcap import labels, raw_checks
from registry.redcap.csv_reader import load_csv
from registry.redcap.json_reader import load_json
from registry.redcap.odm import is_odm_file, load_odm
from registry.redcap.project import Project
from registry.redcap.rawfile import READSTAT_SUFFIXES, ExportInfo, check_file, file_sha256
from registry.redcap.readstat import load_readstat


def sniff_format(path: Path, head: bytes) -> str:
    """``odm``, ``readstat``, ``json`` or ``csv``: from the file name and its first bytes."""
    if is_odm_file(path, head):  # CDISC ODM XML: the parser reads its declared encoding itself
        return "odm"
    if path.suffix.lower() in READSTAT_SUFFIXES:  # SPSS .sav / Stata .dta (pyreadstat)
        return "readstat"
    if head.lstrip(b"\xef\xbb\xbf \r\n\t")[:1] in (b"[", b"{"):
        return "json"
    return "csv"


def read_export(con, path: str | Path, project: Project, *, encoding: str | None = None,
                ignore_extra: bool = False, export_format: str = "auto", sha256: str | None = None) -> ExportInfo:
    """Load an export into the table ``raw`` of ``con`` and check its structure.

    ``sha256`` is the file's hash when the caller has already computed it.
    """
    path = Path(path)
    head = check_file(path)
    info = ExportInfo(path=path, sha256=sha256 or file_sha256(path), record_id_field=project.dictionary.record_id_field)
    kind = sniff_format(path, head)
    if kind == "odm":
        header = load_odm(con, path, project, info, ignore_extra=ignore_extra, encoding=encoding)
    elif kind == "readstat":
        header = load_readstat(con, path, project, info, ignore_extra=ignore_extra, encoding=encoding)
    elif kind == "json":
        header = load_json(con, path, project, info, encoding=encoding)
    else:
        header = load_csv(con, path, project, info, ignore_extra=ignore_extra, encoding=encoding)
    info.columns = header
    raw_checks.check_rows(con, path, project, info)
    mode = export_format if export_format != "auto" else (
        "raw" if kind == "odm" else labels.detect_format(con, project, header))  # ODM always holds codes
    info.export_format = mode
    if mode == "label":
        labels.translate_labels(con, project, header, str(path))
    raw_checks.check_keys(con, path, project, info)
    return info
