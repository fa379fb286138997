"""Table 1: baseline characteristics by cohort and overall, over the analysis set.

Variables come from the plan's ``[[baseline]]`` entries (form, field, optional event, kind,
label, optional ``negate``). gtsummary-style rows for ``results.json``
``baseline_characteristics``:

- ``continuous``: n, mean, SD, median, Q1, Q3 (R's default quantiles, type 7) and missing;
- ``categorical``: per level (the choice code as a string; "unknown" codes such as 99 are
  levels like any other) count and percent = 100 x count / n, n the subjects with a value;
- ``checkbox``: per box (``<field>___<code>`` columns) count and percent over n, the subjects
  with at least one box ticked; none ticked counts as missing.

``cohort`` is the cohort code, or None for all cohorts together. A subject with several rows
of the form (a repeating form, or no ``event`` given) contributes its first non-missing value
(lowest repeat instance).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

KINDS = ("continuous", "categorical", "checkbox")
ROW_KEYS = [
    "variable",
    "label",
    "level",
    "cohort",
    "n",
    "mean",
    "sd",
    "median",
    "q1",
    "q3",
    "count",
    "percent",
    "missing",
]


@dataclass(frozen=True)
class BaselineVariable:
    """One ``[[baseline]]`` entry of the plan."""

    form: str
    field: str
    kind: str
    label: str
    event: str | None = None
    negate: bool = False  # e.g. days from first esketamine to day 0 = -(study day of the first)


def read_baseline_entries(entries: list, table_cls, path) -> tuple[BaselineVariable, ...]:
    """Validate the plan's ``[[baseline]]`` list (``table_cls`` is the plan's TOML table)."""
    out = []
    for i, raw in enumerate(entries):
        t = table_cls(path, f"baseline[{i}]", raw)
        out.append(
            BaselineVariable(
                form=t.name_("form"),
                field=t.name_("field"),
                kind=t.get("kind", str, choices=KINDS),
                label=t.get("label", str),
                event=t.get("event", str, None),
                negate=t.get("negate", bool, False),
            )
        )
        t.done()
    return tuple(out)


def quantile7(values, p: float) -> float:
    """R ``quantile(x, p, type = 7)``: linear interpolation between order statistics."""
    import numpy as np

    x = np.sort(np.asarray(values, float))
    h = (len(x) - 1) * p
    lo = int(np.floor(h))
    hi = min(lo + 1, len(x) - 1)
    return float(x[lo] + (h - lo) * (x[hi] - x[lo]))


def _values(con: duckdb.DuckDBPyConnection, form: str, event: str | None, columns: list[str]) -> pd.DataFrame:
    """record_id and ``columns`` of the form (at ``event``), ordered by record and repeat
    instance (the first instance of a subject first)."""
    import duckdb

    rel = con.table(f"reg.main.{form}")
    c = duckdb.ColumnExpression
    if event is not None:
        rel = rel.filter(c("redcap_event_name") == duckdb.ConstantExpression(event))
    keep = [c("record_id"), *(c(col) for col in columns)]
    if "redcap_repeat_instance" in rel.columns:
        keep.append(c("redcap_repeat_instance"))
    frame = rel.select(*keep).df()
    if "redcap_repeat_instance" in frame:
        frame = frame.sort_values(["record_id", "redcap_repeat_instance"], na_position="first")
    return frame


def _columns(con: duckdb.DuckDBPyConnection, var: BaselineVariable) -> list[str]:
    """The form's columns a variable reads: its field, or a checkbox's boxes."""
    if var.kind != "checkbox":
        return [var.field]
    columns = con.table(f"reg.main.{var.form}").columns
    return [col for col in columns if col.startswith(f"{var.field}___") and not col.endswith("___unk")]


def _continuous(var, values: pd.Series, cohort) -> dict:
    import numpy as np

    x = values.dropna().astype(float)
    if var.negate:
        x = -x
    n = len(x)
    return {
        "variable": f"{var.form}.{var.field}",
        "label": var.label,
        "level": None,
        "cohort": cohort,
        "n": n,
        "mean": float(x.mean()) if n else None,
        "sd": float(np.std(x, ddof=1)) if n > 1 else None,
        "median": quantile7(x, 0.5) if n else None,
        "q1": quantile7(x, 0.25) if n else None,
        "q3": quantile7(x, 0.75) if n else None,
        "count": None,
        "percent": None,
        "missing": int(len(values) - n),
    }


def _level_rows(var, counts: dict[str, int], n: int, total: int, cohort) -> list[dict]:
    return [
        {
            "variable": f"{var.form}.{var.field}",
            "label": var.label,
            "level": level,
            "cohort": cohort,
            "n": n,
            "mean": None,
            "sd": None,
            "median": None,
            "q1": None,
            "q3": None,
            "count": count,
            "percent": 100.0 * count / n if n else None,
            "missing": total - n,
        }
        for level, count in counts.items()
    ]


def _code(value) -> str:
    v = float(value)
    return str(int(v)) if v.is_integer() else str(value)


def baseline_rows(con: duckdb.DuckDBPyConnection, variables, subjects: pd.DataFrame, cohorts: list[int]) -> list[dict]:
    """All rows of Table 1 (needs the registry attached as ``reg``).

    ``subjects``: the analysis set (``record_id``, ``cohort``).
    """
    rows: list[dict] = []
    groups = [*((code, subjects[subjects["cohort"] == code]) for code in cohorts), (None, subjects)]
    wanted: dict[tuple[str, str | None], list[str]] = {}  # one read per form and event
    for var in variables:
        wanted.setdefault((var.form, var.event), []).extend(_columns(con, var))
    forms = {key: _values(con, *key, list(dict.fromkeys(cols))) for key, cols in wanted.items()}
    for var in variables:
        form = forms[(var.form, var.event)]
        if var.kind == "checkbox":
            boxes = _columns(con, var)
            data = form[["record_id", *boxes]]
            ticked = data[boxes].fillna(False).astype(bool).groupby(data["record_id"]).any()
            codes = {col: col[len(var.field) + 3 :].replace("_", "-") for col in boxes}
            for cohort, group in groups:
                mine = ticked.reindex(group["record_id"]).fillna(False).astype(bool)
                any_ticked = mine.any(axis=1)
                n = int(any_ticked.sum())
                counts = {codes[col]: int(mine.loc[any_ticked, col].sum()) for col in boxes}
                rows += _level_rows(var, counts, n, len(group), cohort)
            continue
        data = form[["record_id", var.field]].dropna(subset=[var.field]).drop_duplicates("record_id")
        value = data.set_index("record_id")[var.field]
        if var.kind == "continuous":
            rows += [_continuous(var, value.reindex(g["record_id"]), cohort) for cohort, g in groups]
            continue
        coded = value.map(_code)  # once per subject, not once per cohort
        present = coded.reindex(subjects["record_id"]).dropna()
        levels = sorted(set(present), key=lambda s: (float(s) if _is_number(s) else float("inf"), s))
        for cohort, group in groups:
            mine = coded.reindex(group["record_id"]).dropna()
            counts = {level: int((mine == level).sum()) for level in levels}
            rows += _level_rows(var, counts, len(mine), len(group), cohort)
    return rows


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
