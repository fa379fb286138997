"""Great Expectations expectations compiled to DuckDB SQL that returns the offending rows.

GX's own SQL path does not work on DuckDB (GX #10738, #11579; duckdb_engine #734), and
its pandas path is slow and memory-hungry on a registry of hundreds of thousands of rows.
So the gate keeps the suites as real GX suites but executes them itself: each expectation
type it accepts (see :data:`registry.checks.suites.KWARGS`) becomes one ``select`` of
``record_id, redcap_event_name, redcap_repeat_instance, field`` over the table, with the
semantics GX has on pandas (tested side by side in ``tests/test_gate_equivalence.py``):

- column map expectations ignore NULLs (except the null checks themselves);
- a GX row condition filters rows first; ``!=`` is false on a blank, as on pandas'
  nullable columns (the translator adds an explicit ``is null`` where REDCap needs it);
- z-scores use the sample SD over the (filtered) non-null values, flag ``|z| >= threshold``
  and flag nothing when the SD is 0 or undefined;
- compound uniqueness flags every row of a duplicated key, skipping all-NULL keys.

Values from the suites are bound parameters; identifiers are quoted after a shape check.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.checks.suites import Check
from registry.sqltext import quote_ident

KEYS = "t.record_id, t.redcap_event_name, t.redcap_repeat_instance"


@dataclass
class Compiled:
    """``select record_id, redcap_event_name, redcap_repeat_instance, field`` and its parameters."""

    sql: str
    params: list


def compile_check(check: Check, table: str) -> Compiled | None:
    """SQL for one expectation on ``table`` (an already quoted table reference).

    Returns None for ``expect_column_values_to_be_in_type_list``, which the gate answers
    from the table's column types.
    """
    k, params = check.kwargs, []
    if check.type == "expect_column_values_to_be_in_type_list":
        return None
    if check.type == "unexpected_rows_expectation":
        return _unexpected_rows(check, table)
    where = condition_sql(k.get("row_condition"), params)
    if check.type == "expect_compound_columns_to_be_unique":
        return _compound_unique(k["column_list"], table, where, params, check.field)
    col = f"t.{quote_ident(k['column'])}"
    if check.type == "expect_column_values_to_be_unique":
        return _compound_unique([k["column"]], table, where, params, check.field)
    if check.type == "expect_column_value_z_scores_to_be_less_than":
        return _z_scores(check, col, table, where, params)
    bad = _row_test(check, col, params)
    params.insert(0, check.field)
    return Compiled(f"select {KEYS}, ? as field from {table} as t where ({where}) and ({bad})", params)


ROW_TYPES = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_between",
    }
)
Z_TYPE = "expect_column_value_z_scores_to_be_less_than"
#: Value sets up to this size are tested with ``=`` joined by ``or`` (see :func:`_row_test`).
MAX_OR_VALUES = 16


def row_predicate(check: Check, column_type: str = "") -> tuple[str, list] | None:
    """For an expectation decided by each row alone (:data:`ROW_TYPES`): the SQL condition
    over ``t`` that is true on an offending row, and its parameters; else None.

    ``column_type`` (the column's DuckDB type) lets a set of integers on an integer column be
    tested as a range with its gaps (:func:`_integer_set_test`)."""
    if check.type not in ROW_TYPES:
        return None
    params: list = []
    where = condition_sql(check.kwargs.get("row_condition"), params)
    col = f"t.{quote_ident(check.kwargs['column'])}"
    bad = _integer_set_test(check, col, column_type, params) or _row_test(check, col, params)
    return (f"({where}) and ({bad})" if check.kwargs.get("row_condition") else bad), params


INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
                           "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"})
#: The most values missing from a set's range that are still tested one by one.
MAX_GAPS = 8


def _integer_set_test(check: Check, col: str, column_type: str, params: list) -> str | None:
    """A value set of integers on an integer column as ``low..high`` minus its gaps: an integer
    is in the set exactly when it is in that range and is none of the gaps. Two comparisons
    (and a few more for gaps) instead of one per value: the codes of a REDCap choice list
    (0..6, 1..5) are such sets. None when the set, the column or the gaps do not fit."""
    if check.type not in {"expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"}:
        return None
    values = list(check.kwargs["value_set"] or [])
    if column_type.upper() not in INTEGER_TYPES or not values \
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return None
    low, high = min(values), max(values)
    if high - low + 1 - len(set(values)) > MAX_GAPS:
        return None
    gaps = sorted(set(range(low, high + 1)) - set(values))
    params.extend([low, high, *gaps])
    if check.type == "expect_column_values_to_be_in_set":
        return f"{col} < ? or {col} > ?" + "".join(f" or {col} = ?" for _ in gaps)
    return f"{col} >= ? and {col} <= ?" + "".join(f" and {col} <> ?" for _ in gaps)


def z_score_parts(check: Check, n: int) -> tuple[str, list, str, list]:
    """A z-score expectation as (aggregates, their parameters, the row condition over ``t``
    and ``s``, its parameters): the aggregates ``m{n}``/``sd{n}`` go in one ``select ... from
    table as t`` aliased ``s`` that the whole suite shares."""
    col = f"t.{quote_ident(check.kwargs['column'])}"
    cond = check.kwargs.get("row_condition")
    agg_params: list = []
    where = condition_sql(cond, agg_params)
    only = f" filter (where {where})" if cond else ""
    aggregates = f"avg({col}){only} as m{n}, stddev_samp({col}){only} as sd{n}"
    row_params: list = []
    row_where = f"({condition_sql(cond, row_params)}) and " if cond else ""
    z = f"(({col} - s.m{n}) / s.sd{n})"
    test = f"abs({z}) >= ?" if check.kwargs.get("double_sided", True) else f"{z} >= ?"
    row_params.append(abs(float(check.kwargs["threshold"])))
    condition = f"{row_where}{col} is not null and s.sd{n} is not null and s.sd{n} <> 0 and {test}"
    return aggregates, agg_params + agg_params, condition, row_params


def _row_test(check: Check, col: str, params: list) -> str:
    k = check.kwargs
    if check.type == "expect_column_values_to_not_be_null":
        bad = f"{col} is null"
    elif check.type == "expect_column_values_to_be_null":
        bad = f"{col} is not null"
    elif check.type in {"expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"}:
        values = list(k["value_set"] or [])
        params.extend(values)
        # A short set as ``x = a or x = b``: DuckDB plans an IN list of more than a few values
        # as a join of its own, which on a fused scan of many checks costs more than comparing;
        # a long set stays one IN (a hash lookup beats many comparisons).
        if len(values) <= MAX_OR_VALUES:
            member = "(" + " or ".join(f"{col} = ?" for _ in values) + ")"
        else:
            member = f"{col} in ({', '.join('?' for _ in values)})"
        if check.type == "expect_column_values_to_be_in_set":
            bad = f"{col} is not null and not {member}" if values else f"{col} is not null"
        else:
            bad = f"{col} is not null and {member}" if values else "false"
    elif check.type == "expect_column_values_to_be_between":
        tests = []
        if k.get("min_value") is not None:
            tests.append(f"{col} {'<=' if k.get('strict_min') else '<'} ?")
            params.append(k["min_value"])
        if k.get("max_value") is not None:
            tests.append(f"{col} {'>=' if k.get('strict_max') else '>'} ?")
            params.append(k["max_value"])
        bad = f"{col} is not null and ({' or '.join(tests)})"
    else:  # pragma: no cover - suites.KWARGS and this function list the same types
        raise AssertionError(check.type)
    return bad


def _unexpected_rows(check: Check, table: str) -> Compiled:
    field = quote_ident(check.field) if "{field}" in check.kwargs["unexpected_rows_query"] else ""
    query = check.kwargs["unexpected_rows_query"].format(batch=table, field=field)
    sql = (
        "select cast(q.record_id as varchar) as record_id, cast(q.redcap_event_name as varchar), "
        "cast(q.redcap_repeat_instance as integer), coalesce(cast(q.field as varchar), ?) as field "
        f"from ({query}\n) as q"
    )
    return Compiled(sql, [check.field])


def _compound_unique(columns: list[str], table: str, where: str, params: list, field: str) -> Compiled:
    cols = [quote_ident(c) for c in columns]
    group = ", ".join(cols)
    same = " and ".join(f"t.{c} is not distinct from d.{c}" for c in cols)
    some_value = " or ".join(f"t.{c} is not null" for c in cols)
    # Grouping one hash of the key is much cheaper than grouping its text columns; the keys
    # whose hash repeats (all duplicates, perhaps a collision) are then grouped exactly.
    key_hash = f"hash({', '.join(f't.{c}' for c in cols)})"
    sql = (
        f"select {KEYS}, ? as field from {table} as t "
        f"join (select {', '.join(f't.{c}' for c in cols)} from {table} as t "
        f"where ({where}) and ({some_value}) and {key_hash} in (select {key_hash} from {table} as t "
        f"where ({where}) and ({some_value}) group by 1 having count(*) > 1) "
        f"group by {group} having count(*) > 1) as d on {same} "
        f"where ({where}) and ({some_value})"
    )
    return Compiled(sql, [field, *params, *params, *params])


def _z_scores(check: Check, col: str, table: str, where: str, params: list) -> Compiled:
    threshold = abs(float(check.kwargs["threshold"]))
    z = f"(({col} - s.mean) / s.sd)"
    test = f"abs({z}) >= ?" if check.kwargs.get("double_sided", True) else f"{z} >= ?"
    sql = (
        f"select {KEYS}, ? as field from {table} as t, "
        f"(select avg({col}) as mean, stddev_samp({col}) as sd from {table} as t where ({where})) as s "
        f"where ({where}) and {col} is not null and s.sd is not null and s.sd <> 0 and {test}"
    )
    return Compiled(sql, [check.field, *params, *params, threshold])


def condition_sql(cond, params: list) -> str:
    """A GX 1.x row condition (comparison, nullity, and, or) as SQL over ``t``."""
    if not cond:
        return "true"
    kind = cond["type"]
    if kind in {"and", "or"}:
        return "(" + f" {kind} ".join(condition_sql(c, params) for c in cond["conditions"]) + ")"
    col = f"t.{quote_ident(cond['column']['name'])}"
    if kind == "nullity":
        return f"{col} is {'' if cond['is_null'] else 'not '}null"
    op, value = cond["operator"], cond["parameter"]
    if op in {"IN", "NOT_IN"}:
        params.extend(value)
        members = ", ".join("?" for _ in value) or "null"
        return f"coalesce({col} {'not ' if op == 'NOT_IN' else ''}in ({members}), false)"
    params.append(value)
    return f"coalesce({col} {'<>' if op == '!=' else op} ?, false)"


def fused_table_sql(table: str, rows: list[tuple[int, str, list]], z_scores: list[tuple[int, str, list, str, list]],
                    values: dict[int, str]):
    """Every row-level and z-score expectation on ``table`` as one scan of it.

    Each row gets the list of the indexes of the checks it fails (``rows``: ``(check_idx,
    condition, params)`` from :func:`row_predicate`; ``z_scores``: ``(check_idx, aggregates,
    params, condition, params)`` from :func:`z_score_parts`, whose aggregates are one more
    pass computing every mean and SD at once); only rows failing one of them are kept, and
    their list is unnested into one row per hit, beside the flagged cell as text
    (``values``: check_idx -> a varchar expression over ``t``; NULL for a check not listed).

    Returns
    -------
    Compiled
        ``select record_id, redcap_event_name, redcap_repeat_instance, check_idx, value``.
    """
    cases, conditions, cells, case_params = [], [], [], []
    for idx, condition, cond_params in [*rows, *((z[0], z[3], z[4]) for z in z_scores)]:
        cases.append(f"case when {condition} then {int(idx)} end")
        conditions.append(f"({condition})")
        cells.append(values.get(idx, "null"))
        case_params.extend(cond_params)
    source, source_params = f"{table} as t", []
    if z_scores:
        source += f", (select {', '.join(z[1] for z in z_scores)} from {table} as t) as s"
        source_params = [p for z in z_scores for p in z[2]]
    # The OR of the conditions keeps the offending rows (a cheap filter); only on those are the
    # list of failed checks and the list of their cells built and unnested side by side.
    sql = (
        "select record_id, redcap_event_name, redcap_repeat_instance, check_idx, value "
        f"from (select {KEYS}, unnest([{', '.join(cases)}]) as check_idx, "
        f"unnest([{', '.join(cells)}]::varchar[]) as value from {source} "
        f"where {' or '.join(conditions)}) where check_idx is not null"
    )
    return Compiled(sql, case_params + source_params + case_params)
