"""``registry checks build``: expectation suites generated from a REDCap data dictionary.

One Great Expectations 1.x suite per instrument table, plus one for each side table of
the batch (``_cast_failures``, ``_missing_values``). They hold what the dictionary says
and nothing about a particular study, so they work for any REDCap project:

===========  =================================================================  ========
rule         expectation                                                        severity
===========  =================================================================  ========
KEY          record, event and repeat instance unique                          error
TYPE         each column has the type the ingest gives its field                 error
B            required fields not blank (when shown by their branching logic)   error
C            values that failed their validation type (``_cast_failures``)     error
D            validation min/max of integer and number fields                   error
E            numeric values beyond 2 sample SDs of the mean (REDCap's rule)     warning
F            fields hidden by branching logic hold no value                     error
G            choice codes in the field's choice list                            error
H            calculated fields equal their recomputed formula                   error
I            missing-data codes (``_missing_values``)                           warning
LOGIC        branching logic or calculation the gate cannot read                warning
===========  =================================================================  ========

Checks that GX runs natively (ranges, sets, nulls, types, z-scores, uniqueness, with
conditions as GX row conditions) are plain expectations; the rest are
``unexpected_rows_expectation`` entries whose SQL comes from ``registry/checks/sql``.
Date min/max are not generated: REDCap's de-identified exports shift dates per record.
"""

from __future__ import annotations

import json
from pathlib import Path

from registry import sqltext
from registry.checks.branching import LogicError, translate_logic
from registry.checks.calc import CalcError, translate_calc
from registry.redcap.columns import form_columns
from registry.redcap.dictionary import Dictionary, Field, checkbox_column
from registry.sqltext import quote_ident, sql_literal

read_sql = sqltext.reader("registry.checks")


def render_sql(name: str, **slots: str) -> str:
    """A gate template (``registry/checks/sql/<name>``) with its ``${slot}`` placeholders filled."""
    return sqltext.render(read_sql(name), **slots)

KEYS = ["record_id", "redcap_event_name", "redcap_repeat_instance"]
GENERATOR = "registry checks build"
PANDAS_TYPES = {
    "BIGINT": ["int64", "Int64Dtype"],
    "INTEGER": ["int32", "Int32Dtype"],
    "DOUBLE": ["float64"],
    "BOOLEAN": ["bool", "BooleanDtype"],
    "VARCHAR": ["object", "str"],
    "DATE": ["datetime64[us]", "datetime64[ns]"],
    "TIMESTAMP": ["datetime64[us]", "datetime64[ns]"],
    "TIME": ["object", "time"],
}
GX_SEVERITY = {"error": "critical", "warning": "warning"}
SIDE_TABLES = {
    "_cast_failures": ("C", "error", "cast_failures.sql",
                       "REDCap DQ rule C: the value does not fit the field's validation type "
                       "(kept as exported in _cast_failures; the form table holds NULL)"),
    "_missing_values": ("I", "warning", "missing_values.sql",
                        "REDCap DQ rule I: the cell holds a missing-data code; reported, not an error"),
}


def expectation(type_: str, kwargs: dict, *, rule: str, severity: str, why: str, field: str,
                check: str | None = None) -> dict:
    """One expectation in GX 1.x JSON form, with the gate's ``meta``."""
    meta = {"rule": rule, "severity": severity, "field": field, "why": why,
            "check": check or f"{rule}:{field}"}
    return {"type": type_, "kwargs": kwargs, "meta": meta, "severity": GX_SEVERITY[severity]}


def build_suites(dictionary: Dictionary, study_day_anchor: str | None = None) -> dict[str, dict]:
    """The suites for every table of a batch of this project: file stem -> suite JSON.

    Fields tagged as identifiers are left out: the ingest drops them, so no table has them.
    """
    record_id = dictionary.record_id_field
    kept = [f for f in dictionary.fields if not f.identifier or f.name == record_id]
    if len(kept) < len(dictionary.fields):
        dictionary = Dictionary(kept, source=dictionary.source, sha256=dictionary.sha256)
    suites = {}
    for form in dictionary.forms:
        suites[form] = _suite(form, _form_expectations(dictionary, form, study_day_anchor), dictionary)
    for table, (rule, severity, sql, why) in SIDE_TABLES.items():
        exp = expectation("unexpected_rows_expectation", {"unexpected_rows_query": _query(sql)},
                          rule=rule, severity=severity, why=why, field="*", check=f"{rule}:{table}")
        suites[table] = _suite(table, [exp], dictionary)
    return suites


