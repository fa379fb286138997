"""Report tables for Table 1 (baseline characteristics) and adverse events, formatted from
``results.json`` ``baseline_characteristics`` and ``adverse_events`` rows."""

from __future__ import annotations

from registry.analysis.plan import AnalysisPlan
from registry.report.tables import fmt

AE_CATEGORIES = ("any", "serious", "severity", "related", "term")


def _code_order(level: str | None):
    """Sort key: numeric codes by value, others after them as text."""
    try:
        return (0, float(level), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(level))


def _cell(row: dict | None) -> str:
    if row is None:
        return "–"
    if row["level"] is None:
        if not row["n"]:
            return "–"
        return (
            f"{fmt(row['mean'], 1)} ({fmt(row['sd'], 1)}); {fmt(row['median'], 1)} "
            f"[{fmt(row['q1'], 1)}, {fmt(row['q3'], 1)}]"
        )
    return f"{row['count']} ({fmt(row['percent'], 1)}%)" if row["n"] else "0"


def baseline_table(results: dict, plan: AnalysisPlan) -> dict:
    """Columns (each cohort, then all) and rows: one per continuous variable, one heading row plus
    one per level for categorical/checkbox variables, and a "missing" count per variable."""
    rows = results.get("baseline_characteristics") or []
    labels = results.get("choice_labels") or {}
    columns = [*(str(c) for c, _ in plan.cohorts), "all"]
    headers = [label for _, label in plan.cohorts] + ["All"]
    key = {(r["variable"], r["level"], str(r["cohort"]) if r["cohort"] is not None else "all"): r for r in rows}
    out = []
    seen: list[tuple[str, str]] = []
    for r in rows:
        if (r["variable"], r["label"]) not in seen:
            seen.append((r["variable"], r["label"]))
    for variable, label in seen:
        levels = list(dict.fromkeys(r["level"] for r in rows if r["variable"] == variable))
        if levels == [None]:
            cells = [_cell(key.get((variable, None, c))) for c in columns]
            out.append({"label": f"{label}: mean (SD); median [Q1, Q3]", "cells": cells, "level": False})
        else:
            out.append({"label": f"{label}: n (%)", "cells": [""] * len(columns), "level": False})
            for level in levels:
                cells = [_cell(key.get((variable, level, c))) for c in columns]
                name = labels.get(variable, {}).get(level)
                out.append({"label": f"{name} ({level})" if name else f"code {level}", "cells": cells, "level": True})
        first = levels[0]
        missing = [str(key[(variable, first, c)]["missing"]) if (variable, first, c) in key else "–" for c in columns]
        out.append({"label": "missing", "cells": missing, "level": True})
    return {"headers": headers, "rows": out}


def adverse_events_table(results: dict, plan: AnalysisPlan) -> list[dict]:
    """Rows: category, level (labelled), then subjects (%) / events per cohort."""
    rows = results.get("adverse_events") or []
    labels = results.get("choice_labels") or {}
    ae = plan.adverse_events
    severity = labels.get(f"{ae.form}.{ae.severity}", {}) if ae is not None else {}
    related = labels.get(f"{ae.form}.{ae.related}", {}) if ae is not None else {}
    seen = list(dict.fromkeys((r["category"], r["level"]) for r in rows))
    # any, serious, then severity and relatedness by code, then terms as ranked (most frequent first)
    order = sorted(seen, key=lambda cl: (AE_CATEGORIES.index(cl[0]),
                                         _code_order(cl[1]) if cl[0] in ("severity", "related") else (0, 0.0, "")))
    key = {(r["cohort"], r["category"], r["level"]): r for r in rows}
    out = []
    for category, level in order:
        name = {
            "any": "Any adverse event",
            "serious": "Any serious adverse event",
            "severity": f"Worst severity: {severity.get(level or '', level)}",
            "related": f"Strongest relatedness: {related.get(level or '', level)}",
            "term": f"Term: {level}",
        }[category]
        cells = []
        for code, _ in plan.cohorts:
            r = key.get((code, category, level))
            cells.append("0 (0.0%) / 0" if r is None else f"{r['subjects']} ({fmt(r['percent'], 1)}%) / {r['events']}")
        out.append({"label": name, "cells": cells})
    return out
