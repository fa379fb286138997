"""ODM cells as a CSV export of the same project holds them.

An ``ItemData`` value is the cell; a datetime REDCap wrote with ``T`` gets its space back; a
file field (``ItemDataBase64Binary``) is its file name (``redcap:DocName``), as a CSV export
shows it. A comma-decimal REDCap writes ``11,2`` in number and calc fields: a column is read
with decimal commas only when the whole column uses them (at least one value has a decimal
comma, every other is a whole number or a missing-data code), and the batch records that.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from registry.redcap.columns import field_kind
from registry.redcap.odm_metadata import OdmMetadata
from registry.redcap.odm_xml import attrs
from registry.redcap.project import Project
from registry.sqltext import quote_ident, reader, render

read_sql = reader("registry.redcap")


def cell_value(el: ET.Element, meta: OdmMetadata, oid: str) -> str | None:
    """The cell of one ItemData (ODM's own attributes carry no namespace)."""
    if el.tag.endswith("ItemDataBase64Binary"):  # a file field: its file name, as a CSV export shows it
        name = attrs(el).get("DocName", "").strip()
        return name or ("[document]" if (el.text or "").strip() else None)
    value = el.get("Value")
    if value is None:
        value = el.text or ""
    if value == "" or el.get("IsNull", "").lower() == "yes":
        return None
    if oid in meta.datetime_items:
        value = value.replace("T", " ", 1)
    return value


def read_decimal_commas(con, project: Project, header: list[str]) -> list[str]:
    """Rewrite ``11,2`` as ``11.2`` in the number/calc columns of ``raw`` that use decimal commas;
    return the names of those columns."""
    dic = project.dictionary
    numeric = [c for c in header if c in dic.by_name and dic.by_name[c].field_type != "checkbox"
               and field_kind(dic.by_name[c]) == "double"]
    read = []
    for col in numeric:
        commas, others = con.execute(render(read_sql("decimal_comma_count"), col=quote_ident(col)),
                                     {"codes": list(project.missing_codes)}).fetchone()
        if commas and not others:
            con.execute(render(read_sql("decimal_comma_read"), col=quote_ident(col)))
            read.append(col)
    return read


def decimal_comma_note(columns: list[str]) -> str:
    """The batch note that says which columns were read with decimal commas."""
    return (f"decimal commas read as decimal points in {len(columns)} number/calc field(s), every value of "
            f"which uses them: {', '.join(columns)}")
