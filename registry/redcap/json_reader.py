"""The API JSON reader: a REDCap API record export (``format=json``, ``type=flat``) into the temp table ``raw``.

A list of flat records, or a bundle with ``records``; keys are mapped by
:func:`registry.redcap.header.map_header`, and the cells written as newline-delimited JSON for
DuckDB's ``read_json`` to load as text.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from registry.errors import CsvFormatError, ExportError, InputFileError
from registry.redcap.header import map_header
from registry.redcap.project import Project
from registry.redcap.rawfile import ENCODING_FIX, FORMATS_READ, ExportInfo, utf8_source


def load_json(con, path: Path, project: Project, info: ExportInfo, *, encoding: str | None = None) -> list[str]:
    """Load an API JSON export into the temp table ``raw``; return its (mapped) columns."""
    with utf8_source(path, encoding) as source:
        return _load(con, source, project, info)


def _load(con, source: Path, project: Project, info: ExportInfo) -> list[str]:
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
    header = map_header(header, project, info.path, False, info)
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