def write_suites(suites: dict[str, dict], out: Path) -> list[Path]:
    """Write each suite as ``<out>/<stem>.json``; remove generated suites no longer built."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json"):
        if old.stem not in suites and _is_generated(old):
            old.unlink()
    written = []
    for stem, suite in suites.items():
        path = out / f"{stem}.json"
        path.write_text(json.dumps(suite, indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    return written


def _is_generated(path: Path) -> bool:
    try:
        return json.loads(path.read_text()).get("meta", {}).get("generated_by") == GENERATOR
    except (OSError, ValueError, AttributeError):
        return False


def _suite(table: str, expectations: list[dict], dictionary: Dictionary) -> dict:
    return {
        "name": f"dictionary.{table}",
        "id": None,
        "expectations": expectations,
        "meta": {
            "table": table,
            "kind": "dictionary",
            "generated_by": GENERATOR,
            "dictionary": Path(dictionary.source).name,
            "dictionary_sha256": dictionary.sha256,
        },
        "notes": f"Generated from the data dictionary by `{GENERATOR}`; do not edit. "
                 "Study-specific checks live in checks/protocol/.",
    }


def _query(name: str, **slots: str) -> str:
    lines = render_sql(name, **slots).splitlines()
    while lines and lines[0].startswith("--"):
        lines.pop(0)
    return "\n".join(line for line in lines if line.strip()).strip()


def _form_expectations(dictionary: Dictionary, form: str, anchor: str | None) -> list[dict]:
    out = [expectation(
        "expect_compound_columns_to_be_unique", {"column_list": KEYS}, rule="KEY", severity="error",
        field="record_id", check="KEY:record_event_instance",
        why="one row per record, event and repeat instance: a duplicate key means a duplicated export row",
    )]
    for col in form_columns(dictionary, form):
        duck = "INTEGER" if anchor and col.kind in {"date", "datetime"} else col.duckdb_type
        out.append(expectation(
            "expect_column_values_to_be_in_type_list",
            {"column": col.name, "type_list": [duck, *PANDAS_TYPES[duck]]},
            rule="TYPE", severity="error", field=col.name, check=f"TYPE:{col.name}",
            why=f"the ingest stores {col.name} as {duck}" + (" (study days since the anchor)"
                                                              if duck == "INTEGER" else ""),
        ))
    for f in dictionary.form_fields(form):
        out += _choice_checks(f) + _range_checks(f) + _required_checks(f, dictionary)
        out += _hidden_checks(f, dictionary) + _outlier_checks(f) + _calc_checks(f, dictionary)
    out.append(expectation(
        "expect_column_values_to_be_in_set", {"column": f"{form}_complete", "value_set": [0, 1, 2]},
        rule="G", severity="error", field=f"{form}_complete",
        why="REDCap DQ rule G: form status is 0 Incomplete, 1 Unverified or 2 Complete",
    ))
    return out


def _choice_checks(f: Field) -> list[dict]:
    if f.field_type not in {"radio", "dropdown", "yesno", "truefalse"}:
        return []
    codes = [c.code for c in f.choices]
    if all(c.lstrip("-").isdigit() for c in codes):
        codes = [int(c) for c in codes]
    return [expectation(
        "expect_column_values_to_be_in_set", {"column": f.name, "value_set": codes},
        rule="G", severity="error", field=f.name,
        why=f"REDCap DQ rule G: a code of {f.name} must be one of its choices",
    )]


def _number(text: str) -> float | int | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else value


def _range_checks(f: Field) -> list[dict]:
    numeric = (f.field_type == "text" and (f.validation == "integer" or f.validation.startswith("number")))
    if not (numeric or f.field_type == "slider"):
        return []
    low, high = _number(f.vmin), _number(f.vmax)
    if f.field_type == "slider":
        low, high = (0 if low is None else low), (100 if high is None else high)
    if low is None and high is None:
        return []
    return [expectation(
        "expect_column_values_to_be_between", {"column": f.name, "min_value": low, "max_value": high},
        rule="D", severity="error", field=f.name,
        why=f"REDCap DQ rule D: {f.name} is validated {f.vmin or '…'} to {f.vmax or '…'} in the dictionary",
    )]


def _visibility(f: Field, dictionary: Dictionary):
    try:
        return translate_logic(f.branching_logic, dictionary, f.form), None
    except LogicError as exc:
        return None, _untranslated(
            f, "branching",
            f"the branching logic of {f.name} ({f.branching_logic}) cannot be translated ({exc}); "
            "its required-when-shown (B) and hidden-field (F) checks are not run",
        )


def _untranslated(f: Field, what: str, why: str) -> dict:
    query = _query("untranslated.sql", field=sql_literal(f.name))
    return expectation("unexpected_rows_expectation", {"unexpected_rows_query": query}, rule="LOGIC",
                       severity="warning", field=f.name, check=f"LOGIC:{f.name}:{what}", why=why)


def _checkbox_columns(f: Field) -> list[str]:
    return [checkbox_column(f.name, c.code) for c in f.choices]


def _any_checked(f: Field) -> str:
    return "(" + " or ".join(f"coalesce(t.{quote_ident(c)}, false)" for c in _checkbox_columns(f)) + ")"


def _required_checks(f: Field, dictionary: Dictionary) -> list[dict]:
    if not f.required or f.name == dictionary.record_id_field:
        return []
    why = f"REDCap DQ rule B: {f.name} is a required field"
    vis, untranslated = (None, None)
    if f.branching_logic:
        vis, untranslated = _visibility(f, dictionary)
        if untranslated:
            return []  # reported once, by _hidden_checks
        why += f", required when shown ({f.branching_logic})"
    if f.field_type != "checkbox" and (vis is None or vis.shown is not None):
        kwargs = {"column": f.name} | ({"row_condition": vis.shown} if vis else {})
        return [expectation("expect_column_values_to_not_be_null", kwargs, rule="B", severity="error",
                            field=f.name, why=why)]
    if f.field_type == "checkbox":
        blank = f"not {_any_checked(f)}"
    else:
        blank = f"t.{quote_ident(f.name)} is null"
    query = _query("required_when_shown.sql", field=sql_literal(f.name), joins=vis.joins if vis else "",
                   shown=vis.shown_sql if vis else "true", blank=blank)
    return [expectation("unexpected_rows_expectation", {"unexpected_rows_query": query}, rule="B",
                        severity="error", field=f.name, why=why)]


def _hidden_checks(f: Field, dictionary: Dictionary) -> list[dict]:
    if not f.branching_logic:
        return []
    vis, untranslated = _visibility(f, dictionary)
    if untranslated:
        return [untranslated]
    why = f"REDCap DQ rule F: {f.name} is hidden unless {f.branching_logic}, so it must be blank then"
    if vis.hidden is not None:
        if f.field_type == "checkbox":
            return [expectation("expect_column_values_to_be_in_set",
                                {"column": c, "value_set": [False], "row_condition": vis.hidden},
                                rule="F", severity="error", field=f.name, check=f"F:{c}", why=why)
                    for c in _checkbox_columns(f)]
        kwargs = {"column": f.name, "row_condition": vis.hidden}
        return [expectation("expect_column_values_to_be_null", kwargs, rule="F", severity="error",
                            field=f.name, why=why)]
    if f.field_type == "checkbox":
        value = f"nullif({_any_checked(f)}, false)"
    else:
        value = f"t.{quote_ident(f.name)}"
    query = _query("hidden_value.sql", field=sql_literal(f.name), joins=vis.joins, shown=vis.shown_sql,
                   column=value)
    return [expectation("unexpected_rows_expectation", {"unexpected_rows_query": query}, rule="F",
                        severity="error", field=f.name, why=why)]


def _outlier_checks(f: Field) -> list[dict]:
    numeric = f.field_type in {"calc", "slider"} or (
        f.field_type == "text" and (f.validation == "integer" or f.validation.startswith("number")))
    if not numeric:
        return []
    return [expectation(
        "expect_column_value_z_scores_to_be_less_than",
        {"column": f.name, "threshold": 2, "double_sided": True}, rule="E", severity="warning", field=f.name,
        why="REDCap DQ rule E: at least 2 sample SDs from the mean of the field over all records and events "
            "(skipped when fewer than 2 values or SD 0)",
    )]


def _calc_checks(f: Field, dictionary: Dictionary) -> list[dict]:
    if f.field_type != "calc":
        return []
    try:
        formula, used = translate_calc(f.choices_text, dictionary, f.form)
    except CalcError as exc:
        return [_untranslated(f, "calc", f"the calculation of {f.name} ({f.choices_text}) cannot be "
                                         f"recomputed ({exc}); rule H is not run for it")]
    present = " and ".join(f"t.{quote_ident(c)} is not null" for c in used) or "true"
    query = _query("calc_mismatch.sql", field=sql_literal(f.name), column=quote_ident(f.name),
                   formula=formula, all_present=present)
    return [expectation("unexpected_rows_expectation", {"unexpected_rows_query": query}, rule="H",
                        severity="error", field=f.name,
                        why=f"REDCap DQ rule H: {f.name} must equal {f.choices_text} "
                            "where all of its fields have a value")]
