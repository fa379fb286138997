"""Filled-in query sheets read back: every row checked, then all answers recorded, or none.

A site answers a query with ``corrected`` (fixed in REDCap: the query stays open until a
batch no longer shows it), ``confirmed`` (the value is right: the query is closed while the
value stays the same) or ``cannot_fix`` (stays open, with the note). A row whose response and
note are blank is no answer. A row is refused, with its file and row, when its ``query_id``
is unknown, its response is not one of the three, or its ``record_id`` or ``field`` is not
the query's; then nothing is recorded.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from registry.errors import QueryAnswerError
from registry.queries.sheets import RESPONSES
from registry.queries.state import list_queries

REQUIRED = ("query_id", "record_id", "field", "response", "response_note")
MAX_LISTED = 20


@dataclass
class Answer:
    query_id: str
    response: str
    note: str
    value_key: str | None
    batch_id: int
    source_file: str
    source_row: int


def import_answers(con, files: list[str | Path]) -> list[Answer]:
    """Check every row of ``files``; record all answers in one transaction, or raise and record none."""
    known = {q["query_id"]: q for q in list_queries(con)}
    answers, problems = [], []
    for path in files:
        for row_number, row in read_sheet(Path(path)):
            answer, problem = _check_row(row, known, str(path), row_number)
            if problem:
                problems.append(f"{path}, row {row_number}: {problem}")
            elif answer:
                answers.append(answer)
    if problems:
        listed = "\n    ".join(problems[:MAX_LISTED])
        more = f"\n    … and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        raise QueryAnswerError(f"{len(problems)} row(s) cannot be recorded; nothing was recorded:\n    {listed}{more}",
                               where=", ".join(str(f) for f in files),
                               fix="correct those rows (response: corrected, confirmed or cannot_fix; keep query_id, "
                                   "record_id and field as exported) and import the files again")
    _record(con, answers)
    return answers


def read_sheet(path: Path) -> list[tuple[int, dict]]:
    """``[(row number as the user sees it, {column: text})]`` of an xlsx or csv query sheet."""
    if not path.is_file():
        raise QueryAnswerError(f"no file {path}", where=str(path), fix="give the filled-in sheet's path")
    if path.suffix.lower() == ".xlsx":
        rows = _xlsx_rows(path)
    elif path.suffix.lower() == ".csv":
        rows = _csv_rows(path)
    else:
        raise QueryAnswerError(f"{path.name} is not an .xlsx or .csv query sheet", where=str(path),
                               fix="import the sheets written by registry queries export (xlsx or csv)")
    if not rows:
        raise QueryAnswerError("the sheet is empty", where=str(path), fix="import a sheet written by queries export")
    header = [str(h or "").strip() for h in rows[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise QueryAnswerError(f"the sheet has no column {', '.join(missing)}", where=f"{path}, row 1",
                               fix="keep the header row of the exported sheet as it is")
    out = []
    for number, values in enumerate(rows[1:], start=2):
        cells = {h: _text(v) for h, v in zip(header, values, strict=False) if h}
        if any(cells.values()):
            out.append((number, cells))
    return out


def _check_row(row: dict, known: dict, path: str, number: int) -> tuple[Answer | None, str | None]:
    response = row.get("response", "").strip().lower()
    note = row.get("response_note", "").strip()
    if not response and not note:
        return None, None  # no answer
    query_id = row.get("query_id", "").strip()
    query = known.get(query_id)
    if query is None:
        return None, f"unknown query_id '{query_id}'"
    if not response:
        return None, f"query {query_id} has a note but no response"
    if response not in RESPONSES:
        return None, f"response '{row.get('response')}' is not one of {', '.join(RESPONSES)}"
    for key in ("record_id", "field"):
        given = _unformula(row.get(key, "").strip())
        if given != str(query[key] or ""):
            return None, f"{key} of query {query_id} was changed (the sheet says '{given}')"
    answer = Answer(query_id=query_id, response=response, note=note, value_key=query["value_key"],
                    batch_id=query["last_batch"], source_file=Path(path).name, source_row=number)
    return answer, None


def _record(con, answers: list[Answer]) -> None:
    if not answers:
        return
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute("begin transaction")
    try:
        con.executemany(
            "insert into registry.query_responses values (?, ?, ?, ?, ?, ?, ?, ?)",
            [(a.query_id, a.response, a.note or None, a.value_key, a.batch_id, now, a.source_file, a.source_row)
             for a in answers],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _xlsx_rows(path: Path) -> list[tuple]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, OSError, KeyError, ValueError) as exc:
        raise QueryAnswerError(f"cannot read the spreadsheet: {exc}", where=str(path),
                               fix="save it as .xlsx (Excel workbook) and import it again") from None
    try:
        return [tuple(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def _csv_rows(path: Path) -> list[list[str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="cp1252")
    return list(csv.reader(io.StringIO(text, newline="")))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _unformula(text: str) -> str:
    """A cell the csv export prefixed with ``'`` (it would run as a formula) back to its text."""
    if text.startswith("'") and text[1:2] in ("=", "+", "-", "@", "\t", "\r"):
        return text[1:]
    return text
