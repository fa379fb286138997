"""Reading a REDCap record export delivered as an SPSS ``.sav`` or Stata ``.dta`` file.

REDCap's SPSS and Stata exports carry the same variables as its CSV export (the same
names, codes as numbers, choice labels as value labels). Here every cell is turned back into
the text the CSV would carry: whole numbers without ``.0``, other numbers in their shortest
exact form, dates as ``YYYY-MM-DD``, datetimes as ``YYYY-MM-DD HH:MM`` (with ``:SS`` for the
``datetime_seconds`` validations), times as ``HH:MM`` (``HH:MM:SS`` for ``time_hh_mm_ss``),
empty strings and system-missing numbers as NULL. Value labels are not applied: the codes
are the data. Then the file takes the CSV path's checks: header mapped against the
dictionary (:func:`registry.redcap.header.map_header`), rows, keys, label detection.
"""

from __future__ import annotations

import codecs
import datetime as dt
import math
from pathlib import Path
from typing import TYPE_CHECKING

from registry.errors import InputFileError
from registry.redcap.header import map_header
from registry.redcap.project import Project
from registry.redcap.rawfile import READSTAT_SUFFIXES

if TYPE_CHECKING:
    import pandas as pd

MAX_EXACT_INT = 2**53


def format_number(value: float) -> str | None:
    """A numeric cell as REDCap's CSV writes it (None for system-missing).

    >>> format_number(3.0), format_number(36.5), format_number(-0.25), format_number(float("nan"))
    ('3', '36.5', '-0.25', None)
    """
    if value is None or math.isnan(value):
        return None
    if value.is_integer() and abs(value) < MAX_EXACT_INT:
        return str(int(value))
    return repr(float(value))


def format_temporal(value, validation: str = "") -> str:
    """A date, datetime or time cell as REDCap's CSV writes it for the field's validation.

    >>> format_temporal(dt.date(2019, 6, 27))
    '2019-06-27'
    >>> format_temporal(dt.datetime(2019, 6, 27, 8, 5, 9), "datetime_ymd")
    '2019-06-27 08:05'
    >>> format_temporal(dt.datetime(2019, 6, 27, 8, 5, 9), "datetime_seconds_ymd")
    '2019-06-27 08:05:09'
    >>> format_temporal(dt.time(8, 5), "time")
    '08:05'

    A date field stored as a datetime at midnight (an SPSS DATETIME variable) is a date:

    >>> format_temporal(dt.datetime(2019, 6, 27), "date_ymd")
    '2019-06-27'
    """
    seconds = "seconds" in validation or validation == "time_hh_mm_ss"
    if isinstance(value, dt.datetime) and validation.startswith("date_") and value.time() == dt.time(0):
        return value.date().isoformat()
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S" if seconds else "%H:%M")
    return str(value)


def _is_missing(value) -> bool:
    """None, NaN, NaT or pandas' NA."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pd.NA
        return True


def cell_text(value, validation: str = "") -> str | None:
    """Any cell read by pyreadstat as the CSV's text (None for empty or missing)."""
    if _is_missing(value):
        return None
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, dt.date | dt.time):
        return format_temporal(value, validation)
    return str(value)


def read_readstat_frame(source: Path, encoding: str | None = None) -> pd.DataFrame:
    """The file's data as pyreadstat reads it: codes, not labels.

    Raises
    ------
    InputFileError
        pyreadstat cannot read the file (not an SPSS/Stata file, damaged, wrong encoding).
    """
    import pyreadstat

    kind = READSTAT_SUFFIXES[source.suffix.lower()]
    reader = pyreadstat.read_dta if kind.startswith("Stata") else pyreadstat.read_sav
    kwargs = {}
    if encoding:
        try:
            kwargs["encoding"] = codecs.lookup(encoding).name.upper()
        except LookupError:
            raise InputFileError(f"unknown encoding '{encoding}'", where=str(source),
                                 fix="use a codec name, e.g. --encoding cp1252, or leave it out: "
                                     "SPSS and Stata files record their encoding") from None
    try:
        frame, _ = reader(str(source), apply_value_formats=False, user_missing=False, **kwargs)
    except Exception as exc:  # pyreadstat.ReadstatError, PyreadstatError, UnicodeDecodeError …
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise InputFileError(
            f"the file cannot be read as a {kind} file ({first})", where=str(source),
            fix=f"save the data again as a {kind} file, or pass REDCap's CSV export "
                "(Data Exports > CSV / Microsoft Excel (raw data))",
        ) from None
    return frame


def load_readstat(con, source: Path, project: Project, info, *, ignore_extra: bool = False,
                  encoding: str | None = None) -> list[str]:
    """Load an SPSS/Stata export into the temp table ``raw`` (text cells); return the header.

    Follows the JSON reader (:mod:`registry.redcap.json_reader`): the header is mapped and checked against
    the dictionary, the record-ID column becomes ``record_id`` and ``__row`` numbers the rows.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Receives the temp table ``raw``.
    source : Path
        The ``.sav``, ``.zsav`` or ``.dta`` file.
    project : Project
        Its dictionary types the temporal cells and checks the header.
    info : ExportInfo
        Filled in (ignored columns); ``info.path`` is named in errors.
    ignore_extra : bool
        Drop variables that are not in the dictionary instead of refusing them.
    encoding : str, optional
        Override the encoding the file records (old SPSS files only).

    Raises
    ------
    InputFileError, ExportError
        The file cannot be read, or its variables do not fit the dictionary.
    """
    import pyarrow as pa

    frame = read_readstat_frame(source, encoding)
    if len(frame.columns) == 0:
        raise InputFileError("the file has no variables", where=str(info.path), fix="export the data again")
    names = [str(c) for c in frame.columns]
    header = map_header(list(names), project, info.path, ignore_extra, info)
    rid = project.dictionary.record_id_field
    by_name = project.dictionary.by_name
    columns = {"__row": pa.array(range(1, len(frame) + 1), type=pa.int64())}
    for original, name in zip(names, header, strict=True):
        if name in info.ignored_columns:
            continue
        field = by_name.get(rid if name == "record_id" else name.split("___")[0])
        validation = field.validation if field else ""
        columns[name] = pa.array([cell_text(v, validation) for v in frame[original].tolist()], type=pa.string())
    table = pa.table(columns)
    con.register("_readstat_cells", table)
    try:
        con.execute("create or replace temp table raw as select * from _readstat_cells order by __row")
    finally:
        con.unregister("_readstat_cells")
    return [h for h in header if h not in info.ignored_columns]
