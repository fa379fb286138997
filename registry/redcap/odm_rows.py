"""One record's forms -> the rows a CSV export has, and those rows written as CSV lines.

Both ODM paths (:mod:`odm_fast`, also in the worker processes of :mod:`odm_parts`, and the XML
parser) give each ``SubjectData`` as its attributes and forms; :func:`subject_rows` makes its rows
(record × event × repeating instrument × instance) and :class:`RowFile` writes them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

from registry.errors import ExportError
from registry.redcap.odm_fast import Form
from registry.redcap.odm_metadata import OdmMetadata
from registry.redcap.odm_xml import ODM_FIX, strip_prefix

CLASSIC_EVENT = "event_1_arm_1"  # what REDCap names the one event of a classic project


@dataclass
class Flat:
    """What the flattening saw, for choosing the pseudo columns of the header."""

    events: bool = False
    repeats: bool = False
    dag: bool = False
    extras: dict[str, None] = field(default_factory=dict)
    subjects: int = 0
    rows: int = 0
    row_keys: dict[tuple, tuple] = field(default_factory=dict)  # (event, its key, form OID, its key) -> row key

    @classmethod
    def combined(cls, parts: list[Flat]) -> Flat:
        """What the flattening of the parts of one file saw, together."""
        return cls(events=any(p.events for p in parts), repeats=any(p.repeats for p in parts),
                   dag=any(p.dag for p in parts), subjects=sum(p.subjects for p in parts),
                   rows=sum(p.rows for p in parts))


def _local(names: dict[str, str]) -> dict[str, str]:
    return {k.rsplit(":", 1)[-1]: v for k, v in names.items()}


def _event(event_attrs: dict[str, str] | None, meta: OdmMetadata) -> tuple[str | None, str]:
    """A StudyEventData's event (None in a classic project or outside any event) and its repeat key."""
    if event_attrs is None:
        return None, "1"
    ea = _local(event_attrs)
    event = ea.get("UniqueEventName") or strip_prefix(ea.get("StudyEventOID", ""), "Event.")
    if not meta.longitudinal and event == CLASSIC_EVENT:
        event = None
    return event or None, ea.get("StudyEventRepeatKey") or "1"


def _row_key(meta: OdmMetadata, event: str | None, event_key: str, form_oid: str, form_key: str,
             where: str) -> tuple[str | None, str | None, str | None]:
    """The row a form's values go to: (event, repeating instrument, instance)."""
    form = strip_prefix(form_oid, "Form.")
    if meta.repeats_event(event):
        return (event, None, event_key)
    if meta.repeats_form(event, form):
        return (event, form, form_key)
    for what, k in (("instrument", form_key), ("event", event_key)):
        if k not in ("", "1"):
            raise ExportError(
                f"form '{form}' has instance {k} but the ODM does not declare the {what} repeating",
                where=f"{where}, event {event or '(none)'}, FormData {form_oid or form}",
                fix="export 'CDISC ODM (XML) — project metadata and data' so that the repeating "
                    "setup comes with the data, or pass --repeating with the repeating instruments export")
    return (event, None, None)


def subject_rows(subject: dict[str, str], forms: list[Form], meta: OdmMetadata, rid: str,
                  flat: Flat) -> list[dict[str, str]]:
    """One record's attributes and forms -> its export rows, in order (record × event × instrument × instance)."""
    a = _local(subject)
    record = a.get("SubjectKey", "")
    where = f"{meta.path}, SubjectData {record or '#' + str(flat.subjects)}"
    if not record.strip():
        raise ExportError("a SubjectData element has no SubjectKey (record ID)", where=where, fix=ODM_FIX)
    rows: dict[tuple, dict[str, str]] = {}
    last: object = rows  # the forms of one StudyEventData share its attributes: read them once
    for event_attrs, form_attrs, cells in forms:
        if event_attrs is not last:
            last = event_attrs
            event, event_key = _event(event_attrs, meta)
        form_oid = form_attrs.get("FormOID", "")
        form_key = form_attrs.get("FormRepeatKey") or "1"
        at = (event, event_key, form_oid, form_key)
        key = flat.row_keys.get(at)
        if key is None:
            key = flat.row_keys[at] = _row_key(meta, event, event_key, form_oid, form_key, where)
        rows.setdefault(key, {}).update(cells)
    dag = a.get("DataAccessGroup") or next(
        (r["redcap_data_access_group"] for r in rows.values() if r.get("redcap_data_access_group")), None)
    out = []
    for (event, instrument, instance), values in rows.items():
        row = values
        row[rid] = record  # the record ID is on every row of a CSV export
        if event is not None:
            row["redcap_event_name"] = event
            flat.events = True
        if instance is not None:
            row["redcap_repeat_instance"] = instance
            flat.repeats = True
            if instrument is not None:
                row["redcap_repeat_instrument"] = instrument
        if dag:
            row["redcap_data_access_group"] = dag
            flat.dag = True
        out.append(row)
    return out


class RowFile:
    """The flat rows, written as CSV cells in a fixed column order (new columns are added at the end;
    DuckDB pads the shorter earlier rows with NULLs)."""

    def __init__(self, fh, columns: list[str]):
        self.fh = fh
        self.writer = csv.writer(fh, lineterminator="\n")
        self.lines: dict[tuple[str, ...], str] = {}
        self.columns = list(dict.fromkeys(columns))
        self.index = {c: i for i, c in enumerate(self.columns)}
        self.rows = 0
        self.ragged = False  # a column was added after rows were written: those rows are short

    def write(self, row: dict[str, str]) -> None:
        """One row: as a line made from the format of rows with the same keys, or by the CSV writer
        when a value needs quoting."""
        keys = tuple(row)
        line = self.lines.get(keys)
        if line is None:
            line = self.lines[keys] = self._line(keys)
        values = row.values()
        text = "\x00".join(values)
        if '"' in text or "," in text or "\n" in text or "\r" in text:
            cells = [None] * len(self.columns)
            for key, value in row.items():
                cells[self.index[key]] = value
            self.writer.writerow(cells)
        else:
            self.fh.write(line.format(*values))
        self.rows += 1

    def _line(self, keys: tuple[str, ...]) -> str:
        """The format of a row with these keys (``{0},,{1}…``); a new key becomes a column at the end."""
        for key in keys:
            if key not in self.index:
                self.index[key] = len(self.columns)
                self.columns.append(key)
                self.ragged = self.ragged or self.rows > 0
        at = {self.index[key]: n for n, key in enumerate(keys)}
        return ",".join(f"{{{at[i]}}}" if i in at else "" for i in range(len(self.columns))) + "\n"

    def read_options(self) -> str:
        """read_csv options for the file (DuckDB pads short rows only when it reads in one thread)."""
        return "null_padding = true, parallel = false" if self.ragged else "parallel = true"


def write_subject(rows: RowFile, subject: dict[str, str], forms: list[Form], meta: OdmMetadata, rid: str,
                  flat: Flat) -> None:
    """One record's rows into ``rows``, counted in ``flat``."""
    flat.subjects += 1
    for row in subject_rows(subject, forms, meta, rid, flat):
        rows.write(row)
        flat.rows += 1
