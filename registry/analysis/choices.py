"""Choice labels of the registry's dictionary, so that results.json can name codes.

``results.json`` key ``choice_labels``: ``{"form.field": {"code": "label"}}`` for every coded
field a table of the report shows by level (Table 1's categorical and checkbox variables, the
adverse events' severity and relatedness), read from the registry's copy of the dictionary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

    from registry.analysis.plan import AnalysisPlan


def choice_labels(con: duckdb.DuckDBPyConnection, field: str) -> dict[str, str]:
    """Code -> label of a field's choices in the registry's dictionary ({} if it has none)."""
    import duckdb

    from registry.analysis.stage import read_sql

    try:
        rows = con.execute(read_sql("choice_labels"), {"field": field}).fetchall()
    except duckdb.CatalogException:
        return {}
    out = {}
    for (text,) in rows:
        for part in (text or "").split("|"):
            code, _, label = part.partition(",")
            if code.strip() and label.strip():
                out[code.strip()] = label.strip()
    return out


def shown_choice_labels(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan) -> dict[str, dict[str, str]]:
    """``{"form.field": {code: label}}`` for the coded fields the report's tables show by level."""
    fields = [(v.form, v.field) for v in plan.baseline if v.kind != "continuous"]
    if plan.adverse_events is not None:
        ae = plan.adverse_events
        fields += [(ae.form, ae.severity), (ae.form, ae.related)]
    return {f"{form}.{field}": labels for form, field in fields if (labels := choice_labels(con, field))}
