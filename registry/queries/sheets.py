"""Query spreadsheets for sites: one file per data access group, xlsx or csv.

Each file lists the site's open queries (errors only unless warnings are asked for) with the
columns of :data:`registry.queries.state.COLUMNS`; ``response`` and ``response_note`` are
left blank for the site. The xlsx has a frozen header row, filters on every column and a
drop-down of the allowed responses. Text a spreadsheet would run as a formula is written as
text (xlsx) or prefixed with ``'`` (csv).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from registry.outputs import check_output_dir, write_bytes, write_text
from registry.queries.state import COLUMNS, OPEN_STATUSES, list_queries, public

RESPONSES = ("corrected", "confirmed", "cannot_fix")
FORMATS = ("xlsx", "csv")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_WIDTHS = {"query_id": 16, "site": 16, "record_id": 12, "event": 18, "field": 18, "query": 80, "value": 10,
           "response": 14, "response_note": 40}


def site_file_name(site: str, has_sites: bool, fmt: str) -> str:
    """``queries_<site>.<fmt>``; ``queries_all`` when the project has no sites.

    >>> site_file_name("north_clinic", True, "xlsx"), site_file_name("", False, "csv")
    ('queries_north_clinic.xlsx', 'queries_all.csv')
    """
    if not has_sites:
        name = "all"
    else:
        name = re.sub(r"[^A-Za-z0-9_-]+", "_", site).strip("_") or "no_site"
    return f"queries_{name}.{fmt}"


def export_queries(con, out: str | Path, fmt: str, *, site: str | None = None,
                   include_warnings: bool = False) -> list[tuple[Path, int]]:
    """Write the open queries, one file per site, into ``out``: ``[(path, n_queries)]``."""
    out = check_output_dir(out, "--out")
    everyone = list_queries(con, include_warnings=True)
    has_sites = any(q["site"] for q in everyone)
    chosen = [q for q in list_queries(con, site=site, include_warnings=include_warnings)
              if q["status"] in OPEN_STATUSES]
    by_site: dict[str, list[dict]] = {}
    for q in chosen:
        by_site.setdefault(q["site"] if has_sites else "", []).append(public({**q, "response": None,
                                                                              "response_note": None}))
    written = []
    for name in sorted(by_site):
        path = out / site_file_name(name, has_sites, fmt)
        rows = by_site[name]
        if fmt == "xlsx":
            write_bytes(path, render_xlsx(rows))
        else:
            write_text(path, render_csv(rows))
        written.append((path, len(rows)))
    return written


def render_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if row[c] is None else _csv_safe(row[c]) for c in COLUMNS])
    return buffer.getvalue()


def render_xlsx(rows: list[dict]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = "queries"
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r, row in enumerate(rows, start=2):
        for c, name in enumerate(COLUMNS, start=1):
            value = row[name]
            cell = sheet.cell(row=r, column=c)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # text, never a formula, whatever it starts with
            if name == "query":
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    last = max(len(rows) + 1, 2)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{last}"
    response_col = get_column_letter(COLUMNS.index("response") + 1)
    choice = DataValidation(type="list", formula1='"' + ",".join(RESPONSES) + '"', allow_blank=True,
                            showErrorMessage=True, errorTitle="response",
                            error="Choose corrected, confirmed or cannot_fix (or leave it blank).")
    sheet.add_data_validation(choice)
    choice.add(f"{response_col}2:{response_col}{max(last, 1000)}")
    for c, name in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(c)].width = _WIDTHS.get(name, 10)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _csv_safe(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
