"""Decimal commas in number and calc fields (an ODM file from a comma-decimal REDCap).

REDCap in a comma-decimal locale writes ``11,2`` into the ODM export of a ``number`` or
``calc`` field. A column is read with decimal commas only when the whole column uses them:
at least one value has a decimal comma and every other value is a whole number (or a
missing-data code). What was read so is returned, for the batch to record.
"""

from __future__ import annotations

from registry.redcap.columns import field_kind
from registry.redcap.project import Project
from registry.sqltext import quote_ident, reader, render

read_sql = reader("registry.redcap")


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


def note(columns: list[str]) -> str:
    """The batch note that says which columns were read with decimal commas."""
    return (f"decimal commas read as decimal points in {len(columns)} number/calc field(s), every value of "
            f"which uses them: {', '.join(columns)}")
