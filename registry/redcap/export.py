"""Reading a REDCap record export (CSV, or API JSON) into a DuckDB table of text cells.

The file lands in a temporary table ``raw`` with every cell VARCHAR, columns named as the
project's fields (label headers are mapped back), the record-ID column renamed
``record_id``, and ``__row`` the 1-based data row. Label exports are turned back into
codes through the dictionary. Every structural problem is refused here, before anything is
written to the registry.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from registry.errors import CsvFormatError, ExportError, InputFileError
from registry.redcap import labels
from registry.redcap.columns import PSEUDO_COLUMNS, checkbox_aliases, known_columns
from registry.redcap.project import Project
from registry.redcap.readstat import READSTAT_SUFFIXES, load_readstat
from registry.sqltext import quote_ident

DELIMITERS = (",", "\t", ";", "|", "^")
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


def read_export(con, path: str | Path, project: Project, *, encoding: str | None = None,
                ignore_extra: bool = False, export_format: str = "auto", sha256: str | None = None) -> ExportInfo:
    """Load an export into the temp table ``raw`` of ``con`` and check its structure.

    ``sha256`` is the file's hash when the caller has already computed it.
    """
    path = Path(path)
    head = check_file(path)
    info = ExportInfo(path=path, sha256=sha256 or file_sha256(path), record_id_field=project.dictionary.record_id_field)
    from registry.redcap import odm

    is_odm = odm.is_odm_file(path, head)  # CDISC ODM XML: the parser reads its declared encoding itself
    with tempfile.TemporaryDirectory(prefix="registry-") as tmp:
        source = path
        is_readstat = path.suffix.lower() in READSTAT_SUFFIXES  # SPSS .sav / Stata .dta (pyreadstat)
        if encoding and not is_odm and not is_readstat and not _is_utf8(encoding, path):
            source = transcode_to_utf8(path, encoding, Path(tmp))
        if is_odm:
            header = odm.load_odm(con, path, project, info, ignore_extra=ignore_extra, encoding=encoding)
        elif is_readstat:
            header = load_readstat(con, path, project, info, ignore_extra=ignore_extra, encoding=encoding)
        elif head.lstrip(b"\xef\xbb\xbf \r\n\t")[:1] in (b"[", b"{"):
            header = _load_json(con, source, project, info)
        else:
            header = _load_csv(con, source, path, project, info, ignore_extra)
    info.columns = header
    _check_rows(con, path, project, info)
    mode = export_format if export_format != "auto" else (
        "raw" if is_odm else labels.detect_format(con, project, header))  # ODM always holds codes
    info.export_format = mode
    if mode == "label":
        labels.translate_labels(con, project, header, str(path))
    _check_keys(con, path, project, info)
    return info


def _is_utf8(encoding: str, path: Path) -> bool:
    try:
        return codecs.lookup(encoding).name in {"utf-8", "utf-8-sig"}
    except LookupError:
        raise InputFileError(f"unknown encoding '{encoding}'", where=str(path),
                             fix="use a Python codec name, e.g. --encoding cp1252 or --encoding latin-1") from None


def _read_header(source: Path, display: Path) -> tuple[list[str], str]:
    with source.open("rb") as fh:
        first_bytes = fh.readline()
    try:
        first = first_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError("the file is not UTF-8 (in the header line)", where=f"{display}, line 1",
                             fix=ENCODING_FIX) from None
    best: tuple[list[str], str] = ([], ",")
    for delim in DELIMITERS:
        try:
            cells = next(csv.reader(io.StringIO(first), delimiter=delim))
        except (csv.Error, StopIteration):
            continue
        if len(cells) > len(best[0]):
            best = (cells, delim)
    if not best[0]:
        raise CsvFormatError("the header line cannot be read", where=f"{display}, line 1",
                             fix="export the data from REDCap again")
    return [c.strip() for c in best[0]], best[1]


def _map_header(header: list[str], project: Project, display: Path, ignore_extra: bool,
                info: ExportInfo) -> list[str]:
    """Export header -> column names (label headers mapped back, record ID -> record_id)."""
    dic = project.dictionary
    rid = dic.record_id_field
    if header[0] != rid and header[0] not in PSEUDO_COLUMNS:
        mapped = labels.map_label_header(header, project)
        if mapped is not None:
            header = mapped
    aliases = checkbox_aliases(dic)
    header = [aliases.get(h, h) for h in header]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise ExportError(f"the header names these columns more than once: {', '.join(dupes)}",
                          where=f"{display}, line 1", fix="export the data from REDCap again; do not edit the header")
    _check_same_project(header, project, display)
    if rid not in header:
        raise ExportError(
            f"the header has no record-ID column '{rid}' (the dictionary's first field)",
            where=f"{display}, line 1",
            fix="check that the export belongs to this project's dictionary (--dictionary), "
                "and export it with the record ID",
        )
    if project.longitudinal and "redcap_event_name" not in header:
        raise ExportError(
            "the project is longitudinal but the header has no 'redcap_event_name' column",
            where=f"{display}, line 1",
            fix="export all events with their event names, or pass the dictionary of a classic project",
        )
    known = known_columns(dic, project.missing_codes)
    extra = [h for h in header if h not in known]
    if extra and not ignore_extra:
        shown = ", ".join(extra[:20]) + (f" and {len(extra) - 20} more" if len(extra) > 20 else "")
        raise ExportError(
            f"{len(extra)} column(s) are not in the data dictionary: {shown}",
            where=f"{display}, line 1",
            fix="pass the dictionary that matches this export with --dictionary, "
                "or --ignore-extra to drop these columns",
        )
    info.ignored_columns = extra
    return ["record_id" if h == rid else h for h in header]


def _load_csv(con, source: Path, display: Path, project: Project, info: ExportInfo, ignore_extra: bool) -> list[str]:
    raw_header, delim = _read_header(source, display)
    header = _map_header(raw_header, project, display, ignore_extra, info)
    # Column names become read_csv's column list (a bound parameter); header row skipped.
    read_names = [h if h not in info.ignored_columns else f"__ignored_{i}" for i, h in enumerate(header)]
    columns = {name: "VARCHAR" for name in read_names}
    try:
        con.execute(
            "create or replace temp table raw as "
            "select row_number() over () as __row, * from read_csv($path, columns = $columns, header = true, "
            "auto_detect = false, delim = $delim, quote = '\"', escape = '\"', strict_mode = true, "
            "max_line_size = 100000000, parallel = true)",
            {"path": str(source), "columns": columns, "delim": delim},
        )
    except Exception as exc:  # duckdb raises InvalidInputException / ConversionException
        raise _csv_error(exc, display) from None
    for name in read_names:
        if name.startswith("__ignored_"):
            con.execute(f"alter table raw drop column {quote_ident(name)}")
    return [h for h in header if h not in info.ignored_columns]


def _check_same_project(header: list[str], project: Project, display: Path) -> None:
    """Refuse an export of another project: most of its columns are not in this dictionary."""
    known = known_columns(project.dictionary, project.missing_codes)
    data = [h for h in header if h not in PSEUDO_COLUMNS]
    unknown = [h for h in data if h not in known]
    if len(data) >= 2 and len(unknown) * 2 > len(data):
        raise ExportError(
            f"the export's columns are not this project's ({project.name}): {len(unknown)} of its {len(data)} "
            f"columns are not in the dictionary, e.g. {', '.join(unknown[:5])}",
            where=f"{display}, line 1",
            fix="give the export's own data dictionary with --dictionary FILE (and --events, --mapping, "
                "--repeating), or make a workspace for that project: registry init DIR --dictionary FILE",
        )


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


def _load_json(con, source: Path, project: Project, info: ExportInfo) -> list[str]:
    """An API JSON record export: a list of flat records, or a bundle with 'records'."""
    try:
        obj = json.loads(source.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise InputFileError("the JSON export is not UTF-8", where=str(info.path), fix=ENCODING_FIX) from None
    except json.JSONDecodeError as exc:
        if info.path.suffix.lower() != ".json":  # e.g. a TOML or INI file: it only starts like JSON
            raise InputFileError(
                f"{info.path.name} is not a REDCap export: it is not CSV, and not valid JSON ({exc.msg})",
                where=f"{info.path}, line {exc.lineno}", fix=f"pass a REDCap export: {FORMATS_READ}",
            ) from None
        raise CsvFormatError(
            f"the JSON export is malformed: {exc.msg}", where=f"{info.path}, line {exc.lineno}",
            fix=f"export the records again (API format=json); the formats read are {FORMATS_READ}",
        ) from None
    records = obj.get("records") if isinstance(obj, dict) else obj
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ExportError("the JSON holds no list of records", where=str(info.path),
                          fix="pass the API record export (format=json, type=flat)")
    if not records:
        raise InputFileError("the export has no records", where=str(info.path), fix="export the data again")
    header: list[str] = list(dict.fromkeys(k for r in records for k in r))
    header = _map_header(header, project, info.path, False, info)
    rid = project.dictionary.record_id_field
    with tempfile.NamedTemporaryFile("w", suffix=".ndjson", encoding="utf-8", delete=False) as fh:
        for r in records:
            fh.write(json.dumps({h: _json_cell(r.get(rid if h == "record_id" else h)) for h in header}) + "\n")
        ndjson = fh.name
    try:
        con.execute(
            "create or replace temp table raw as select row_number() over () as __row, * from "
            "read_json($path, format = 'newline_delimited', columns = $columns)",
            {"path": ndjson, "columns": {h: "VARCHAR" for h in header}},
        )
    finally:
        Path(ndjson).unlink()
    return header


def _json_cell(value) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _check_rows(con, display: Path, project: Project, info: ExportInfo) -> None:
    info.rows = con.execute("select count(*) from raw").fetchone()[0]
    if info.rows == 0:
        raise InputFileError("the export has a header but no data rows", where=str(display),
                             fix="export the data again, with records selected")
    info.has_dag = "redcap_data_access_group" in info.columns
    info.has_survey_identifier = "redcap_survey_identifier" in info.columns
    _normalise_record_ids(con, display)
    row = con.execute("select min(__row) from raw where record_id is null or trim(record_id) = ''").fetchone()
    if row[0] is not None:
        raise ExportError(f"a row has no record ID ({info.record_id_field} is blank)",
                          where=f"{display}, data row {row[0]}",
                          fix="every row of a REDCap export carries its record ID; export the data again")


_SPACE = r"[\s\x{200B}\x{200C}\x{200D}\x{2060}\x{FEFF}]"


def _normalise_record_ids(con, display: Path) -> None:
    """Trim record IDs of surrounding whitespace and zero-width spaces (REDCap trims a record name on
    import); refuse two IDs that differ only by such spaces (they would be one record, or two)."""
    collision = con.execute(
        f"select list(distinct record_id order by record_id), min(__row) from raw "
        f"group by regexp_replace(record_id, '{_SPACE}', '', 'g') having count(distinct record_id) > 1 "
        f"order by min(__row) limit 1"
    ).fetchone()
    if collision:
        shown = ", ".join(repr(v)[:40] for v in collision[0][:4])
        raise ExportError(f"record IDs differ only by spaces or zero-width characters: {shown}",
                          where=f"{display}, data row {collision[1]}, record ID",
                          fix="give each record one ID in REDCap (remove the stray spaces) and export again")
    con.execute(f"update raw set record_id = regexp_replace(record_id, '^{_SPACE}+|{_SPACE}+$', '', 'g') "
                f"where regexp_matches(record_id, '^{_SPACE}|{_SPACE}$')")


def _check_keys(con, display: Path, project: Project, info: ExportInfo) -> None:
    """Events, repeat instruments and instances, and the uniqueness of each row's key."""
    cols = set(info.columns)
    for c in ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"):
        if c not in cols:
            con.execute(f"alter table raw add column {c} varchar")
    if "redcap_repeat_instance" in cols:
        bad = con.execute(
            "select __row, record_id, redcap_repeat_instance from raw where redcap_repeat_instance is not null "
            "and not regexp_full_match(redcap_repeat_instance, '[0-9]+') order by __row limit 1"
        ).fetchone()
        if bad:
            raise ExportError(
                f"repeat instance '{bad[2]}' is not a whole number",
                where=f"{display}, data row {bad[0]}, record {bad[1]}, field redcap_repeat_instance",
                fix="redcap_repeat_instance must be 1, 2, 3 …; export the data again",
            )
        bad = con.execute(
            "select __row, record_id, redcap_repeat_instance from raw where redcap_repeat_instance is not null "
            "and coalesce(try_cast(redcap_repeat_instance as hugeint) not between 1 and 2147483647, true) "
            "order by __row limit 1"
        ).fetchone()
        if bad:
            raise ExportError(
                f"repeat instance {bad[2][:30]} is out of range (REDCap numbers instances from 1 to 2147483647)",
                where=f"{display}, data row {bad[0]}, record {bad[1]}, field redcap_repeat_instance",
                fix="export the data again; REDCap numbers every instance from 1",
            )
        # instances are numbers: '00001' is instance 1, the same key as '1'
        con.execute("update raw set redcap_repeat_instance = cast(cast(redcap_repeat_instance as integer) as varchar) "
                    "where redcap_repeat_instance is not null")
    if project.events:
        known = sorted(project.event_names())
        bad = con.execute(
            "select redcap_event_name, min(__row), count(*) from raw where redcap_event_name is not null "
            "and not list_contains($known, redcap_event_name) group by 1 order by 2 limit 5",
            {"known": known},
        ).fetchall()
        if bad:
            names = ", ".join(f"'{b[0]}' ({b[2]} rows, first at data row {b[1]})" for b in bad)
            raise ExportError(f"event names not in the project: {names}", where=f"{display}, redcap_event_name",
                              fix=f"the project's events are {', '.join(known)}; pass the events file that "
                                  "matches this export with --events")
        blank = con.execute("select min(__row) from raw where redcap_event_name is null").fetchone()[0]
        if blank is not None:
            raise ExportError("a row has no event name", where=f"{display}, data row {blank}, redcap_event_name",
                              fix="in a longitudinal export every row names its event; export the data again")
    forms = project.dictionary.forms
    bad = con.execute(
        "select redcap_repeat_instrument, min(__row) from raw where redcap_repeat_instrument is not null "
        "and not list_contains($forms, redcap_repeat_instrument) group by 1 order by 2 limit 5",
        {"forms": forms},
    ).fetchall()
    if bad:
        names = ", ".join(f"'{b[0]}' (first at data row {b[1]})" for b in bad)
        raise ExportError(f"repeating instruments not in the data dictionary: {names}",
                          where=f"{display}, redcap_repeat_instrument",
                          fix="pass the dictionary that matches this export with --dictionary")
    bad = con.execute(
        "select __row, record_id, redcap_event_name from raw "
        "where redcap_repeat_instrument is not null and redcap_repeat_instance is null order by __row limit 1"
    ).fetchone()
    if bad:
        raise ExportError("a repeating-instrument row has no repeat instance",
                          where=f"{display}, data row {bad[0]}, record {bad[1]}, field redcap_repeat_instance",
                          fix="export the data again; REDCap numbers every instance")
    dup = con.execute(
        "select record_id, redcap_event_name, redcap_repeat_instrument, redcap_repeat_instance "
        "from raw group by all having count(*) > 1 order by min(__row) limit 1"
    ).fetchone()
    if dup:
        rows = [r[0] for r in con.execute(
            "select __row from raw where record_id = $r and redcap_event_name is not distinct from $e "
            "and redcap_repeat_instrument is not distinct from $f and redcap_repeat_instance is not distinct from $i "
            "order by __row", {"r": dup[0], "e": dup[1], "f": dup[2], "i": dup[3]},
        ).fetchall()]
        dup = (*dup, rows)
        key = f"record {dup[0]}" + (f", event {dup[1]}" if dup[1] else "") + (
            f", instrument {dup[2]}" if dup[2] else "") + (f", instance {dup[3]}" if dup[3] else "")
        rows = ", ".join(str(r) for r in dup[4][:10])
        raise ExportError(f"two rows have the same key ({key})", where=f"{display}, data rows {rows}",
                          fix="each record/event/instrument/instance appears once in a REDCap export; "
                              "remove the duplicated row or export the data again")
