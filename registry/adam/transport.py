"""SAS transport version 5 (.xpt): the limits, checked before anything is written, and
the ``formats.sas`` PROC FORMAT file that carries the value labels XPORT cannot hold.

Limits (FDA / CDISC; ``../shared/notes/domain.md`` §3.6): member and variable names at most
8 characters (a letter or ``_`` first, then letters, digits, ``_``), dataset and variable
labels at most 40 characters, US-ASCII only, character values at most 200 bytes.
pyreadstat would cut labels to 40 characters and write longer strings or UTF-8 bytes
without a word; here every such case refuses the export and says what would be cut.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from registry.adam import Dataset, TransportFormatError

if TYPE_CHECKING:
    from pathlib import Path

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,7}$")
MAX_LABEL = 40
MAX_VALUE_BYTES = 200
MAX_SHOWN = 8


def _text_problem(text: str, limit: int, unit: str = "characters") -> str | None:
    if not text.isascii():
        bad = next(ch for ch in text if not ch.isascii())
        return f"has the non-ASCII character {bad!r} (U+{ord(bad):04X})"
    size = len(text.encode("ascii"))
    if size > limit:
        return f"is {size} {unit} long (limit {limit}): '{text[:limit]}' would be kept, '{text[limit:]}' cut"
    return None


def find_transport_problems(ds: Dataset) -> list[str]:
    """Everything in ``ds`` that SAS transport v5 would cut or mangle (empty if it fits).

    >>> import pandas as pd
    >>> ds = Dataset("adqs", "Questionnaires", pd.DataFrame({"PARAMETER": ["x"]}), {"PARAMETER": "Parameter"})
    >>> find_transport_problems(ds)
    ['adqs.PARAMETER: the name is longer than 8 characters or not a SAS name']
    """
    problems = []
    if not NAME_RE.match(ds.name):
        problems.append(f"{ds.name}: the dataset name is longer than 8 characters or not a SAS name")
    p = _text_problem(ds.label, MAX_LABEL)
    if p:
        problems.append(f"{ds.name}: the dataset label {p}")
    key = ds.keys[0] if ds.keys else None
    for name in ds.frame.columns:
        where = f"{ds.name}.{name}"
        if not NAME_RE.match(name):
            problems.append(f"{where}: the name is longer than 8 characters or not a SAS name")
        p = _text_problem(ds.labels.get(name, ""), MAX_LABEL)
        if p:
            problems.append(f"{where}: the label {p}")
        column = ds.frame[name]
        if column.dtype != object:
            continue
        for row, value in enumerate(column):
            if not isinstance(value, str):
                continue
            p = _text_problem(value, MAX_VALUE_BYTES, "bytes")
            if p:
                at = f" ({key} {ds.frame[key].iloc[row]})" if key and key != name else ""
                problems.append(f"{where}, row {row + 1}{at}: the value {p}")
                break  # one value per variable is enough to say what to fix
    return problems


def check_transport(datasets: list[Dataset]) -> None:
    """Refuse datasets that do not fit SAS transport v5.

    Raises
    ------
    TransportFormatError
        Naming each dataset/variable and what would be cut; nothing has been written.
    """
    problems = [p for ds in datasets for p in find_transport_problems(ds)]
    if not problems:
        return
    shown = "\n    ".join(problems[:MAX_SHOWN])
    more = f"\n    … and {len(problems) - MAX_SHOWN} more" if len(problems) > MAX_SHOWN else ""
    first = problems[0].split(":")[0]
    raise TransportFormatError(
        f"{len(problems)} name(s), label(s) or value(s) do not fit SAS transport version 5 "
        f"(8-character names, 40-character ASCII labels, 200-byte ASCII values) and would be cut "
        f"or garbled; "
        f"nothing was written:\n    {shown}{more}",
        where=first,
        fix="export with --format sav, dta or parquet (no such limits), or change the values in REDCap "
        "(shorter, ASCII only) and ingest again",
    )


def format_name(variable: str, taken: set[str]) -> str:
    """A numeric SAS format name for a variable's value labels (never ending in a digit).

    >>> format_name("TRT01PN", set()), format_name("CNSR", {"CNSRF"})
    ('TRT01PNF', 'CNSRF2F')
    """
    name, n = f"{variable}F", 1
    while name in taken:
        n += 1
        name = f"{variable}F{n}F"
    return name


def _sas_string(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def render_formats_sas(datasets: list[Dataset], header: str) -> str:
    """``formats.sas``: PROC FORMAT for every value-labelled variable, then a DATA step per
    dataset that reads its .xpt file and attaches the formats with FORMAT statements.

    Identical label sets share one format (e.g. TRT01PN in all three datasets).
    """
    formats: dict[tuple, str] = {}
    attach: dict[str, list[tuple[str, str]]] = {}
    for ds in datasets:
        for variable, labels in ds.value_labels.items():
            if variable not in ds.frame.columns or not labels:
                continue
            key = (variable, tuple(sorted(labels.items())))
            if key not in formats:
                formats[key] = format_name(variable, set(formats.values()))
            attach.setdefault(ds.name, []).append((variable, formats[key]))
    lines = [f"/* {line} */" for line in header.splitlines()]
    lines += [
        "/* Value labels of the analysis datasets: SAS transport (XPORT) files cannot hold them.",
        "   Set adamdir to the folder holding the .xpt files, then %include this file. */",
        "%let adamdir = .;",
        "",
        "proc format;",
    ]
    for (_, items), name in formats.items():
        lines.append(f"    value {name}")
        lines += [f"        {code} = {_sas_string(label)}" for code, label in items]
        lines.append("    ;")
    lines += ["run;", ""]
    for ds in datasets:
        lines += [
            f'libname {ds.name} xport "&adamdir/{ds.name}.xpt";',
            f"data work.{ds.name};",
            f"    set {ds.name}.{ds.name};",
        ]
        pairs = attach.get(ds.name, [])
        if pairs:
            lines.append("    format " + " ".join(f"{var} {fmt}." for var, fmt in pairs) + ";")
        lines += ["run;", f"libname {ds.name} clear;", ""]
    return "\n".join(lines)


def write_xpt(ds: Dataset, frame, path: Path) -> None:
    """Write one dataset as SAS transport version 5 (call :func:`check_transport` first)."""
    import pyreadstat

    pyreadstat.write_xport(
        frame,
        path,
        file_label=ds.label,
        column_labels=[ds.labels[c] for c in frame.columns],
        table_name=ds.name.upper(),
        file_format_version=5,
    )
