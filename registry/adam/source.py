"""Stage what the ADaM datasets read beyond the analysis views, under fixed names.

The analysis staging (:func:`registry.analysis.stage.stage_plan_data`) already gives
``_subjects``, ``_scores``, ``_pairs`` and ``_relapse_times``. This module adds, with
DuckDB's relational API (column references, never SQL text built from names):

===================== =========================================================
view / table          columns
===================== =========================================================
``_adam_demog``       record_id, age, sex, ethnicity (codes as text)
``_adam_race``        record_id, code (text), checked (BOOLEAN)
``_adam_items``       record_id, redcap_event_name, redcap_repeat_instance, field, value
``_adam_days``        record_id, redcap_event_name, instance (0 if none), form, day
``_adam_ratings``     record_id, instance, paramcd, day, value (rating-source totals)
``_adam_site``        record_id, site (the data access group)
===================== =========================================================
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from registry.adam import AdamError
from registry.analysis.plan import Demographics
from registry.analysis.stage import DAY_TYPES
from registry.redcap.dictionary import Dictionary, Field, checkbox_column, parse_dictionary

if TYPE_CHECKING:
    import duckdb

CATEGORICAL = {"radio", "dropdown", "yesno", "truefalse"}


DemographicFields = Demographics  # where ADSL's demographics live: the plan's [adsl] table


def read_batch_dictionary(con: duckdb.DuckDBPyConnection) -> Dictionary:
    """The data dictionary the current batch was ingested with (``main._dictionary``).

    Raises
    ------
    AdamError
        The registry holds no dictionary snapshot.
    """
    import duckdb

    try:
        cur = con.execute("select * from reg.main._dictionary")
    except duckdb.CatalogException:
        raise AdamError(
            "the registry has no data dictionary snapshot (main._dictionary)",
            fix="ingest the export with `registry ingest`, which stores the dictionary with each batch",
        ) from None
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, (v or "" for v in r), strict=True)) for r in cur.fetchall()]
    return parse_dictionary(json.dumps(rows).encode("utf-8"), "registry main._dictionary")


def _table(con: duckdb.DuckDBPyConnection, form: str, what: str) -> duckdb.DuckDBPyRelation:
    import duckdb

    try:
        return con.table(f"reg.main.{form}")
    except duckdb.CatalogException:
        raise AdamError(
            f"the registry has no form `{form}`, which {what} reads",
            where=f"reg.main.{form}",
            fix="ingest an export of the registry's REDCap project",
        ) from None


def _need(rel: duckdb.DuckDBPyRelation, form: str, column: str, what: str) -> None:
    if column not in rel.columns:
        raise AdamError(
            f"form `{form}` has no column `{column}`, which {what} needs",
            where=f"reg.main.{form}",
            fix="for another project, name its fields in the analysis plan ([adsl] form, age, sex, race, "
                "ethnicity for ADSL); else ingest an export of the registry's REDCap project",
        )


def _need_study_day(rel: duckdb.DuckDBPyRelation, form: str, column: str) -> None:
    kind = str(dict(zip(rel.columns, rel.types, strict=True))[column])
    if kind not in DAY_TYPES:
        raise AdamError(
            f"`{form}.{column}` is {kind}, not a study day",
            where=f"reg.main.{form}",
            fix="re-ingest with the study-day anchor (dem_index_date) so dates are study days",
        )


def stage_demographics(con: duckdb.DuckDBPyConnection, spec: DemographicFields, dic: Dictionary) -> None:
    """``_adam_demog``, ``_adam_race`` and ``_adam_site`` (see the module docstring)."""
    import duckdb

    c, k = duckdb.ColumnExpression, duckdb.ConstantExpression
    rel = _table(con, spec.form, "ADSL")
    for name in (spec.age, spec.sex, spec.ethnicity):
        _need(rel, spec.form, name, "ADSL")
    rel.select(
        c("record_id"),
        c(spec.age).cast(duckdb.sqltype("DOUBLE")).alias("age"),
        c(spec.sex).cast(duckdb.sqltype("VARCHAR")).alias("sex"),
        c(spec.ethnicity).cast(duckdb.sqltype("VARCHAR")).alias("ethnicity"),
    ).to_view("_adam_demog", replace=True)
    race = dic.by_name.get(spec.race)
    if race is not None and race.field_type in CATEGORICAL:  # one race per record: "checked" when given
        _need(rel, spec.form, race.name, "ADSL.RACE")
        rel.filter(c(race.name).isnotnull()).select(
            c("record_id"), c(race.name).cast(duckdb.sqltype("VARCHAR")).alias("code"), k(True).alias("checked")
        ).to_view("_adam_race", replace=True)
    elif race is not None and race.field_type == "checkbox":  # one column per choice
        parts = None
        for choice in race.choices:
            column = checkbox_column(race.name, choice.code)
            _need(rel, spec.form, column, "ADSL.RACE")
            part = rel.select(c("record_id"), k(choice.code).alias("code"), c(column).alias("checked"))
            parts = part if parts is None else parts.union(part)
        parts.to_view("_adam_race", replace=True)
    else:
        raise AdamError(
            f"`{spec.race}` is not a checkbox, radio or dropdown field of the dictionary",
            where="main._dictionary",
            fix="name the race field in the analysis plan's [adsl] table, e.g. race = \"race\"",
        )
    try:
        records = con.table("reg.main._records")
        records.select(c("record_id"), c("redcap_data_access_group").alias("site")).to_view("_adam_site", replace=True)
    except duckdb.CatalogException:
        rel.select(c("record_id"), k(None).cast(duckdb.sqltype("VARCHAR")).alias("site")).distinct().to_view(
            "_adam_site", replace=True
        )


def item_fields(dic: Dictionary, form: str, total_field: str) -> list[Field]:
    """The scale items of a form: its coded fields with integer codes, the total excluded."""
    return [
        f
        for f in dic.form_fields(form)
        if f.name != total_field
        and f.field_type in CATEGORICAL | {"slider"}
        and (f.field_type == "slider" or all(_is_int(ch.code) for ch in f.choices))
    ]


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def date_field(dic: Dictionary, form: str) -> Field | None:
    """The form's assessment date: its first date-validated field (None if it has none)."""
    return next((f for f in dic.form_fields(form) if f.validation.startswith("date")), None)


