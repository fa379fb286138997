"""Open a registry for analysis and stage the plan's fields under fixed names.

The registry file is attached read-only as ``reg`` to an in-memory DuckDB database, so
analyses never write to it and several can run at once. The plan names forms and fields;
:func:`stage_plan_data` selects them with DuckDB's relational API (column references,
never SQL text built from plan values) into views with fixed names and columns, which
the queries in ``sql/*.sql`` read:

===================== =========================================================
view                  columns
===================== =========================================================
``_records``          record_id
``_include``          record_id, value (the plan's inclusion field)
``_cohort``           record_id, value (cohort code)
``_eligible``         record_id, criterion, value, required
``_scores``           record_id, redcap_event_name, redcap_repeat_instance, scale, score,
                      day (study day; null when the outcome names no day field)
``_relapse_ratings``  record_id, day, score (DOUBLE), source_rank (plan order): a table,
                      one rating per record, day and source (plan [ratings] same_day;
                      sql/relapse_ratings.sql) from the view ``_relapse_ratings_raw``
``_clinician``        record_id, flag, day
``_last_contact``     record_id, day
``_covariates``       record_id, name, value (DOUBLE)
===================== =========================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry import sqltext
from registry.analysis.plan import AnalysisPlan

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

DAY_TYPES = {"INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER"}


read_sql = sqltext.reader("registry.analysis")


def run_sql(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run ``sql/<name>.sql`` with bound (``$name``) parameters; return a DataFrame."""
    return con.execute(read_sql(name), params or {}).df()


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> tuple | None:
    """First row of a query, or None; reads the whole result (DuckDB 2 refuses new work
    on a connection with an unfinished result)."""
    rows = con.execute(sql, params or {}).fetchall()
    return rows[0] if rows else None


def materialize(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None) -> None:
    """Store the result of ``sql/<name>.sql`` as the in-memory table ``_<name>``."""
    con.execute(f"create or replace table _{name} as\n" + read_sql(name), params or {})


def open_registry(db_path: str | Path | None, wait: float = 30.0) -> duckdb.DuckDBPyConnection:
    """Connect to an in-memory database with the registry attached read-only as ``reg``.

    ``db_path`` None means ``$REGISTRY_DB``, else ``./registry.duckdb``. Waits up to
    ``wait`` seconds while another process writes to the registry.

    Raises
    ------
    RegistryStateError
        The file does not exist or is not a DuckDB database.
    RegistryBusyError
        Another process still holds the file for writing after ``wait`` seconds.
    """
    from registry import store

    con = store.connect(db_path, read_only=True, wait=wait, catalog="reg", use=False)
    con.execute("set search_path = 'memory.main,reg.main'")
    return con


def plan_form(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan, form: str, key: str) -> duckdb.DuckDBPyRelation:
    import duckdb

    from registry.errors import PlanError

    try:
        return con.table(f"reg.main.{form}")
    except duckdb.CatalogException as exc:
        raise PlanError(
            f"the plan names form `{form}`, which the registry does not have",
            where=f"{plan.path}: key `{key}`",
            fix="use a form (instrument) name of the ingested project, or pass the plan "
            "written for this project with --plan",
        ) from exc


def form_column(
    rel: duckdb.DuckDBPyRelation,
    plan: AnalysisPlan,
    form: str,
    field: str,
    key: str,
    *,
    day: bool = False,
    cast: str | None = None,
) -> duckdb.Expression:
    import duckdb

    from registry.errors import PlanError

    types = dict(zip(rel.columns, (str(t) for t in rel.types), strict=True))
    if field not in types:
        raise PlanError(
            f"the plan names field `{field}` on form `{form}`, which has no such column",
            where=f"{plan.path}: key `{key}`",
            fix=f"use one of the form's fields: {', '.join(rel.columns[:12])}, ...",
        )
    if day and types[field] not in DAY_TYPES:
        raise PlanError(
            f"`{form}.{field}` is {types[field]}, not a study day",
            where=f"{plan.path}: key `{key}`",
            fix="re-ingest with the study-day anchor (dem_index_date) so dates are study days",
        )
    expr = duckdb.ColumnExpression(field)
    if cast:
        expr = expr.cast(duckdb.sqltype(cast))
    return expr.alias(field)


def _view(rel: duckdb.DuckDBPyRelation, name: str) -> None:
    rel.to_view(name, replace=True)


