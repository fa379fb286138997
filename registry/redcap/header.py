"""The one header mapper: an export's column names -> the project's column names.

Every reader (CSV, API JSON, ODM, SPSS/Stata) passes the names it read through
:func:`map_header`: label headers are mapped back to field names, old checkbox names to
current ones, and the header is checked against the project's dictionary (duplicates, another
project's columns, the record-ID column, the event column of a longitudinal project, columns
the dictionary does not know). The record-ID column becomes ``record_id``.
"""

from __future__ import annotations

from pathlib import Path

from registry.errors import ExportError
from registry.redcap import labels
from registry.redcap.columns import PSEUDO_COLUMNS, checkbox_aliases, known_columns
from registry.redcap.project import Project
from registry.redcap.rawfile import ExportInfo


def map_header(header: list[str], project: Project, display: Path, ignore_extra: bool,
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
    check_same_project(header, project, display)
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


def check_same_project(header: list[str], project: Project, display: Path) -> None:
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