def stage_items(con: duckdb.DuckDBPyConnection, items: list[tuple[str, str]]) -> None:
    """``_adam_items``: one row per form row and item field, ``value`` as DOUBLE.

    ``items`` are (form, field) pairs.
    """
    import duckdb

    c, k = duckdb.ColumnExpression, duckdb.ConstantExpression
    parts = con.sql(
        "select null::varchar as record_id, null::varchar as redcap_event_name, "
        "null::integer as redcap_repeat_instance, null::varchar as field, null::double as value where false"
    )
    for form, name in items:
        rel = _table(con, form, "ADQS")
        _need(rel, form, name, "ADQS")
        parts = parts.union(
            rel.select(
                c("record_id"),
                c("redcap_event_name"),
                c("redcap_repeat_instance").cast(duckdb.sqltype("INTEGER")),
                k(name).alias("field"),
                c(name).cast(duckdb.sqltype("DOUBLE")).alias("value"),
            )
        )
    parts.to_view("_adam_items", replace=True)


def stage_days(con: duckdb.DuckDBPyConnection, forms: dict[str, str]) -> None:
    """``_adam_days``: the study day of each row of each form (``forms``: form -> date field).

    Raises
    ------
    AdamError
        A date column is not an integer study day (the batch was ingested without the
        study-day anchor).
    """
    import duckdb

    c, k = duckdb.ColumnExpression, duckdb.ConstantExpression
    parts = con.sql(
        "select null::varchar as record_id, null::varchar as redcap_event_name, 0 as instance, "
        "null::varchar as form, null::integer as day where false"
    )
    for form, name in forms.items():
        rel = _table(con, form, "ADQS.ADY")
        _need(rel, form, name, "ADQS.ADY")
        _need_study_day(rel, form, name)
        parts = parts.union(
            rel.select(
                c("record_id"),
                c("redcap_event_name"),
                duckdb.CoalesceOperator(c("redcap_repeat_instance"), k(0))
                .cast(duckdb.sqltype("INTEGER"))
                .alias("instance"),
                k(form).alias("form"),
                c(name).cast(duckdb.sqltype("INTEGER")).alias("day"),
            )
        )
    parts.to_view("_adam_days", replace=True)


def stage_ratings(con: duckdb.DuckDBPyConnection, sources: list[tuple[str, str, str, str]]) -> None:
    """``_adam_ratings``: every row of each rating source (``[[relapse.ratings]]`` not already
    an outcome total); ``sources`` are (paramcd, form, score field, study-day field).

    Raises
    ------
    AdamError
        A form or field is missing, or the day column is not an integer study day.
    """
    import duckdb

    c, k = duckdb.ColumnExpression, duckdb.ConstantExpression
    parts = con.sql(
        "select null::varchar as record_id, 0 as instance, null::varchar as paramcd, "
        "null::integer as day, null::double as value where false"
    )
    for paramcd, form, score, day in sources:
        rel = _table(con, form, "ADQS (rating sources)")
        for name in (score, day):
            _need(rel, form, name, "ADQS (rating sources)")
        _need_study_day(rel, form, day)
        parts = parts.union(
            rel.select(
                c("record_id"),
                duckdb.CoalesceOperator(c("redcap_repeat_instance"), k(0)).cast(duckdb.sqltype("INTEGER")).alias(
                    "instance"
                ),
                k(paramcd).alias("paramcd"),
                c(day).cast(duckdb.sqltype("INTEGER")).alias("day"),
                c(score).cast(duckdb.sqltype("DOUBLE")).alias("value"),
            )
        )
    parts.to_view("_adam_ratings", replace=True)