def stage_plan_data(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan) -> None:
    """Create the fixed-name views (see module docstring) from the plan's fields.

    Raises
    ------
    PlanError
        A form or field named by the plan is not in the registry, or a day column is not
        an integer study day.
    """
    import duckdb

    c, k = duckdb.ColumnExpression, duckdb.ConstantExpression
    rid = c("record_id")

    def pick(form: str, field: str, key: str, alias: str, **kw: Any) -> tuple[Any, Any]:
        rel = plan_form(con, plan, form, key)
        return rel, form_column(rel, plan, form, field, key, **kw).alias(alias)

    rel, value = pick(plan.include.form, plan.include.field, "population.include", "value")
    _view(rel.select(rid, value), "_include")
    rel, value = pick(plan.cohort.form, plan.cohort.field, "population.cohort", "value", cast="INTEGER")
    _view(rel.select(rid, value), "_cohort")
    try:
        records = con.table("reg.main._records").select(rid)
    except duckdb.CatalogException:
        records = con.table(f"reg.main.{plan.cohort.form}").select(rid)
    _view(records, "_records")

    eligible = None
    for i, ref in enumerate(plan.eligible):
        rel, value = pick(ref.form, ref.field, f"population.eligible[{i}]", "value", cast="INTEGER")
        part = rel.select(rid, k(ref.field).alias("criterion"), value, k(ref.value).alias("required"))
        eligible = part if eligible is None else eligible.union(part)
    if eligible is None:  # no criteria: everyone counts as eligible
        eligible = con.sql(
            "select null::varchar as record_id, null::varchar as criterion, "
            "null::integer as value, null::integer as required where false"
        )
    _view(eligible, "_eligible")

    scores = None
    for i, o in enumerate(plan.outcomes):
        rel, value = pick(o.form, o.field, f"outcomes[{i}].field", "score", cast="DOUBLE")
        day = (
            form_column(rel, plan, o.form, o.day, f"outcomes[{i}].day", day=True, cast="INTEGER")
            if o.day
            else k(None).cast(duckdb.sqltype("INTEGER"))
        )
        part = rel.select(
            rid,
            c("redcap_event_name"),
            c("redcap_repeat_instance"),
            k(o.scale).alias("scale"),
            value,
            day.alias("day"),
        )
        scores = part if scores is None else scores.union(part)
    _view(scores, "_scores")

    rule = plan.relapse
    ratings = None
    for i, src in enumerate(rule.ratings):
        key = f"relapse.ratings[{i}]"
        rel = plan_form(con, plan, src.form, f"{key}.form")
        instance = c("redcap_repeat_instance") if "redcap_repeat_instance" in rel.columns else k(None)
        part = rel.select(
            rid,
            form_column(rel, plan, src.form, src.day, f"{key}.day", day=True).alias("day"),
            form_column(rel, plan, src.form, src.score, f"{key}.score", cast="DOUBLE").alias("score"),
            k(i).alias("source_rank"),
            c("redcap_event_name").cast(duckdb.sqltype("VARCHAR")).alias("event"),
            instance.cast(duckdb.sqltype("INTEGER")).alias("instance"),
        )
        ratings = part if ratings is None else ratings.union(part)
    _view(ratings, "_relapse_ratings_raw")
    materialize(con, "relapse_ratings", {"same_day": plan.same_day})

    rel = plan_form(con, plan, rule.clinician.form, "relapse.clinician.form")
    _view(
        rel.select(
            rid,
            form_column(
                rel,
                plan,
                rule.clinician.form,
                rule.clinician.field,
                "relapse.clinician.field",
                cast="INTEGER",
            ).alias("flag"),
            form_column(rel, plan, rule.clinician.form, rule.clinician_day, "relapse.clinician.day", day=True).alias(
                "day"
            ),
        ),
        "_clinician",
    )
    rel, value = pick(
        rule.last_contact_form, rule.last_contact_day, "relapse.censoring.last_contact", "day", day=True
    )
    _view(rel.select(rid, value), "_last_contact")

    covariates = con.sql(
        "select null::varchar as record_id, null::varchar as name, null::double as value where false"
    )
    for ref in plan.cox_covariates:
        rel, value = pick(ref.form, ref.field, "cox.covariates", "value", cast="DOUBLE")
        covariates = covariates.union(rel.select(rid, k(f"{ref.form}.{ref.field}").alias("name"), value))
    _view(covariates, "_covariates")
